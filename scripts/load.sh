#!/usr/bin/env bash
# Load test: 1,000 signed /poster slash commands at 50-way concurrency against Marquee on this
# machine, with a local Slack response_url receiver counting deliveries. Asserts every command is
# acked within 3 s, every job is delivered exactly once, and the server's memory stays flat.
#
# Usage: scripts/load.sh [serve|burst|acks|events|steps|lambda|all] [--requests N] [--concurrency C]
#                        [--binary PATH] [--state local|dynamo]
#   serve   `marquee serve` (release build, or --binary), jobs run in-process  (default)
#   burst   issue #23's burst against `marquee serve` with its default queue bound and render
#           slots (MARQUEE_QUEUE_LIMIT / MARQUEE_RENDER_SLOTS from the environment if set):
#           4,000 distinct commands at 100-way unless --requests/--concurrency say otherwise,
#           no warm-up; asserts the server stays up, peak RSS <= 1 GB, every command acked
#           within 3 s (accepted, or told busy), every accepted poster delivered exactly once,
#           no shed command gets a message
#   acks    warm acks: 20,000 distinct signed commands at 50-way (after 2,000 warm-up) against
#           `marquee serve` with a queue big enough to accept them all, while its worker renders
#           what they queue; the Rust client examples/ack_load.rs reports acks/s and latency
#           --state dynamo keeps its state (the replay guard on the ack path, run markers,
#           records) in a DynamoDB table on dynalite instead of files (dynalite comes from
#           scripts/test-tools.sh)
#   events  warm acks of the events door against the slash-command door, alternating, in one
#           run: as `acks`, with distinct signed app_mention events (each its own event_id,
#           claimed in the state store on the ack path) to /slack/events of a server with a bot
#           token whose Web API is ack_load's receiver
#   steps   as `events`, the workflow step's function_executed events (each its own event_id,
#           claimed the same way) alternating with app_mention events, in one run
#   lambda  the `marquee-lambda` binary under `cargo lambda watch --release --ignore-changes`
#           (a file change elsewhere in the tree must not restart instances mid-job), its
#           self-invocations going through load.py's async-invoke stand-in (202 now, forwarded)
#   all     both, one after the other
#
# Offline model and a local store in a temporary directory: no AWS, no Bedrock, no Slack. Only
# 127.0.0.1 is used; load.py bounds every request and the whole run. Tools (aiohttp, cargo-lambda)
# go into .tools/venv-load (or $LOAD_VENV). Builds run under `nice -n 19` (the machine is
# shared); the server and the clients under `nice -n $LOAD_NICE` (default 10), so the server's
# render threads, which lower themselves to 19 (marquee-core's cpu.rs), still rank below
# its doors (LOAD_NICE=19 puts them level again: the behaviour before). ACK_LOAD=PATH uses a
# prebuilt examples/ack_load instead of building it. The server runs in a session of its own
# (setsid), which with the kernel's autogroup scheduling is also a CPU group of its own, so the
# client on the same cores takes its fair half whatever the threads' priorities; LOAD_SETSID=0
# starts `marquee serve` in the client's group instead, where the render threads' nice 19
# ranks them below both (BENCHMARKS.md, #23's warm acks, compares the two).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
mode=serve
extra=()
binary=target/release/marquee
state=local
nice=${LOAD_NICE:-10}
session=setsid
[[ ${LOAD_SETSID:-1} == 0 ]] && session=
while [[ $# -gt 0 ]]; do
    case $1 in
        serve | burst | acks | events | steps | lambda | all) mode=$1; shift ;;
        --requests | --concurrency) extra+=("$1" "$2"); shift 2 ;;
        --binary) binary=$2; shift 2 ;;
        --state) state=$2; shift 2 ;;
        -h | --help) sed -n '2,32p' "$0"; exit 0 ;;
        *) echo "load.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

venv="${LOAD_VENV:-$ROOT/.tools/venv-load}"
needs_lambda=false
[[ $mode == lambda || $mode == all ]] && needs_lambda=true
if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import aiohttp' 2>/dev/null ||
    { $needs_lambda && [[ ! -x $venv/bin/cargo-lambda ]]; }; then
    echo "==> installing aiohttp and cargo-lambda into .tools/venv-load" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'aiohttp>=3.9,<4' 'cargo-lambda==1.9.2'
fi
py="$venv/bin/python"

if [[ $binary == target/release/marquee ]]; then
    echo "==> cargo build --release --bins" >&2
    nice -n 19 cargo build --release --bins >&2
fi
# The load client, built with the server's profile (ACK_LOAD names a built one instead).
ack_load=${ACK_LOAD:-target/release/examples/ack_load}
if [[ ($mode == acks || $mode == events || $mode == steps) && -z ${ACK_LOAD:-} ]]; then
    echo "==> cargo build --release --example ack_load" >&2
    nice -n 19 cargo build --release --example ack_load >&2
fi

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
SECRET="load-signing-secret-$(date +%s)"

machine() {
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
}

wait_http() { # url seconds
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        curl -fsS -m 2 -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "load.sh: $1 did not answer within $2 s" >&2
    return 1
}

# Starts dynalite and creates the state table (the template's key schema); sets state_env to
# the environment the server needs to use it.
start_dynamo() {
    local dport tools
    dport=$(free_port)
    tools=$(scripts/test-tools.sh)
    setsid nice -n 19 "$tools/dynalite" --port "$dport" >"$work/dynalite.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$dport") 2>/dev/null && break
        sleep 0.1
    done
    # dynalite checks that a request is signed (an Authorization and a date header), not the
    # signature. A table that cannot be created ends the run here, not in 1,000 refusals.
    curl -fsS -o /dev/null "http://127.0.0.1:$dport/" \
        -H 'X-Amz-Target: DynamoDB_20120810.CreateTable' \
        -H "X-Amz-Date: $(date -u +%Y%m%dT%H%M%SZ)" \
        -H 'Content-Type: application/x-amz-json-1.0' \
        -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIDLOCALLOAD/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
        -d '{"TableName":"marquee-load","BillingMode":"PAY_PER_REQUEST","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]}' ||
        { echo "load.sh: could not create the state table in dynalite" >&2; exit 1; }
    sleep 1
    state_env=(MARQUEE_TABLE=marquee-load "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$dport"
        AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=AKIDLOCALLOAD
        AWS_SECRET_ACCESS_KEY=local-load-secret AWS_EC2_METADATA_DISABLED=true)
}

run_serve() {
    local port rport
    port=$(free_port)
    rport=$(free_port)
    state_env=()
    if [[ $state == dynamo ]]; then
        start_dynamo
    fi
    echo "==> (a) $binary serve on 127.0.0.1:$port (state: $state), receiver on :$rport" >&2
    env "${state_env[@]}" SLACK_SIGNING_SECRET=$SECRET MARQUEE_MODEL=offline MARQUEE_DATA_DIR="$work/serve-data" \
        MARQUEE_RESPONSE_URL_HOSTS="http://127.0.0.1:$rport" MARQUEE_LOG=warn \
        setsid nice -n "$nice" "$binary" serve --addr "127.0.0.1:$port" \
        >"$work/serve.log" 2>&1 &
    local server=$!
    pids+=("$server")
    wait_http "http://127.0.0.1:$port/healthz" 30
    machine
    echo "command: scripts/load.sh serve ${extra[*]} --binary $binary --state $state"
    "$py" tools/load/load.py --url "http://127.0.0.1:$port/slack/commands" --secret "$SECRET" \
        --receiver-port "$rport" --pid "$server" "${extra[@]}"
}

run_lambda() {
    local wport rport iport
    wport=$(free_port)
    rport=$(free_port)
    iport=$(free_port)
    cat >"$work/function.env" <<EOF
SLACK_SIGNING_SECRET=$SECRET
MARQUEE_MODEL=offline
MARQUEE_DATA_DIR=$work/lambda-data
MARQUEE_RESPONSE_URL_HOSTS=http://127.0.0.1:$rport
MARQUEE_LOG=warn
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=AKIDLOCALLOAD
AWS_SECRET_ACCESS_KEY=local-load-secret
AWS_EC2_METADATA_DISABLED=true
AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:$iport
EOF
    echo "==> (b) cargo lambda watch --release on 127.0.0.1:$wport, async-invoke stand-in on :$iport, receiver on :$rport" >&2
    setsid nice -n 19 "$venv/bin/cargo-lambda" lambda watch --release --ignore-changes -A 127.0.0.1 -P "$wport" \
        --env-file "$work/function.env" --concurrency "${LAMBDA_CONCURRENCY:-16}" \
        --bin marquee-lambda >"$work/watch.log" 2>&1 &
    local watch=$!
    pids+=("$watch")
    wait_http "http://127.0.0.1:$wport/lambda-url/marquee-lambda/healthz" 600
    machine
    echo "command: scripts/load.sh lambda ${extra[*]} (watch --concurrency ${LAMBDA_CONCURRENCY:-16})"
    "$py" tools/load/load.py --url "http://127.0.0.1:$wport/lambda-url/marquee-lambda/slack/commands" \
        --secret "$SECRET" --receiver-port "$rport" --invoke-port "$iport" \
        --invoke-target "http://127.0.0.1:$wport" --match-env "MARQUEE_DATA_DIR=$work/lambda-data" --name marquee-lambda "${extra[@]}" ||
        { tail -n 20 "$work/watch.log" >&2; return 1; }
}

# Starts `marquee serve` with extra environment ("$@"), on $port with the receiver on $rport;
# sets server to its pid.
start_serve() {
    env MARQUEE_DATA_DIR="$work/serve-data" "$@" SLACK_SIGNING_SECRET=$SECRET MARQUEE_MODEL=offline \
        MARQUEE_RESPONSE_URL_HOSTS="http://127.0.0.1:$rport" MARQUEE_LOG=warn \
        $session nice -n "$nice" "$binary" serve --addr "127.0.0.1:$port" \
        >"$work/serve.log" 2>&1 &
    server=$!
    pids+=("$server")
    wait_http "http://127.0.0.1:$port/healthz" 30
}

run_burst() {
    local port rport server
    port=$(free_port)
    rport=$(free_port)
    echo "==> (a) $binary serve on 127.0.0.1:$port, burst; receiver on :$rport" >&2
    start_serve
    machine
    echo "command: scripts/load.sh burst ${extra[*]} --binary $binary"
    echo "queue: $(curl -fsS "http://127.0.0.1:$port/healthz")"
    "$py" tools/load/load.py --burst --url "http://127.0.0.1:$port/slack/commands" --secret "$SECRET" \
        --receiver-port "$rport" --pid "$server" --requests 4000 --concurrency 100 "${extra[@]}" ||
        { tail -n 20 "$work/serve.log" >&2; return 1; }
    echo "queue after: $(curl -fsS "http://127.0.0.1:$port/healthz")"
}

# One warm-ack round against a fresh server with MARQUEE_QUEUE_LIMIT=$1; "$2" is passed to
# ack_load (--busy-ok for a full queue, --events for the events door); $3 is the route.
ack_round() {
    local port rport server route=${3:-commands}
    port=$(free_port)
    rport=$(free_port)
    local bot=()
    $with_bot && bot=(SLACK_BOT_TOKEN=xoxb-load-0000 SLACK_API_URL="http://127.0.0.1:$rport/api")
    start_serve MARQUEE_QUEUE_LIMIT="$1" MARQUEE_DATA_DIR="$work/acks-$1-$RANDOM" "${bot[@]}"
    echo "-- /slack/$route, queue limit $1 ${2:-}: $(curl -fsS "http://127.0.0.1:$port/healthz")"
    nice -n "$nice" "$ack_load" --url "http://127.0.0.1:$port/slack/$route" \
        --secret "$SECRET" --receiver-port "$rport" --requests "$requests" \
        --concurrency "$concurrency" ${2:-} || true
    echo "   server RSS $(awk '/VmRSS/ {print $2 / 1024 " MB"}' "/proc/$server/status"), peak $(awk '/VmHWM/ {print $2 / 1024 " MB"}' "/proc/$server/status"); healthz: $(curl -fsS "http://127.0.0.1:$port/healthz")"
    kill -- "-$server" 2>/dev/null || kill "$server"
    wait "$server" 2>/dev/null || true
}

run_acks() {
    local requests=20000 concurrency=50 i
    for ((i = 0; i < ${#extra[@]}; i += 2)); do
        case ${extra[i]} in
            --requests) requests=${extra[i + 1]} ;;
            --concurrency) concurrency=${extra[i + 1]} ;;
        esac
    done
    echo "==> (a) $binary serve, warm acks: accepted (queue big enough for all) and shed (queue full), alternating" >&2
    machine
    echo "command: scripts/load.sh acks --requests $requests --concurrency $concurrency --binary $binary"
    # Accepted: each ack commits the job to the queue. Shed: the same ack path up to the queue,
    # which refuses without writing. The difference is what the queue's write costs.
    ack_round 1000000
    ack_round 1 --busy-ok
    ack_round 1000000
    ack_round 1 --busy-ok
}

run_events() {
    local requests=20000 concurrency=50 i
    for ((i = 0; i < ${#extra[@]}; i += 2)); do
        case ${extra[i]} in
            --requests) requests=${extra[i + 1]} ;;
            --concurrency) concurrency=${extra[i + 1]} ;;
        esac
    done
    echo "==> (a) $binary serve with a bot token, warm acks: the events door against /poster, alternating" >&2
    # Both doors' servers alike: a bot token whose Web API is ack_load's receiver.
    with_bot=true
    machine
    echo "command: scripts/load.sh events --requests $requests --concurrency $concurrency --binary $binary"
    ack_round 1000000 "" commands
    ack_round 1000000 --events events
    ack_round 1000000 "" commands
    ack_round 1000000 --events events
}

run_steps() {
    local requests=20000 concurrency=50 i
    for ((i = 0; i < ${#extra[@]}; i += 2)); do
        case ${extra[i]} in
            --requests) requests=${extra[i + 1]} ;;
            --concurrency) concurrency=${extra[i + 1]} ;;
        esac
    done
    echo "==> (a) $binary serve with a bot token, warm acks: workflow steps against mentions, alternating" >&2
    with_bot=true
    machine
    echo "command: scripts/load.sh steps --requests $requests --concurrency $concurrency --binary $binary"
    ack_round 1000000 --events events
    ack_round 1000000 --steps events
    ack_round 1000000 --events events
    ack_round 1000000 --steps events
}

with_bot=false
status=0
case $mode in
    burst) run_burst || status=1 ;;
    acks) run_acks || status=1 ;;
    events) run_events || status=1 ;;
    steps) run_steps || status=1 ;;
    serve) run_serve || status=1 ;;
    lambda) run_lambda || status=1 ;;
    all) run_serve || status=1; run_lambda || status=1 ;;
esac
exit $status
