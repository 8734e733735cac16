#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a laptop: installs the local stack's tools
# (cargo-lambda, SeaweedFS, dynalite, cfn-lint, SAM CLI; zig for the Lambda build) into .tools/,
# then runs formatting and lint checks, every unit, integration and end-to-end test (the
# end-to-end tests start SeaweedFS, dynalite behind its IAM proxy, `cargo lambda watch` and the
# Bedrock, Slack and Lambda stand-ins themselves), and the deployment checks: cfn-lint,
# `sam validate --lint` and the Lambda build for the template's architecture. First it builds
# the script fonts (scripts/fonts.sh, the FontsLayer's content) that the poster tests use.
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

step "tools"
if [[ $quick == 1 ]]; then
    tools_bin=$(scripts/test-tools.sh)
else
    tools_bin=$(scripts/test-tools.sh --with-zig)
fi
export PATH="$tools_bin:$PATH"
export SAM_CLI_TELEMETRY=0

# The poster tests draw every script with the fonts in MARQUEE_FONTS_DIR (.cargo/config.toml
# points it here), and the Lambda build's sam side needs the layer; the build does not. So the
# fonts are made in the background while fmt and the test build run, and waited for before the
# tests. Up to date it takes a fraction of a second; cold, about two minutes (Debian's Noto
# packages, fonttools, three CJK subsets), much of it overlapping the compile's serial phases
# (linking, the biggest crates' codegen) on a 2-core machine.
step "fonts (scripts/fonts.sh, in the background until the tests)"
fonts_log=$(mktemp)
scripts/fonts.sh >"$fonts_log" 2>&1 &
fonts_pid=$!
wait_for_fonts() {
    local status=0
    wait "$fonts_pid" || status=$?
    cat "$fonts_log"
    rm -f "$fonts_log"
    [[ $status == 0 ]] || { echo "test.sh: scripts/fonts.sh failed ($status)" >&2; exit "$status"; }
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

step "fonts (waiting for scripts/fonts.sh)"
wait_for_fonts

step "cargo test"
cargo test --no-fail-fast

step "deployment checks"
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
if [[ $quick == 1 ]]; then
    scripts/check-deploy.sh --no-build
else
    # The dev profile the tests were built with: the same source, features, target and linker
    # as the release build `sam build` makes, without the optimisation that takes most of its
    # time. `scripts/check-deploy.sh` alone builds exactly what ships.
    scripts/check-deploy.sh --profile dev
fi

step "done"
printf '\nall checks passed in %d s\n' $((SECONDS - started))
