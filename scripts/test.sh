#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a laptop: installs the local stack's tools
# (cargo-lambda, SeaweedFS, dynalite, cfn-lint, SAM CLI; zig for the Lambda build) into .tools/,
# then runs formatting and lint checks, every unit, integration and end-to-end test (the
# end-to-end tests start SeaweedFS, dynalite behind its IAM proxy, `cargo lambda watch` and the
# Bedrock, Slack and Lambda stand-ins themselves), and the deployment checks: cfn-lint,
# `sam validate --lint` and the Lambda build for the template's architecture (beside the
# tests). It also builds the script fonts (scripts/fonts.sh, the FontsLayer's content) that the
# poster tests use.
#
# Usage: scripts/test.sh [--quick]
#   --quick  skip the Lambda build (the slowest step, and the only one that needs zig)
#
# Clippy runs inside the test build rather than beside it: cargo clippy is cargo with
# clippy-driver as the workspace's rustc wrapper, and clippy-driver compiles as rustc does, so
# one build both lints (with -D warnings) and produces the test binaries. A separate
# `cargo clippy` would type-check every dependency a second time. `cargo clippy --all-targets
# -- -D warnings` gives the same verdict.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
for arg in "$@"; do
    case $arg in
        --quick) quick=1 ;;
        -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "test.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

# Each step's header says how long the one before it took, so a CI log shows where time goes.
started=$SECONDS
last=$SECONDS
last_name=""
step() {
    [[ -n $last_name ]] && printf '(%s: %d s)\n' "$last_name" $((SECONDS - last))
    last=$SECONDS
    last_name=$*
    printf '\n==> %s\n' "$*"
}

if command -v rustup >/dev/null 2>&1; then
    rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi

# The tools (pip, npm, apt; about a minute cold) and then the fonts (about two minutes cold:
# Debian's Noto packages, fonttools, three CJK subsets) are made in the background while fmt and
# the test build run: the build needs neither, the tests need both. One after the other, because
# both install into .tools/venv. Up to date, each takes a fraction of a second.
step "tools, then fonts (scripts/test-tools.sh, scripts/fonts.sh: in the background until the tests)"
if [[ $quick == 1 ]]; then tools_args=(); else tools_args=(--with-zig); fi
prep_log=$(mktemp)
tools_out=$(mktemp)
(
    set -e
    scripts/test-tools.sh "${tools_args[@]}" >"$tools_out"
    PATH="$(cat "$tools_out"):$PATH" scripts/fonts.sh
) >"$prep_log" 2>&1 &
prep_pid=$!
# A failing step ends the script; the background work ends with it.
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
wait_for_prep() {
    local status=0
    wait "$prep_pid" || status=$?
    cat "$prep_log"
    [[ $status == 0 ]] || { echo "test.sh: scripts/test-tools.sh or scripts/fonts.sh failed ($status)" >&2; exit "$status"; }
    export PATH="$(cat "$tools_out"):$PATH"
    export SAM_CLI_TELEMETRY=0
    rm -f "$prep_log" "$tools_out"
}

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings (as the test build's compiler)"
# Never an empty wrapper: that would build without linting and still pass.
RUSTC_WORKSPACE_WRAPPER=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver) || {
    echo "test.sh: clippy-driver not found (rustup component add clippy)" >&2
    exit 1
}
export RUSTC_WORKSPACE_WRAPPER
# cargo clippy passes its arguments to clippy-driver this way.
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
cargo test --all-targets --no-run

step "tools and fonts (waiting for them)"
wait_for_prep

step "cargo test, and the deployment checks beside it"
# The deployment checks (cfn-lint, `sam validate --lint`, and the Lambda build for the
# template's architecture: a second compile of every dependency, for aarch64) run at the lowest
# CPU priority while the tests run: the stack tests spend much of their time waiting on
# processes and sockets, and take back the CPU whenever they want it. The build uses a target
# directory of its own, so it never holds the lock the stack's `cargo lambda watch` needs.
deploy_log=$(mktemp)
(
    unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
    export CARGO_TARGET_DIR=target/deploy-check
    if [[ $quick == 1 ]]; then
        exec nice -n 19 scripts/check-deploy.sh --no-build
    else
        # The dev profile: the same source, features, target and linker as the release build
        # `sam build` makes, without the optimisation that takes most of its time.
        # `scripts/check-deploy.sh` alone builds exactly what ships.
        exec nice -n 19 scripts/check-deploy.sh --profile dev
    fi
) >"$deploy_log" 2>&1 &
deploy_pid=$!
deploy_started=$SECONDS
# `cargo test`'s targets, in three groups side by side rather than one after another: the
# stack tests mostly wait on sockets and processes, serve's kill -9 burst renders 200 posters
# (at the lowest priority, as serve renders), and the unit tests are CPU-bound. One after the
# other they took 164 s warm; the longest group bounds the wall time now. The groups cover every
# test target: `architecture::the_test_script_runs_every_test_target` holds the list.
group_logs=$(mktemp -d)
tests_group() {
    local name=$1
    shift
    local status=0
    "$@" >"$group_logs/$name.log" 2>&1 || status=$?
    echo "$status" >"$group_logs/$name.status"
}
tests_group serve-queue cargo test --no-fail-fast --test it -- serve_queue:: &
serve_queue_pid=$!
(
    tests_group units cargo test --no-fail-fast --lib --bins --examples
    tests_group docs cargo test --no-fail-fast --doc
) &
units_pid=$!
tests_status=0
# Four threads: the stack tests wait far more than they compute (the binary used 50 s of CPU in
# 162 s on two threads). Measured with builds beside it, four threads took 0.74-0.83 of two's
# time and passed every run; six failed two timing tests (BENCHMARKS.md, "CI on a clean clone").
RUST_TEST_THREADS=4 cargo test --no-fail-fast --test it -- --skip serve_queue:: || tests_status=$?
wait "$serve_queue_pid" "$units_pid" || true
for group in serve-queue units docs; do
    [[ -f $group_logs/$group.log ]] || continue
    printf '\n--- %s ---\n' "$group"
    cat "$group_logs/$group.log"
    status=$(cat "$group_logs/$group.status" 2>/dev/null || echo 1)
    [[ $status == 0 ]] || tests_status=$status
done
rm -rf "$group_logs"

step "deployment checks (waiting for them)"
deploy_status=0
wait "$deploy_pid" || deploy_status=$?
cat "$deploy_log"
rm -f "$deploy_log"
printf '(the deployment checks took %d s beside the tests)\n' $((SECONDS - deploy_started))
[[ $tests_status == 0 ]] || { echo "test.sh: cargo test failed ($tests_status)" >&2; exit "$tests_status"; }
[[ $deploy_status == 0 ]] || { echo "test.sh: scripts/check-deploy.sh failed ($deploy_status)" >&2; exit "$deploy_status"; }

step "done"
printf '\nall checks passed in %d s\n' $((SECONDS - started))
