#!/usr/bin/env bash
# Builds the script fonts the poster code looks up in $MARQUEE_FONTS_DIR into
# build/fonts-layer/fonts/, the content of the FontsLayer Lambda layer in template.yaml (Lambda
# extracts a layer's zip into /opt, so the files land in /opt/fonts, the code's default).
# The binary embeds only the Latin display faces (assets/fonts); CJK, Arabic, Hebrew, the
# Indic scripts (Devanagari, Bengali, Gurmukhi, Gujarati, Tamil, Telugu, Kannada, Malayalam,
# Sinhala), the Southeast Asian ones (Thai, Lao, Khmer, Myanmar), Georgian, Armenian, Ethiopic
# and emoji come from Debian's Noto packages, subset with fonttools:
#
#   CJK (one face, Japanese, out of each TTC)  the characters of the national standards: every
#       character Python's shift_jis (JIS X 0208), gb2312, big5 and euc_kr (KS X 1001) codecs
#       encode, all Hangul syllables, Hiragana, Katakana (+ phonetic extensions), Hangul
#       compatibility jamo, CJK symbols and punctuation, half- and fullwidth forms, vertical
#       and compatibility forms (U+FE10-FE1F, U+FE30-FE4F), ASCII and Latin-1; every OpenType
#       layout feature (locl for ja / zh-Hans / ko forms, vert and vrt2) and vmtx, vhea, VORG
#       are kept, hinting dropped.
#   every other script (a sans bold, a sans regular and a serif bold each)  every glyph and
#       layout feature, hinting dropped.
#   NotoColorEmoji.ttf  copied unchanged (subsetting it saves about 1 KB of 11 MB).
#
# --desubroutinize is not used: measured on Noto Sans CJK JP Bold, it makes the subset 11%
# larger on disk (10.3 MB instead of 9.2 MB) for 3% less zipped (7.3 MB instead of 7.5 MB).
#
# Usage: scripts/fonts.sh [--force]
#   --force  rebuild even when the outputs are newer than the sources and this script
#
# Installs fonts-noto-core, fonts-noto-cjk and fonts-noto-color-emoji with apt-get when they
# are missing (as root), and fonttools into the repository's Python venv (.tools/venv, the one
# scripts/test-tools.sh makes; MARQUEE_TOOLS_VENV names another). Up to date, it only checks
# file times and the installed package versions and prints the layer's size. A cold build
# takes about two minutes on two idle cores, one subset per core: the three CJK faces are
# nearly all of the work (about 40 s for each Sans face, 100 s for the Serif one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SELF="$ROOT/scripts/fonts.sh"

FONTTOOLS_VERSION=4.68.0
PACKAGES=(fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji)
CORE=/usr/share/fonts/truetype/noto
CJK=/usr/share/fonts/opentype/noto

OUT="$ROOT/build/fonts-layer/fonts"
WORK="$ROOT/build/fonts-work"
VENV=${MARQUEE_TOOLS_VENV:-$ROOT/.tools/venv}

force=0
for arg in "$@"; do
    case $arg in
        --force) force=1 ;;
        -h | --help) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fonts.sh: unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

die() { printf 'fonts.sh: %s\n' "$*" >&2; exit 1; }

# target file name | kind (cjk, full, copy) | source file. The target names are the ones the
# poster code opens; change them only together with it.
FONTS="
NotoSerifCJK-Bold.otf|cjk|$CJK/NotoSerifCJK-Bold.ttc
NotoSansCJK-Bold.otf|cjk|$CJK/NotoSansCJK-Bold.ttc
NotoSansCJK-Regular.otf|cjk|$CJK/NotoSansCJK-Regular.ttc
NotoSansArabic-Bold.ttf|full|$CORE/NotoSansArabic-Bold.ttf
NotoSansArabic-Regular.ttf|full|$CORE/NotoSansArabic-Regular.ttf
NotoNaskhArabic-Bold.ttf|full|$CORE/NotoNaskhArabic-Bold.ttf
NotoSansHebrew-Bold.ttf|full|$CORE/NotoSansHebrew-Bold.ttf
NotoSansHebrew-Regular.ttf|full|$CORE/NotoSansHebrew-Regular.ttf
NotoSerifHebrew-Bold.ttf|full|$CORE/NotoSerifHebrew-Bold.ttf
NotoSansDevanagari-Bold.ttf|full|$CORE/NotoSansDevanagari-Bold.ttf
NotoSansDevanagari-Regular.ttf|full|$CORE/NotoSansDevanagari-Regular.ttf
NotoSerifDevanagari-Bold.ttf|full|$CORE/NotoSerifDevanagari-Bold.ttf
NotoSansThai-Bold.ttf|full|$CORE/NotoSansThai-Bold.ttf
NotoSansThai-Regular.ttf|full|$CORE/NotoSansThai-Regular.ttf
NotoSerifThai-Bold.ttf|full|$CORE/NotoSerifThai-Bold.ttf
NotoSansBengali-Bold.ttf|full|$CORE/NotoSansBengali-Bold.ttf
NotoSansBengali-Regular.ttf|full|$CORE/NotoSansBengali-Regular.ttf
NotoSerifBengali-Bold.ttf|full|$CORE/NotoSerifBengali-Bold.ttf
NotoSansTamil-Bold.ttf|full|$CORE/NotoSansTamil-Bold.ttf
NotoSansTamil-Regular.ttf|full|$CORE/NotoSansTamil-Regular.ttf
NotoSerifTamil-Bold.ttf|full|$CORE/NotoSerifTamil-Bold.ttf
NotoSansTelugu-Bold.ttf|full|$CORE/NotoSansTelugu-Bold.ttf
NotoSansTelugu-Regular.ttf|full|$CORE/NotoSansTelugu-Regular.ttf
NotoSerifTelugu-Bold.ttf|full|$CORE/NotoSerifTelugu-Bold.ttf
NotoSansGujarati-Bold.ttf|full|$CORE/NotoSansGujarati-Bold.ttf
NotoSansGujarati-Regular.ttf|full|$CORE/NotoSansGujarati-Regular.ttf
NotoSerifGujarati-Bold.ttf|full|$CORE/NotoSerifGujarati-Bold.ttf
NotoSansKannada-Bold.ttf|full|$CORE/NotoSansKannada-Bold.ttf
NotoSansKannada-Regular.ttf|full|$CORE/NotoSansKannada-Regular.ttf
NotoSerifKannada-Bold.ttf|full|$CORE/NotoSerifKannada-Bold.ttf
NotoSansMalayalam-Bold.ttf|full|$CORE/NotoSansMalayalam-Bold.ttf
NotoSansMalayalam-Regular.ttf|full|$CORE/NotoSansMalayalam-Regular.ttf
NotoSerifMalayalam-Bold.ttf|full|$CORE/NotoSerifMalayalam-Bold.ttf
NotoSansGurmukhi-Bold.ttf|full|$CORE/NotoSansGurmukhi-Bold.ttf
NotoSansGurmukhi-Regular.ttf|full|$CORE/NotoSansGurmukhi-Regular.ttf
NotoSerifGurmukhi-Bold.ttf|full|$CORE/NotoSerifGurmukhi-Bold.ttf
NotoSansSinhala-Bold.ttf|full|$CORE/NotoSansSinhala-Bold.ttf
NotoSansSinhala-Regular.ttf|full|$CORE/NotoSansSinhala-Regular.ttf
NotoSerifSinhala-Bold.ttf|full|$CORE/NotoSerifSinhala-Bold.ttf
NotoSansKhmer-Bold.ttf|full|$CORE/NotoSansKhmer-Bold.ttf
NotoSansKhmer-Regular.ttf|full|$CORE/NotoSansKhmer-Regular.ttf
NotoSerifKhmer-Bold.ttf|full|$CORE/NotoSerifKhmer-Bold.ttf
NotoSansLao-Bold.ttf|full|$CORE/NotoSansLao-Bold.ttf
NotoSansLao-Regular.ttf|full|$CORE/NotoSansLao-Regular.ttf
NotoSerifLao-Bold.ttf|full|$CORE/NotoSerifLao-Bold.ttf
NotoSansMyanmar-Bold.ttf|full|$CORE/NotoSansMyanmar-Bold.ttf
NotoSansMyanmar-Regular.ttf|full|$CORE/NotoSansMyanmar-Regular.ttf
NotoSerifMyanmar-Bold.ttf|full|$CORE/NotoSerifMyanmar-Bold.ttf
NotoSansGeorgian-Bold.ttf|full|$CORE/NotoSansGeorgian-Bold.ttf
NotoSansGeorgian-Regular.ttf|full|$CORE/NotoSansGeorgian-Regular.ttf
NotoSerifGeorgian-Bold.ttf|full|$CORE/NotoSerifGeorgian-Bold.ttf
NotoSansArmenian-Bold.ttf|full|$CORE/NotoSansArmenian-Bold.ttf
NotoSansArmenian-Regular.ttf|full|$CORE/NotoSansArmenian-Regular.ttf
NotoSerifArmenian-Bold.ttf|full|$CORE/NotoSerifArmenian-Bold.ttf
NotoSansEthiopic-Bold.ttf|full|$CORE/NotoSansEthiopic-Bold.ttf
NotoSansEthiopic-Regular.ttf|full|$CORE/NotoSansEthiopic-Regular.ttf
NotoSerifEthiopic-Bold.ttf|full|$CORE/NotoSerifEthiopic-Bold.ttf
NotoColorEmoji.ttf|copy|$CORE/NotoColorEmoji.ttf
"

report_size() {
    local bytes
    # Portable (BSD find has no -printf): the layer may be checked on a Mac.
    bytes=$(find "$OUT" -type f -exec cat {} + | wc -c | tr -d ' ')
    printf 'fonts layer: %s (%d files, %s bytes, %.1f MB unzipped)\n' \
        "${OUT#"$ROOT"/}" "$(find "$OUT" -type f | wc -l)" "$bytes" "$(awk "BEGIN { print $bytes / 1e6 }")"
}

# --- up to date? ----------------------------------------------------------------------------
# Every output newer than its source and this script, and the README (written last) newer
# than every output: then there is nothing to do, and no tool is needed to know it.
# A package upgrade can bring older file times than the outputs', so the installed versions
# count as an input too.
versions() {
    local pkg
    for pkg in "${PACKAGES[@]}"; do
        printf '%s %s\n' "$pkg" "$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)"
    done
}
# A machine without Debian's packages (a Mac, another distribution) cannot rebuild or re-check
# the layer, but can use one built in a Debian 12 container (docs/INSTALL.md, "Quick start"):
# complete, and newer than this script, it is taken as it is.
installed_here() { versions | awk '$2 != "" { found = 1 } END { exit !found }'; }
layer_complete() {
    local target
    while IFS='|' read -r target _ _; do
        [[ -z $target || -s $OUT/$target ]] || return 1
    done <<<"$FONTS"
}
if ! installed_here && [[ $force == 0 && -f $OUT/README && ! $OUT/README -ot $SELF ]] &&
    [[ -z $(find "$OUT" -maxdepth 1 -type f -newer "$OUT/README") ]] && layer_complete; then
    echo "fonts.sh: using build/fonts-layer as built (the Noto packages are not installed here to compare with)"
    report_size
    exit 0
fi
[[ $(cat "$WORK/versions" 2>/dev/null) == "$(versions)" ]] || force=1
stale=()
sources_missing=0
while IFS='|' read -r target _ source; do
    [[ -n $target ]] || continue
    [[ -f $source ]] || sources_missing=1
    if [[ $force == 1 || ! -s $OUT/$target || $OUT/$target -ot $SELF ]] ||
        [[ -f $source && $OUT/$target -ot $source ]]; then
        stale+=("$target")
    fi
done <<<"$FONTS"
if [[ ${#stale[@]} == 0 && -f $OUT/README && ! $OUT/README -ot $SELF ]] &&
    [[ -z $(find "$OUT" -maxdepth 1 -type f -newer "$OUT/README") ]]; then
    echo "fonts.sh: up to date"
    report_size
    exit 0
fi
started=$SECONDS

# --- Debian packages ------------------------------------------------------------------------
if [[ $sources_missing == 1 ]]; then
    command -v apt-get >/dev/null ||
        die "the Noto fonts are missing and there is no apt-get: run this script in a Debian 12 container (the docker command in docs/INSTALL.md, \"Quick start\")"
    [[ $(id -u) == 0 ]] ||
        die "the Noto fonts are missing; install them as root: apt-get install --no-install-recommends ${PACKAGES[*]}"
    echo "fonts.sh: installing ${PACKAGES[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >&2
fi
while IFS='|' read -r target _ source; do
    [[ -z $target || -f $source ]] || die "$source (for $target) not found after installing ${PACKAGES[*]}"
done <<<"$FONTS"

# --- fonttools ------------------------------------------------------------------------------
PY="$VENV/bin/python"
stamp="$VENV/.installed-fonttools-$FONTTOOLS_VERSION"
if ! [[ -f $stamp && -x $VENV/bin/pyftsubset ]]; then
    if [[ ! -x $PY ]]; then
        command -v python3 >/dev/null || die "python3 (with the venv module) is required for fonttools"
        echo "fonts.sh: creating $VENV" >&2
        mkdir -p "$(dirname "$VENV")"
        python3 -m venv "$VENV" >&2
    fi
    echo "fonts.sh: installing fonttools==$FONTTOOLS_VERSION into $VENV" >&2
    "$PY" -m pip install --disable-pip-version-check --quiet "fonttools==$FONTTOOLS_VERSION" >&2
    rm -f "$VENV"/.installed-fonttools-*
    touch "$stamp"
fi

# --- the CJK character set ------------------------------------------------------------------
mkdir -p "$OUT/LICENSES" "$WORK"
# Left by an interrupted run; they must not ship in the layer.
rm -f "$OUT"/*.tmp
"$PY" - "$WORK/cjk-unicodes.txt" <<'PY'
"""The CJK subset: what the four national standards encode, plus whole kana/Hangul blocks."""
import sys

CODECS = ["shift_jis", "gb2312", "big5", "euc_kr"]  # JIS X 0208, GB 2312, Big5, KS X 1001
BLOCKS = [
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1
    (0x3000, 0x303F),  # CJK Symbols and Punctuation
    (0x3040, 0x309F),  # Hiragana
    (0x30A0, 0x30FF),  # Katakana
    (0x31F0, 0x31FF),  # Katakana Phonetic Extensions
    (0x3130, 0x318F),  # Hangul Compatibility Jamo
    (0xAC00, 0xD7A3),  # Hangul Syllables
    (0xFE10, 0xFE1F),  # Vertical Forms
    (0xFE30, 0xFE4F),  # CJK Compatibility Forms
    (0xFF00, 0xFFEF),  # Halfwidth and Fullwidth Forms
]


def encodable(cp, codec):
    try:
        chr(cp).encode(codec)
        return True
    except UnicodeEncodeError:
        return False


chars = {cp for lo, hi in BLOCKS for cp in range(lo, hi + 1)}
for codec in CODECS:
    chars |= {cp for cp in range(0x80, 0x30000) if not 0xD800 <= cp < 0xE000 and encodable(cp, codec)}
with open(sys.argv[1], "w") as out:
    out.write(",".join("%04X" % cp for cp in sorted(chars)) + "\n")
print("fonts.sh: CJK subset: %d characters" % len(chars), file=sys.stderr)
PY

# The Japanese face of a CJK collection: the one whose family is "Noto Sans CJK JP" (or
# Serif), so its default forms are Japanese and locl supplies the Chinese and Korean ones.
jp_face() {
    "$PY" - "$1" <<'PY'
import os, sys
from fontTools.ttLib import TTCollection

path = sys.argv[1]
want = "Noto %s CJK JP" % ("Serif" if "Serif" in os.path.basename(path) else "Sans")
for i, font in enumerate(TTCollection(path, lazy=True).fonts):
    name = font["name"]
    family = name.getDebugName(16) or name.getDebugName(1)
    if family == want:
        print(i)
        sys.exit(0)
sys.exit("no face named %r in %s" % (want, path))
PY
}

# --- subsetting -----------------------------------------------------------------------------
build_one() {
    local target=$1 kind=$2 source=$3 tmp="$OUT/$1.tmp" log="$WORK/$1.log" face
    case $kind in
        copy) cp "$source" "$tmp" ;;
        full)
            "$VENV/bin/pyftsubset" "$source" --output-file="$tmp" --unicodes='*' \
                --layout-features='*' --no-hinting --notdef-outline >"$log" 2>&1 ;;
        cjk)
            face=$(jp_face "$source") &&
                "$VENV/bin/pyftsubset" "$source" --font-number="$face" --output-file="$tmp" \
                    --unicodes-file="$WORK/cjk-unicodes.txt" --layout-features='*' \
                    --no-hinting --notdef-outline >"$log" 2>&1 &&
                echo "$face" >"$WORK/$target.face" ;;
    esac || { cat "$log" >&2 2>/dev/null; rm -f "$tmp"; echo "fonts.sh: $target failed" >&2; return 1; }
    mv -f "$tmp" "$OUT/$target"
    echo "fonts.sh: $target ($(wc -c <"$OUT/$target") bytes)" >&2
}

# The CJK faces come first in FONTS, the Serif (twice as slow as a Sans) first of all: on two
# cores it takes one core while the two Sans faces and then the small fonts take the other.
jobs_max=$(nproc 2>/dev/null || echo 2)
running=0
failed=0
for target in "${stale[@]}"; do
    line=$(grep "^$target|" <<<"$FONTS")
    IFS='|' read -r _ kind source <<<"$line"
    build_one "$target" "$kind" "$source" &
    running=$((running + 1))
    if ((running >= jobs_max)); then
        wait -n || failed=1
        running=$((running - 1))
    fi
done
while ((running > 0)); do
    wait -n || failed=1
    running=$((running - 1))
done
[[ $failed == 0 ]] || die "building the fonts failed"

# --- licences and README --------------------------------------------------------------------
for pkg in "${PACKAGES[@]}"; do
    cp "/usr/share/doc/$pkg/copyright" "$OUT/LICENSES/$pkg.copyright"
done

{
    echo "Script fonts for Marquee's posters (the FontsLayer Lambda layer, /opt/fonts)."
    echo "Built by scripts/fonts.sh from Debian's packages with fonttools $FONTTOOLS_VERSION:"
    versions | sed 's/^/  /'
    echo
    echo "Licence: SIL Open Font License 1.1, texts in LICENSES/ (each package's copyright file)."
    echo "The fonts are subsets (modified versions under the OFL); no Reserved Font Name applies."
    echo
    echo "file <- source"
    while IFS='|' read -r target kind source; do
        [[ -n $target ]] || continue
        face=""
        [[ $kind == cjk ]] && face=" face $(cat "$WORK/$target.face" 2>/dev/null || jp_face "$source") (Japanese)"
        echo "  $target <- $source$face"
    done <<<"$FONTS"
    echo
    echo "Subset rule, CJK: the characters Python's shift_jis (JIS X 0208), gb2312, big5 and"
    echo "euc_kr (KS X 1001) codecs encode, plus all of ASCII, Latin-1, CJK Symbols and"
    echo "Punctuation, Hiragana, Katakana and its phonetic extensions, Hangul Compatibility Jamo,"
    echo "Hangul Syllables, U+FE10-FE1F, U+FE30-FE4F and Halfwidth and Fullwidth Forms"
    echo "($(tr ',' '\n' <"$WORK/cjk-unicodes.txt" | wc -l) code points), with every OpenType layout feature (glyphs"
    echo "reachable through locl, vert, vrt2 etc. are kept), vmtx, vhea and VORG; hinting dropped."
    echo "Every other script: every character and layout feature, hinting dropped."
    echo "NotoColorEmoji.ttf: unchanged (CBDT colour bitmaps)."
} >"$OUT/README"

versions >"$WORK/versions"
echo "fonts.sh: built ${#stale[@]} font(s) in $((SECONDS - started)) s"
report_size
