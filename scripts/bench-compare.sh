#!/usr/bin/env bash
# Compares Marquee with the alternative teams pick today — a Slack Bolt for Python app with a
# lazy listener — as AWS Lambda functions under one Lambda Runtime API stand-in on 127.0.0.1:
# cold start (exec -> first acked /poster), warm ack latency and peak RSS, with ratios from the
# same run. See tools/bolt-compare/README.md for what is measured and why.
#
# Usage: scripts/bench-compare.sh [--rounds N] [--warm M] [--json FILE]
#   (defaults: 20 cold starts and 50 warm acks per cold start, for each function)
#
# Installs slack_bolt, boto3 and awslambdaric into .tools/venv-bench, builds marquee-lambda in
# release mode (shared target/), strips a copy as Lambda would run it, and prints a table. Runs
# under `nice -n 19`; the machine is shared, so the load average is printed with the results.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
venv="$ROOT/.tools/venv-bench"
if [[ ! -x $venv/bin/python ]] ||
    ! "$venv/bin/python" -c 'import slack_bolt, boto3, awslambdaric' 2>/dev/null; then
    echo "==> installing slack_bolt, boto3 and awslambdaric into .tools/venv-bench" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'slack_bolt>=1.20,<2' 'boto3>=1.34,<2' 'awslambdaric>=2.2,<5'
fi

echo "==> cargo build --release --bin marquee-lambda" >&2
nice -n 19 cargo build --release --bin marquee-lambda >&2
target_dir=${CARGO_TARGET_DIR:-target}
bin=$(mktemp -d)/bootstrap
trap 'rm -rf "$(dirname "$bin")"' EXIT
cp "$target_dir/release/marquee-lambda" "$bin"
strip "$bin"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "versions: $("$venv/bin/python" -c 'import sys, slack_bolt, awslambdaric, boto3; print(f"python {sys.version.split()[0]}, slack_bolt {slack_bolt.version.__version__}, awslambdaric {awslambdaric.__version__}, boto3 {boto3.__version__}")'), marquee $(git describe --always --dirty 2>/dev/null || echo unknown)"
echo "command: scripts/bench-compare.sh $*"
nice -n 19 "$venv/bin/python" tools/bolt-compare/harness.py --rust "$bin" --python "$venv/bin/python" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
