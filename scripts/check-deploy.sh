#!/usr/bin/env bash
# Proves the deployment offline: lints the SAM template, validates it with SAM, and builds the
# Lambda binary the template deploys for the architecture `sam build` will build, failing when
# it cannot, and the fonts layer's content (scripts/fonts.sh into build/fonts-layer, which
# `sam build` does not make but `sam deploy` uploads).
#
# Usage: scripts/check-deploy.sh [--arch arm64|x86_64] [--profile NAME] [--no-build] [--sam-build]
#   --arch       build for this architecture instead of the one samconfig.toml sets for
#                `sam build` (its Architecture in parameter_overrides; else the template's)
#   --profile    build with this cargo profile instead of release, what `sam build` ships
#                (CI uses dev: same source, target and linker, minutes faster)
#   --no-build   only lint and validate (seconds instead of minutes)
#   --sam-build  also run `sam build` in a temporary copy of the repository
#   -h, --help   this text
#
# Needs no AWS account, credentials or network beyond package registries, and no test tool
# (no SeaweedFS, dynalite or Node.js). It uses the deploy tools on PATH: cfn-lint and sam, and
# for a build cargo and cargo-lambda (with Zig, which cargo-lambda's PyPI package brings).
# Those missing are installed, pinned as scripts/test-tools.sh pins them, into .tools/venv with
# python3 -m venv and pip, and used from there; nothing else is installed. The commands here
# are the ones docs/INSTALL.md tells admins to run; keep the two in step.
#
# arm64 is built with rustup's aarch64 target when it is installed or can be added. Where
# rustup cannot download it, Debian's rustc-web and its arm64 standard library are fetched with
# apt into .tools/debian-rust (private apt state: the system's apt configuration is not
# touched) and used through RUSTC (set MARQUEE_ARM64_TOOLCHAIN=debian to force this route).
# If neither works the check fails: a green check must mean that what the template deploys
# builds. A deployment set to Architecture=x86_64 is proven with --arch x86_64, or by setting
# it in samconfig.toml.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=marquee-lambda
export SAM_CLI_TELEMETRY=0

arch=""
profile=release
build=1
sam_build=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --arch) arch=${2:?--arch needs arm64 or x86_64}; shift 2 ;;
        --profile) profile=${2:?--profile needs a cargo profile name}; shift 2 ;;
        --no-build) build=0; shift ;;
        --sam-build) sam_build=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'check-deploy: %s\n' "$*" >&2; exit 1; }

# --- tools ----------------------------------------------------------------------------------
# The pins scripts/test-tools.sh installs the test stack with, so a check here and one in CI
# run the same versions when this script installs them; tools already on PATH are used as
# they are.
pin() { sed -n "s/^$1=\([^ ]*\).*/\1/p" scripts/test-tools.sh; }
needed=(cfn-lint sam)
[[ $build == 1 || $sam_build == 1 ]] && needed+=(cargo-lambda)
missing=()
for tool in "${needed[@]}"; do
    command -v "$tool" >/dev/null || [[ -x $ROOT/.tools/venv/bin/$tool ]] || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    command -v python3 >/dev/null ||
        die "${missing[*]} not found, and python3 is needed to install them (pip install aws-sam-cli cfn-lint cargo-lambda)"
    packages=()
    for tool in "${missing[@]}"; do
        case $tool in
            cfn-lint) packages+=("cfn-lint==$(pin CFN_LINT_VERSION)") ;;
            sam) packages+=("aws-sam-cli==$(pin SAM_CLI_VERSION)") ;;
            cargo-lambda) packages+=("cargo-lambda==$(pin CARGO_LAMBDA_VERSION)") ;;
        esac
    done
    step "installing ${packages[*]} into .tools/venv (not on PATH)"
    [[ -x .tools/venv/bin/python ]] || python3 -m venv .tools/venv
    .tools/venv/bin/python -m pip install --disable-pip-version-check --quiet "${packages[@]}"
fi
# Tools on PATH as they are. When .tools/venv supplies one, it goes first, so that its python3
# (with the ziglang module cargo-lambda looks for) is the one found.
for tool in "${needed[@]}"; do
    if ! command -v "$tool" >/dev/null; then
        export PATH="$ROOT/.tools/venv/bin:$PATH"
        break
    fi
done
for tool in "${needed[@]}" cargo; do
    command -v "$tool" >/dev/null || die "$tool not found (cargo comes with rustup: https://rustup.rs)"
done
echo "tools: $(for t in "${needed[@]}"; do printf '%s ' "$(command -v "$t")"; done)"

# --- template -------------------------------------------------------------------------------
grep -q '^beta_features = true' samconfig.toml ||
    die "samconfig.toml does not opt into SAM's beta rust-cargolambda build (beta_features = true)"

step "cfn-lint template.yaml"
cfn-lint template.yaml
echo "cfn-lint: clean"

step "sam validate --lint --template template.yaml"
sam validate --lint --template template.yaml

# --- fonts layer ----------------------------------------------------------------------------
# FontsLayer's ContentUri. sam build passes a layer without a BuildMethod through untouched
# (its built template points back at build/fonts-layer), so only scripts/fonts.sh makes it;
# up to date that is a fraction of a second.
fonts_layer=""
if [[ $build == 1 || $sam_build == 1 ]]; then
    step "scripts/fonts.sh (FontsLayer: build/fonts-layer)"
    scripts/fonts.sh
    [[ -s build/fonts-layer/fonts/NotoSansCJK-Bold.otf && -s build/fonts-layer/fonts/README ]] ||
        die "scripts/fonts.sh did not produce build/fonts-layer/fonts"
    fonts_layer=$(du -sb build/fonts-layer | cut -f1)
fi

# --- build ----------------------------------------------------------------------------------
# The architecture the template deploys unless told otherwise: the Architecture parameter's
# Default (the first `Default:` after the parameter's name).
template_arch() {
    awk '/^  Architecture:/ { p = 1; next } p && /Default:/ { print $2; exit }' template.yaml
}

# The Architecture a samconfig.toml section's parameter_overrides sets (SAM writes values
# quoted, `Architecture=\"x86_64\"`, a hand-written line need not), or nothing.
samconfig_arch() {
    awk -v want="[default.$1.parameters]" '
        /^\[/ { here = ($0 == want); next }
        here && /^parameter_overrides/ && match($0, /Architecture=\\?"?[a-z0-9_]+/) {
            v = substr($0, RSTART + 13, RLENGTH - 13); gsub(/[\\"]/, "", v); print v; exit
        }' samconfig.toml
}

# What `sam build` builds: its own section, else the global one (SAM merges them key by key),
# else the template's default.
build_arch() {
    local a
    a=$(samconfig_arch build)
    [[ -n $a ]] || a=$(samconfig_arch global)
    echo "${a:-$(template_arch)}"
}

# `sam deploy` reads its own section's parameter_overrides when `sam deploy --guided` saved
# one; a different Architecture there would deploy a binary built for the other CPU.
deploy_arch=$(samconfig_arch deploy)
if [[ -n $deploy_arch && $deploy_arch != "$(build_arch)" ]]; then
    die "samconfig.toml: sam build builds $(build_arch) but sam deploy deploys Architecture=$deploy_arch; set both to one value (docs/INSTALL.md, \"Building for x86_64\")"
fi

# Which machine a built ELF file is for, from its e_machine field (bytes 18-19).
elf_arch() {
    case $(od -An -j18 -N2 -tu2 "$1" | tr -d ' ') in
        183) echo arm64 ;;
        62) echo x86_64 ;;
        *) echo unknown ;;
    esac
}

target_dir=${CARGO_TARGET_DIR:-target}
[[ $target_dir == /* ]] || target_dir="$ROOT/$target_dir"
bootstrap="$target_dir/lambda/$BIN/bootstrap"

# Debian's rustc-web with the aarch64 standard library, unpacked (not installed) under
# .tools/debian-rust. Host and target libraries come from the same private apt lists, so their
# versions match. Leaves a wrapper usable as RUSTC at $DEBIAN_RUSTC.
DEBIAN_DIR="$ROOT/.tools/debian-rust"
DEBIAN_RUSTC="$DEBIAN_DIR/rustc"
prepare_debian_rustc() {
    command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || return 1
    [[ $(uname -m) == x86_64 ]] || return 1
    local dir=$DEBIAN_DIR root=$DEBIAN_DIR/root
    if [[ ! -x "$root/usr/bin/rustc" ]]; then
        step "fetching Debian rustc-web and libstd-rust-web-dev:arm64 into .tools/debian-rust" >&2
        mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs" "$root"
        local apt=(-o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt/cache"
            -o APT::Architecture=amd64 -o APT::Architectures::=amd64
            -o APT::Architectures::=arm64 -o Debug::NoLocking=1)
        apt-get "${apt[@]}" -qq update >&2 || return 1
        # rustc-web -> libstd-rust-web-dev -> libstd-rust-web-1.NN -> libllvmNN: resolve the
        # versioned names rather than hard-coding them.
        local std_so llvm deb
        std_so=$(apt-cache "${apt[@]}" depends libstd-rust-web-dev |
            awk '/Depends: libstd-rust-web-1/ { print $2; exit }')
        [[ -n $std_so ]] || return 1
        llvm=$(apt-cache "${apt[@]}" depends "$std_so" | awk '/Depends: libllvm/ { print $2; exit }')
        [[ -n $llvm ]] || return 1
        (cd "$dir/debs" && apt-get "${apt[@]}" -qq download rustc-web libstd-rust-web-dev \
            "$std_so" "$llvm" "libstd-rust-web-dev:arm64" "$std_so:arm64") >&2 || return 1
        for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$root" || return 1; done
        # The unpacked tree is all that is needed; the archives would double the disk use.
        rm -rf "$dir/debs" "$dir/apt/cache"
    fi
    # rustc finds its sysroot next to its binary but its own shared libraries only through
    # the loader path, so cargo gets a wrapper to call.
    printf '#!/bin/sh\nLD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "%s" "$@"\n' \
        "$root/usr/lib/x86_64-linux-gnu" "$root/usr/bin/rustc" >"$DEBIAN_RUSTC"
    chmod +x "$DEBIAN_RUSTC"
    "$DEBIAN_RUSTC" -V >&2
}

# Picks how to build arm64 before building anything, so that a compile error in the crate
# fails once instead of being retried with every toolchain. Prints rustup, debian or nothing.
arm64_toolchain() {
    if [[ ${MARQUEE_ARM64_TOOLCHAIN:-} == debian ]]; then
        prepare_debian_rustc && echo debian
        return 0
    fi
    if command -v rustup >/dev/null &&
        { rustup target list --installed | grep -qx aarch64-unknown-linux-gnu ||
            rustup target add aarch64-unknown-linux-gnu >&2; }; then
        echo rustup
    elif prepare_debian_rustc; then
        echo debian
    fi
}

# `--release` as `sam build` passes it (cargo-lambda adds its release settings to that flag).
if [[ $profile == release ]]; then profile_args=(--release); else profile_args=(--profile "$profile"); fi

proven=""
toolchain=""
if [[ $build == 1 ]]; then
    command -v cargo-lambda >/dev/null || die "cargo-lambda not found (run scripts/test-tools.sh --with-zig)"
    want=${arch:-$(build_arch)}
    [[ $want == arm64 || $want == x86_64 ]] || die "unknown architecture '$want'"
    rm -f "$bootstrap"
    toolchain=x86_64
    if [[ $want == arm64 ]]; then
        toolchain=$(arm64_toolchain || true)
        [[ -n $toolchain ]] ||
            die "no aarch64 toolchain here (rustup cannot add aarch64-unknown-linux-gnu and Debian's rustc-web is not reachable), so the arm64 function the template deploys is unproven. Install the target, or, for a deployment set to Architecture=x86_64, run with --arch x86_64."
    fi
    case $toolchain in
        rustup)
            step "cargo lambda build ${profile_args[*]} --arm64 --bin $BIN"
            cargo lambda build "${profile_args[@]}" --arm64 --bin "$BIN"
            proven=arm64 ;;
        debian)
            step "RUSTC=.tools/debian-rust/rustc cargo lambda build ${profile_args[*]} --arm64 --skip-target-check --bin $BIN"
            RUSTC="$DEBIAN_RUSTC" cargo lambda build "${profile_args[@]}" --arm64 --skip-target-check --bin "$BIN"
            proven=arm64 ;;
        x86_64)
            step "cargo lambda build ${profile_args[*]} --x86-64 --bin $BIN"
            cargo lambda build "${profile_args[@]}" --x86-64 --bin "$BIN"
            proven=x86_64 ;;
    esac
    [[ -s $bootstrap ]] || die "$bootstrap was not produced"
    got=$(elf_arch "$bootstrap")
    [[ $got == "$proven" ]] || die "$bootstrap is for $got, expected $proven"
    printf 'built %s (%s, %s profile, %s bytes, toolchain: %s)\n' \
        "$bootstrap" "$got" "$profile" "$(wc -c <"$bootstrap")" "$toolchain"
fi

if [[ $sam_build == 1 ]]; then
    # In a copy, so .aws-sam and any build state stay out of the working tree.
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    tar --exclude=./target --exclude=./.git --exclude=./.tools --exclude=./.aws-sam -cf - . |
        tar -xf - -C "$tmp"
    sam_arch=${proven:-${arch:-$(build_arch)}}
    sam_env=(CARGO_TARGET_DIR="$target_dir")
    if [[ $toolchain == debian ]]; then
        # sam build cannot pass --skip-target-check; cargo-lambda's global config can.
        printf '[build]\nskip_target_check = true\n' >"$tmp/.cargo-lambda-global.toml"
        sam_env+=(RUSTC="$DEBIAN_RUSTC" CARGO_LAMBDA_GLOBAL="$tmp/.cargo-lambda-global.toml")
    fi
    # samconfig.toml (copied along) opts into SAM's beta rust-cargolambda build method; the flag
    # says so again, so a samconfig.toml rewritten by `sam deploy --guided` cannot bring back
    # SAM's [y/N] prompt, which aborts a build without a terminal. stdin is closed for the same
    # reason: a prompt must fail here, not wait.
    step "sam build --beta-features --template template.yaml --parameter-overrides Architecture=$sam_arch"
    (cd "$tmp" && env "${sam_env[@]}" \
        sam build --beta-features --template template.yaml \
            --parameter-overrides "Architecture=$sam_arch" </dev/null)
    built="$tmp/.aws-sam/build/MarqueeFunction/bootstrap"
    [[ -s $built ]] || die "sam build produced no bootstrap"
    echo "sam build: $(elf_arch "$built") bootstrap, $(wc -c <"$built") bytes"
fi

step "summary"
echo "cfn-lint: clean; sam validate --lint: valid"
if [[ -n $proven ]]; then
    echo "build proven for $proven, $profile profile (sam build builds: $(build_arch); template default: $(template_arch))"
else
    echo "build: skipped (--no-build)"
fi
if [[ -n $fonts_layer ]]; then
    echo "fonts layer: build/fonts-layer, $fonts_layer bytes unzipped"
fi
