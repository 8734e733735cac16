#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a laptop: installs the local stack's tools
# (cargo-lambda, SeaweedFS, cfn-lint, SAM CLI) into .tools/, then runs formatting and lint
# checks, every unit, integration and end-to-end test (the end-to-end tests start SeaweedFS,
# `cargo lambda watch` and the Bedrock, Slack and Lambda stand-ins themselves), and the
# deployment checks: cfn-lint, `sam validate --lint` and the Lambda release build.
#
# Usage: scripts/test.sh [--quick]
#   --quick  skip the Lambda release build (the slowest step; CI always runs it)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
for arg in "$@"; do
    case $arg in
        --quick) quick=1 ;;
        -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "test.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

if command -v rustup >/dev/null 2>&1; then
    rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi

step "tools"
tools_bin=$(scripts/test-tools.sh --with-zig)
export PATH="$tools_bin:$PATH"
export SAM_CLI_TELEMETRY=0

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

step "cargo test"
cargo test --no-fail-fast

step "deployment checks"
if [[ $quick == 1 ]]; then
    scripts/check-deploy.sh --no-build
else
    scripts/check-deploy.sh
fi

printf '\nall checks passed in %d s\n' $((SECONDS - started))
