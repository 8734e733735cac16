//! Typefaces and shaping: which font draws each character, and where each glyph goes.
//!
//! Two kinds of font serve a poster. The four Latin faces of the looks live in
//! `assets/fonts/` and are compiled into the binary, so a Latin poster never depends on the
//! host. Every other script is drawn from the Noto families in a fonts directory beside the
//! binary (a Lambda layer in AWS, `build/fonts-layer/fonts` locally, built by
//! `scripts/fonts.sh`): CJK, Arabic, Hebrew, Devanagari and Thai, each in a sans bold, a sans
//! regular and a serif bold so each look keeps its weight and feel, and Noto Color Emoji.
//! A script font is read the first time a poster needs it, never at start-up, so a cold start
//! for a Latin poster reads nothing.
//!
//! Shaping is rustybuzz (HarfBuzz's shaper in Rust): Arabic letters take their joining forms,
//! Devanagari and Thai clusters form, kerning and ligatures come from each font's GPOS and
//! GSUB tables, CJK gets its regional forms through `locl` and its vertical alternates through
//! `vert`. Text is first split into runs of one font and one bidi level (the Unicode bidi
//! algorithm, `unicode-bidi`), runs are put in visual order (rule L2) and each is shaped in
//! its own direction.
//!
//! Degradation rule: a character is drawn by the look's face, then by the workhorse sans
//! (Lato: Latin Extended, Greek, Cyrillic), then by its script's font, then by the CJK font
//! (which carries many symbols) and the emoji font. A character none of them has is dropped
//! and reported by [`missing_chars`]; a glyph id of zero (`.notdef`, the "tofu" box) is never
//! drawn. This module knows nothing of posters, styles or layout.

use std::path::PathBuf;
use std::sync::OnceLock;

use rustybuzz::{Direction, Language, UnicodeBuffer};
use unicode_bidi::{BidiInfo, Level};
use unicode_script::{Script, UnicodeScript};

/// A look's typeface role. The embedded face draws Latin; the script fonts it falls back to
/// are chosen to match its weight and feel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Face {
    /// Bebas Neue: the condensed all-caps display face of a thousand one-sheets; also the
    /// billing block, because its narrow caps are what real credits are set in.
    Display,
    /// Roboto Slab Bold: a sturdy slab serif for noir, western, horror and fantasy titles.
    Slab,
    /// Lobster: a bold connected script for romance, comedy and animation.
    Script,
    /// Lato Regular: the workhorse sans for taglines, and the fallback for every other face.
    Sans,
}

impl Face {
    const ALL: [Face; 4] = [Face::Display, Face::Slab, Face::Script, Face::Sans];

    fn bytes(self) -> &'static [u8] {
        match self {
            Face::Display => include_bytes!("../../../../assets/fonts/BebasNeue-Regular.otf"),
            Face::Slab => include_bytes!("../../../../assets/fonts/RobotoSlab-Bold.otf"),
            Face::Script => include_bytes!("../../../../assets/fonts/Lobster-Regular.otf"),
            Face::Sans => include_bytes!("../../../../assets/fonts/Lato-Regular.ttf"),
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The weight and feel its script fonts must match: a slab serif title falls back to a
    /// serif (Mincho for Japanese, Naskh for Arabic), a bold display or script title to a
    /// bold sans, the tagline's regular sans to a regular sans.
    fn feel(self) -> Feel {
        match self {
            Face::Display | Face::Script => Feel::SansBold,
            Face::Slab => Feel::SerifBold,
            Face::Sans => Feel::SansRegular,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feel {
    SansBold,
    SansRegular,
    SerifBold,
}

/// Scripts with fonts of their own in the fonts directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Cjk,
    Arabic,
    Hebrew,
    Devanagari,
    Thai,
}

impl Family {
    fn of(script: Script) -> Option<Family> {
        Some(match script {
            Script::Han
            | Script::Hiragana
            | Script::Katakana
            | Script::Hangul
            | Script::Bopomofo => Family::Cjk,
            Script::Arabic => Family::Arabic,
            Script::Hebrew => Family::Hebrew,
            Script::Devanagari => Family::Devanagari,
            Script::Thai => Family::Thai,
            _ => return None,
        })
    }
}

/// A script font in the fonts directory, by the file name `scripts/fonts.sh` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScriptFont {
    CjkSansBold,
    CjkSansRegular,
    CjkSerifBold,
    ArabicSansBold,
    ArabicSansRegular,
    ArabicNaskhBold,
    HebrewSansBold,
    HebrewSansRegular,
    HebrewSerifBold,
    DevanagariSansBold,
    DevanagariSansRegular,
    DevanagariSerifBold,
    ThaiSansBold,
    ThaiSansRegular,
    ThaiSerifBold,
    Emoji,
}

impl ScriptFont {
    #[cfg(test)]
    pub(crate) const ALL: [ScriptFont; 16] = [
        ScriptFont::CjkSansBold,
        ScriptFont::CjkSansRegular,
        ScriptFont::CjkSerifBold,
        ScriptFont::ArabicSansBold,
        ScriptFont::ArabicSansRegular,
        ScriptFont::ArabicNaskhBold,
        ScriptFont::HebrewSansBold,
        ScriptFont::HebrewSansRegular,
        ScriptFont::HebrewSerifBold,
        ScriptFont::DevanagariSansBold,
        ScriptFont::DevanagariSansRegular,
        ScriptFont::DevanagariSerifBold,
        ScriptFont::ThaiSansBold,
        ScriptFont::ThaiSansRegular,
        ScriptFont::ThaiSerifBold,
        ScriptFont::Emoji,
    ];

    /// The file's name in the fonts directory.
    pub(crate) fn file_name(self) -> &'static str {
        match self {
            ScriptFont::CjkSansBold => "NotoSansCJK-Bold.otf",
            ScriptFont::CjkSansRegular => "NotoSansCJK-Regular.otf",
            ScriptFont::CjkSerifBold => "NotoSerifCJK-Bold.otf",
            ScriptFont::ArabicSansBold => "NotoSansArabic-Bold.ttf",
            ScriptFont::ArabicSansRegular => "NotoSansArabic-Regular.ttf",
            ScriptFont::ArabicNaskhBold => "NotoNaskhArabic-Bold.ttf",
            ScriptFont::HebrewSansBold => "NotoSansHebrew-Bold.ttf",
            ScriptFont::HebrewSansRegular => "NotoSansHebrew-Regular.ttf",
            ScriptFont::HebrewSerifBold => "NotoSerifHebrew-Bold.ttf",
            ScriptFont::DevanagariSansBold => "NotoSansDevanagari-Bold.ttf",
            ScriptFont::DevanagariSansRegular => "NotoSansDevanagari-Regular.ttf",
            ScriptFont::DevanagariSerifBold => "NotoSerifDevanagari-Bold.ttf",
            ScriptFont::ThaiSansBold => "NotoSansThai-Bold.ttf",
            ScriptFont::ThaiSansRegular => "NotoSansThai-Regular.ttf",
            ScriptFont::ThaiSerifBold => "NotoSerifThai-Bold.ttf",
            ScriptFont::Emoji => "NotoColorEmoji.ttf",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn for_family(family: Family, feel: Feel) -> ScriptFont {
        use {Family as F, Feel as W, ScriptFont as S};
        match (family, feel) {
            (F::Cjk, W::SansBold) => S::CjkSansBold,
            (F::Cjk, W::SansRegular) => S::CjkSansRegular,
            (F::Cjk, W::SerifBold) => S::CjkSerifBold,
            (F::Arabic, W::SansBold) => S::ArabicSansBold,
            (F::Arabic, W::SansRegular) => S::ArabicSansRegular,
            (F::Arabic, W::SerifBold) => S::ArabicNaskhBold,
            (F::Hebrew, W::SansBold) => S::HebrewSansBold,
            (F::Hebrew, W::SansRegular) => S::HebrewSansRegular,
            (F::Hebrew, W::SerifBold) => S::HebrewSerifBold,
            (F::Devanagari, W::SansBold) => S::DevanagariSansBold,
            (F::Devanagari, W::SansRegular) => S::DevanagariSansRegular,
            (F::Devanagari, W::SerifBold) => S::DevanagariSerifBold,
            (F::Thai, W::SansBold) => S::ThaiSansBold,
            (F::Thai, W::SansRegular) => S::ThaiSansRegular,
            (F::Thai, W::SerifBold) => S::ThaiSerifBold,
        }
    }
}

/// A concrete font: an embedded face or a script font from the fonts directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Font {
    Embedded(Face),
    File(ScriptFont),
}

static DIR: OnceLock<PathBuf> = OnceLock::new();

/// Tells the renderer where the script fonts are (`Config::fonts_dir`). The first call wins;
/// until one is made only the embedded faces are used.
pub fn use_fonts_dir(dir: impl Into<PathBuf>) {
    let _ = DIR.set(dir.into());
}

/// One parsed font.
struct Loaded {
    face: rustybuzz::Face<'static>,
    upem: f32,
}

impl Loaded {
    fn parse(bytes: &'static [u8]) -> Option<Loaded> {
        let face = rustybuzz::Face::from_slice(bytes, 0)?;
        let upem = face.units_per_em() as f32;
        Some(Loaded { face, upem })
    }

    fn glyph(&self, c: char) -> Option<u16> {
        self.face.glyph_index(c).map(|g| g.0).filter(|g| *g != 0)
    }
}

fn embedded(face: Face) -> &'static Loaded {
    static FACES: OnceLock<[Loaded; 4]> = OnceLock::new();
    // The bytes are compiled in and verified by the tests, so a parse failure is a build
    // defect rather than a runtime condition.
    &FACES.get_or_init(|| Face::ALL.map(|f| Loaded::parse(f.bytes()).expect("embedded font")))
        [face.index()]
}

/// The fonts directory, once one is known. Unit tests use the one `scripts/fonts.sh` builds
/// in the repository, as `cargo run` does through `.cargo/config.toml`.
fn fonts_dir() -> Option<&'static PathBuf> {
    #[cfg(test)]
    DIR.get_or_init(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../build/fonts-layer/fonts")
    });
    DIR.get()
}

/// A script font, read and parsed on first use; `None` when the directory does not have it.
fn script_font(font: ScriptFont) -> Option<&'static Loaded> {
    static FILES: [OnceLock<Option<Loaded>>; 16] = [const { OnceLock::new() }; 16];
    // Nothing is cached before the directory is known.
    let dir = fonts_dir()?;
    FILES[font.index()]
        .get_or_init(|| {
            let path = dir.join(font.file_name());
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        tracing::warn!(path = %path.display(), error = %e, "script font unreadable");
                    }
                    return None;
                }
            };
            // Parsed faces borrow their bytes for the life of the process, like the
            // embedded ones: each file is read at most once.
            let loaded = Loaded::parse(Box::leak(bytes.into_boxed_slice()));
            if loaded.is_none() {
                tracing::warn!(path = %path.display(), "script font does not parse");
            }
            loaded
        })
        .as_ref()
}

fn loaded(font: Font) -> Option<&'static Loaded> {
    match font {
        Font::Embedded(f) => Some(embedded(f)),
        Font::File(f) => script_font(f),
    }
}

/// True when `c` is invisible formatting (joiners, variation selectors, bidi marks, controls)
/// that is never counted as missing.
fn is_format(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}')
        || matches!(c, '\u{FE00}'..='\u{FE0F}')
}

/// True when `c` belongs to the character before it: combining marks, joiners, variation
/// selectors, emoji modifiers, tags and the keycap.
fn attaches(c: char) -> bool {
    c.script() == Script::Inherited
        || is_format(c)
        || matches!(c, '\u{1F3FB}'..='\u{1F3FF}' | '\u{E0020}'..='\u{E007F}' | '\u{20E3}')
}

/// Characters with emoji presentation by default (the emoji blocks of the supplementary
/// planes); others become emoji when followed by U+FE0F.
fn emoji_presentation(c: char) -> bool {
    matches!(c as u32, 0x1F000..=0x1FAFF)
}

/// Scripts whose letters connect or hang from a shared line: extra letter spacing would tear
/// them apart, so tracking is not applied to them.
fn tracks(script: Script) -> bool {
    !matches!(
        script,
        Script::Arabic | Script::Syriac | Script::Devanagari | Script::Bengali | Script::Mongolian
    )
}

/// The font that draws `c` in `face`, following the degradation rule; `context` is the
/// script family of the text around it (for punctuation and digits, which have none).
fn pick(face: Face, c: char, context: Option<Family>, emoji: bool) -> Option<(Font, u16)> {
    let try_font = |f: Font| loaded(f).and_then(|l| l.glyph(c)).map(|g| (f, g));
    if emoji && let Some(hit) = try_font(Font::File(ScriptFont::Emoji)) {
        return Some(hit);
    }
    let family = Family::of(c.script()).or(context);
    // In CJK text, punctuation and symbols come from the CJK font (full-width, centred for
    // vertical setting) even where the Latin face has a glyph; ASCII stays Latin.
    if family != Some(Family::Cjk) || c.is_ascii() {
        if let Some(hit) = try_font(Font::Embedded(face)) {
            return Some(hit);
        }
        if face != Face::Sans
            && let Some(hit) = try_font(Font::Embedded(Face::Sans))
        {
            return Some(hit);
        }
    }
    if let Some(fam) = family
        && let Some(hit) = try_font(Font::File(ScriptFont::for_family(fam, face.feel())))
    {
        return Some(hit);
    }
    // Last resorts: the CJK font carries arrows, stars and fullwidth forms; the emoji font
    // the pictographs in the older symbol blocks.
    try_font(Font::File(ScriptFont::for_family(Family::Cjk, face.feel())))
        .or_else(|| try_font(Font::Embedded(face)))
        .or_else(|| try_font(Font::File(ScriptFont::Emoji)))
}

/// Characters of `text` that no font can draw and that will therefore be dropped.
pub(crate) fn missing_chars(text: &str, face: Face) -> Vec<char> {
    let mut out = Vec::new();
    let mut context = None;
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if let Some(f) = Family::of(c.script()) {
            context = Some(f);
        }
        if c.is_whitespace() || attaches(c) {
            continue;
        }
        let emoji = emoji_presentation(c) || chars.get(i + 1) == Some(&'\u{FE0F}');
        if pick(face, c, context, emoji).is_none() && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// True when `face` (or a font it falls back to) can draw `c`.
pub(crate) fn has_char(face: Face, c: char) -> bool {
    pick(face, c, None, false).is_some()
}

/// The Japanese, Chinese or Korean language tag for CJK text, from its characters: kana mean
/// Japanese, hangul Korean, ideographs alone Chinese (Simplified). The CJK fonts use it through
/// `locl` to draw each language's own forms of the shared ideographs.
pub(crate) fn cjk_language(text: &str) -> Option<&'static str> {
    let mut han = false;
    for c in text.chars() {
        match c.script() {
            Script::Hiragana | Script::Katakana => return Some("ja"),
            Script::Hangul => return Some("ko"),
            Script::Han => han = true,
            _ => {}
        }
    }
    han.then_some("zh-Hans")
}

/// True when `text` has ideographs, kana or hangul: the text a vertical title can set.
pub(crate) fn is_cjk(text: &str) -> bool {
    text.chars().any(is_cjk_char)
}

/// True for an ideograph, kana or hangul.
pub(crate) fn is_cjk_char(c: char) -> bool {
    Family::of(c.script()) == Some(Family::Cjk)
}

/// True when `text`'s first strong character is right-to-left (the bidi algorithm's P2/P3).
pub(crate) fn is_rtl(text: &str) -> bool {
    BidiInfo::new(text, None)
        .paragraphs
        .first()
        .is_some_and(|p| p.level.is_rtl())
}

/// An axis-aligned box, y growing downwards, relative to a baseline origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bounds {
    pub(crate) x0: f32,
    pub(crate) y0: f32,
    pub(crate) x1: f32,
    pub(crate) y1: f32,
}

impl Bounds {
    pub(crate) fn union(self, o: Bounds) -> Bounds {
        Bounds {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
        }
    }

    pub(crate) fn offset(self, dx: f32) -> Bounds {
        self.shift(dx, 0.0)
    }

    pub(crate) fn shift(self, dx: f32, dy: f32) -> Bounds {
        Bounds {
            x0: self.x0 + dx,
            x1: self.x1 + dx,
            y0: self.y0 + dy,
            y1: self.y1 + dy,
        }
    }

    pub(crate) fn scale(self, s: f32) -> Bounds {
        Bounds {
            x0: self.x0 * s,
            y0: self.y0 * s,
            x1: self.x1 * s,
            y1: self.y1 * s,
        }
    }
}

/// A glyph placed along a run, in ems of the run's size: its origin (x right, y down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Glyph {
    pub font: Font,
    pub id: u16,
    pub x: f32,
    pub y: f32,
}

/// Text shaped at one em: glyphs in visual order, the pen advance (along x, or down the
/// column for vertical text), the ink bounds (`None` when nothing drawable is left) and the
/// lowest bidi level in it (odd: the text reads right to left).
#[derive(Debug, Clone, PartialEq)]
pub struct Shaped {
    pub glyphs: Vec<Glyph>,
    pub(crate) advance: f32,
    pub(crate) ink: Option<Bounds>,
    pub(crate) level: u8,
}

/// How text is set: its face, letter spacing, direction and language.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setting {
    pub(crate) face: Face,
    /// Extra space between letters, in ems (not applied to joining scripts).
    pub(crate) tracking: f32,
    /// The paragraph reads right to left (bidi base level 1).
    pub(crate) rtl: bool,
    /// Top to bottom, as a vertical title's column.
    pub(crate) vertical: bool,
    /// A BCP 47 tag for CJK regional forms (see [`cjk_language`]).
    pub(crate) lang: Option<&'static str>,
}

impl Setting {
    pub fn new(face: Face, tracking: f32) -> Setting {
        Setting {
            face,
            tracking,
            rtl: false,
            vertical: false,
            lang: None,
        }
    }
}

/// A stretch of text in one font at one bidi level.
struct Run {
    start: usize,
    end: usize,
    font: Font,
    level: u8,
}

/// Splits `text` into runs of one font and one level. Marks, joiners and modifiers stay with
/// the character they belong to; characters no font has are left out.
fn itemize(text: &str, face: Face, levels: Option<&[Level]>) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    // Script context for neutrals (digits, punctuation): the family of the nearest preceding
    // letter, or failing that the first following one.
    let mut context = text.chars().find_map(|c| Family::of(c.script()));
    let mut after_joiner = false;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let next = iter.peek().map(|&(_, n)| n);
        let level = levels.map_or(0, |l| l[i].number());
        let end = i + c.len_utf8();
        if let Some(f) = Family::of(c.script()) {
            context = Some(f);
        }
        let joined = after_joiner || attaches(c);
        after_joiner = c == '\u{200D}';
        if joined {
            match runs.last_mut() {
                Some(last) if last.end == i && last.level == level => last.end = end,
                Some(last) if last.end == i => {
                    let font = last.font;
                    runs.push(Run {
                        start: i,
                        end,
                        font,
                        level,
                    });
                }
                // A mark with nothing to sit on is dropped with the character it lost.
                _ => {}
            }
            continue;
        }
        let emoji = emoji_presentation(c) || next == Some('\u{FE0F}');
        let Some((font, _)) = pick(face, c, context, emoji) else {
            continue;
        };
        match runs.last_mut() {
            Some(last) if last.end == i && last.font == font && last.level == level => {
                last.end = end;
            }
            _ => runs.push(Run {
                start: i,
                end,
                font,
                level,
            }),
        }
    }
    runs
}

/// The visual order of items with bidi `levels` (rule L2: from the highest level down to the
/// lowest odd one, reverse every maximal sequence at that level or above).
pub(crate) fn visual_order(levels: &[u8]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..levels.len()).collect();
    let Some(&max) = levels.iter().max() else {
        return order;
    };
    let min_odd = levels
        .iter()
        .copied()
        .filter(|l| l % 2 == 1)
        .min()
        .unwrap_or(max + 1);
    let mut level = max;
    while level >= min_odd && level > 0 {
        let mut i = 0;
        while i < order.len() {
            if levels[order[i]] >= level {
                let start = i;
                while i < order.len() && levels[order[i]] >= level {
                    i += 1;
                }
                order[start..i].reverse();
            } else {
                i += 1;
            }
        }
        level -= 1;
    }
    order
}

/// Shapes `text` at one em.
pub fn shape(text: &str, setting: Setting) -> Shaped {
    let bidi;
    let levels = if setting.vertical || (!setting.rtl && !text.chars().any(is_strong_rtl)) {
        None
    } else {
        let base = if setting.rtl {
            Level::rtl()
        } else {
            Level::ltr()
        };
        bidi = BidiInfo::new(text, Some(base));
        Some(bidi.levels.as_slice())
    };
    let runs = itemize(text, setting.face, levels);
    let order = visual_order(&runs.iter().map(|r| r.level).collect::<Vec<_>>());
    let mut glyphs = Vec::new();
    let mut ink: Option<Bounds> = None;
    let (mut pen_x, mut pen_y) = (0.0_f32, 0.0_f32);
    let last_run = order.last().copied();
    for &ri in &order {
        let run = &runs[ri];
        let Some(l) = loaded(run.font) else { continue };
        let mut buffer = UnicodeBuffer::new();
        buffer.push_str(&text[run.start..run.end]);
        buffer.set_direction(if setting.vertical {
            Direction::TopToBottom
        } else if run.level % 2 == 1 {
            Direction::RightToLeft
        } else {
            Direction::LeftToRight
        });
        buffer.guess_segment_properties();
        if matches!(run.font, Font::File(_))
            && let Some(lang) = setting.lang.and_then(|t| t.parse::<Language>().ok())
        {
            buffer.set_language(lang);
        }
        let script = text[run.start..run.end]
            .chars()
            .map(|c| c.script())
            .find(|s| !matches!(s, Script::Common | Script::Inherited))
            .unwrap_or(Script::Latin);
        let track = if tracks(script) {
            setting.tracking
        } else {
            0.0
        };
        let out = rustybuzz::shape(&l.face, &[], buffer);
        let (infos, positions) = (out.glyph_infos(), out.glyph_positions());
        let s = 1.0 / l.upem;
        for (k, (info, pos)) in infos.iter().zip(positions).enumerate() {
            let id = info.glyph_id as u16;
            let x = pen_x + pos.x_offset as f32 * s;
            let y = if setting.vertical {
                pen_y - pos.y_offset as f32 * s
            } else {
                -pos.y_offset as f32 * s
            };
            if id != 0 {
                if let Some(b) = glyph_ink(run.font, id) {
                    let b = b.shift(x, y);
                    ink = Some(ink.map_or(b, |i| i.union(b)));
                }
                glyphs.push(Glyph {
                    font: run.font,
                    id,
                    x,
                    y,
                });
            }
            pen_x += pos.x_advance as f32 * s;
            pen_y -= pos.y_advance as f32 * s;
            let cluster_ends = infos.get(k + 1).is_none_or(|n| n.cluster != info.cluster);
            let text_ends = k + 1 == infos.len() && Some(ri) == last_run;
            if cluster_ends && !text_ends {
                if setting.vertical {
                    pen_y += track;
                } else {
                    pen_x += track;
                }
            }
        }
    }
    let level = runs.iter().map(|r| r.level).min().unwrap_or(0);
    Shaped {
        glyphs,
        advance: if setting.vertical { pen_y } else { pen_x }.max(0.0),
        ink,
        level: if runs.is_empty() && setting.rtl {
            1
        } else {
            level
        },
    }
}

/// Right-to-left letters: the ones that can make a left-to-right paragraph need the bidi
/// algorithm at all.
fn is_strong_rtl(c: char) -> bool {
    matches!(
        c as u32,
        0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF
    ) || matches!(c, '\u{200F}' | '\u{202B}' | '\u{202E}' | '\u{2067}')
}

/// The ink box of one glyph at one em, or `None` for glyphs without an outline (spaces).
/// Colour emoji have no outline: their box is their bitmap's.
fn glyph_ink(font: Font, id: u16) -> Option<Bounds> {
    let l = loaded(font)?;
    let s = 1.0 / l.upem;
    if let Some(r) = l.face.glyph_bounding_box(ttf_parser::GlyphId(id)) {
        return Some(Bounds {
            x0: f32::from(r.x_min) * s,
            y0: -f32::from(r.y_max) * s,
            x1: f32::from(r.x_max) * s,
            y1: -f32::from(r.y_min) * s,
        });
    }
    raster(font, id).map(|r| r.bounds)
}

/// A colour bitmap glyph (Noto Color Emoji's PNG strikes) and where it sits at one em.
pub(crate) struct Raster {
    pub(crate) png: &'static [u8],
    pub(crate) bounds: Bounds,
}

/// The largest bitmap strike of glyph `id`, if `font` draws it as a picture.
pub(crate) fn raster(font: Font, id: u16) -> Option<Raster> {
    let l = loaded(font)?;
    let img = l
        .face
        .glyph_raster_image(ttf_parser::GlyphId(id), u16::MAX)?;
    if img.format != ttf_parser::RasterImageFormat::PNG || img.pixels_per_em == 0 {
        return None;
    }
    let ppem = f32::from(img.pixels_per_em);
    // The strike's box scales to the em the way the font's advances do.
    let k = 1.0 / ppem;
    let (x, y, w, h) = (
        f32::from(img.x),
        f32::from(img.y),
        f32::from(img.width),
        f32::from(img.height),
    );
    Some(Raster {
        png: img.data,
        bounds: Bounds {
            x0: x * k,
            y0: -(y + h) * k,
            x1: (x + w) * k,
            y1: -y * k,
        },
    })
}

/// The width of a space in `face`, in ems.
pub(crate) fn space_width(face: Face) -> f32 {
    let l = embedded(face);
    l.face
        .glyph_index(' ')
        .and_then(|g| l.face.glyph_hor_advance(g))
        .map_or(0.25, |a| f32::from(a) / l.upem)
}

struct PathSink<'a> {
    pb: &'a mut tiny_skia::PathBuilder,
    x: f32,
    y: f32,
    s: f32,
}

impl ttf_parser::OutlineBuilder for PathSink<'_> {
    fn move_to(&mut self, x: f32, y: f32) {
        self.pb.move_to(self.x + x * self.s, self.y - y * self.s);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.pb.line_to(self.x + x * self.s, self.y - y * self.s);
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        self.pb.quad_to(
            self.x + x1 * self.s,
            self.y - y1 * self.s,
            self.x + x * self.s,
            self.y - y * self.s,
        );
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.pb.cubic_to(
            self.x + x1 * self.s,
            self.y - y1 * self.s,
            self.x + x2 * self.s,
            self.y - y2 * self.s,
            self.x + x * self.s,
            self.y - y * self.s,
        );
    }
    fn close(&mut self) {
        self.pb.close();
    }
}

/// Appends the outline of glyph `id` of `font` at `size` px with its origin at (`x`,
/// `baseline`). Bitmap glyphs have no outline and append nothing (see [`raster`]).
pub fn append_outline(
    pb: &mut tiny_skia::PathBuilder,
    font: Font,
    id: u16,
    x: f32,
    baseline: f32,
    size: f32,
) {
    let Some(l) = loaded(font) else { return };
    let mut sink = PathSink {
        pb,
        x,
        y: baseline,
        s: size / l.upem,
    };
    let _ = l.face.outline_glyph(ttf_parser::GlyphId(id), &mut sink);
}

/// Test support: fails clearly when the script fonts `scripts/fonts.sh` builds are absent.
#[cfg(test)]
pub(crate) fn use_test_fonts() {
    let missing: Vec<&str> = ScriptFont::ALL
        .iter()
        .filter(|f| script_font(**f).is_none())
        .map(|f| f.file_name())
        .collect();
    assert!(
        missing.is_empty(),
        "script fonts missing from {:?}: {missing:?}; run scripts/fonts.sh",
        fonts_dir()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(s: &Shaped) -> Vec<u16> {
        s.glyphs.iter().map(|g| g.id).collect()
    }

    #[test]
    fn every_face_loads_and_draws_latin() {
        for f in Face::ALL {
            let s = shape("Hello", Setting::new(f, 0.0));
            assert_eq!(s.glyphs.len(), 5, "{f:?}");
            assert!(
                s.glyphs.iter().all(|g| g.font == Font::Embedded(f)),
                "{f:?} has its own Latin"
            );
            assert!(s.advance > 1.0 && s.ink.is_some());
        }
    }

    #[test]
    fn accented_latin_is_drawn_by_every_face() {
        for f in Face::ALL {
            assert!(
                missing_chars("ÉLÉGANCE ÇA ÑANDÚ ÅNGSTRÖM ŁÓDŹ Être café", f).is_empty(),
                "{f:?}"
            );
        }
    }

    #[test]
    fn kerning_tightens_classic_pairs() {
        // "AV" is kerned in every serious face; without kerning the pair advance would equal
        // the sum of the two advances.
        for f in [Face::Display, Face::Slab, Face::Sans] {
            let one = |t: &str| shape(t, Setting::new(f, 0.0)).advance;
            let (pair, apart) = (one("AV"), one("A") + one("V"));
            assert!(pair < apart - 0.005, "{f:?}: {pair} vs {apart}");
        }
    }

    #[test]
    fn tracking_spaces_letters_but_not_the_end() {
        let plain = shape("TOKYO", Setting::new(Face::Display, 0.0)).advance;
        let tracked = shape("TOKYO", Setting::new(Face::Display, 0.1)).advance;
        assert!((tracked - plain - 0.4).abs() < 1e-4, "{plain} {tracked}");
    }

    #[test]
    fn visual_order_follows_rule_l2() {
        // An RTL paragraph holding a Latin word and digits: [R R L L R] → the L pair keeps
        // its order inside the reversed line.
        assert_eq!(visual_order(&[1, 1, 2, 2, 1]), vec![4, 2, 3, 1, 0]);
        assert_eq!(visual_order(&[0, 0, 0]), vec![0, 1, 2]);
        assert_eq!(visual_order(&[0, 1, 1, 0]), vec![0, 2, 1, 3]);
        assert!(visual_order(&[]).is_empty());
    }

    #[test]
    fn without_the_fonts_directory_other_scripts_are_reported_not_drawn_as_tofu() {
        // Glyphs come only from fonts that have the character: never id 0.
        let s = shape("東京🎬X", Setting::new(Face::Display, 0.0));
        assert!(s.glyphs.iter().all(|g| g.id != 0));
        // Joiners and variation selectors are formatting, not missing text.
        assert!(missing_chars("a\u{200D}b\u{FE0F}", Face::Sans).is_empty());
        // Greek is not in Bebas Neue but is in Lato, so it falls back rather than vanishing.
        let s = shape("ΑΘΗΝΑ", Setting::new(Face::Display, 0.0));
        assert_eq!(s.glyphs.len(), 5);
        assert!(
            s.glyphs
                .iter()
                .all(|g| g.font == Font::Embedded(Face::Sans))
        );
    }

    #[test]
    fn the_language_of_cjk_text_comes_from_its_characters() {
        assert_eq!(cjk_language("東京の夜"), Some("ja"));
        assert_eq!(cjk_language("서울의 밤"), Some("ko"));
        assert_eq!(cjk_language("上海之夜"), Some("zh-Hans"));
        assert_eq!(cjk_language("Paris"), None);
        assert!(is_rtl("قافلة الصحراء 2024") && is_rtl("שלום world"));
        assert!(!is_rtl("2024 Paris قافلة"));
    }

    // With the script fonts (scripts/fonts.sh): the structure of shaped text.

    /// Arabic letters take contextual forms: the same letter shaped alone and inside a word
    /// gives different glyphs, and the word's glyphs run right to left (the first letter's
    /// glyph is the rightmost).
    #[test]
    fn arabic_letters_join_and_run_right_to_left() {
        use_test_fonts();
        let setting = Setting {
            rtl: true,
            ..Setting::new(Face::Display, 0.0)
        };
        let alone = shape("ب", setting);
        let word = shape("ببب", setting);
        assert_eq!(word.glyphs.len(), 3);
        assert!(word.glyphs.iter().all(|g| g.id != 0));
        let forms = ids(&word);
        // Initial, medial and final forms all differ from each other and from the isolated.
        let (fin, med, init) = (forms[0], forms[1], forms[2]);
        assert!(
            init != med && med != fin && init != fin && !forms.contains(&alone.glyphs[0].id),
            "{forms:?} vs {:?}",
            ids(&alone)
        );
        assert!(
            word.glyphs[0].x < word.glyphs[2].x,
            "visual order is left to right"
        );
        assert_eq!(word.level, 1);
        assert!(matches!(
            word.glyphs[0].font,
            Font::File(ScriptFont::ArabicSansBold)
        ));
    }

    /// A Latin word and digits inside an Arabic title keep their own left-to-right order.
    #[test]
    fn mixed_direction_text_keeps_each_run_in_its_order() {
        use_test_fonts();
        let setting = Setting {
            rtl: true,
            ..Setting::new(Face::Sans, 0.0)
        };
        let s = shape("قافلة2024", setting);
        let digits: Vec<&Glyph> = s
            .glyphs
            .iter()
            .filter(|g| g.font == Font::Embedded(Face::Sans))
            .collect();
        let arabic_min_x = s
            .glyphs
            .iter()
            .filter(|g| g.font != Font::Embedded(Face::Sans))
            .map(|g| g.x)
            .fold(f32::MAX, f32::min);
        assert_eq!(digits.len(), 4);
        // Digits read 2-0-2-4 left to right, and sit left of the Arabic (they come after it
        // in reading order, which runs right to left).
        assert!(digits.windows(2).all(|w| w[0].x < w[1].x));
        assert!(digits[3].x < arabic_min_x);
    }

    #[test]
    fn devanagari_and_thai_clusters_form() {
        use_test_fonts();
        // क + ् + ष = क्ष: the conjunct is one glyph where the three characters were three.
        let s = shape("क्ष", Setting::new(Face::Display, 0.0));
        assert!(s.glyphs.len() < 3 && !s.glyphs.is_empty(), "{:?}", ids(&s));
        // The reordering vowel sign ि is drawn before (left of) the consonant it follows.
        let s = shape("कि", Setting::new(Face::Display, 0.0));
        let k = shape("क", Setting::new(Face::Display, 0.0)).glyphs[0].id;
        assert_eq!(s.glyphs.len(), 2);
        assert_ne!(s.glyphs[0].id, k, "the vowel sign comes first visually");
        // Thai: a tone mark stacks on its consonant without advancing the pen.
        let base = shape("ก", Setting::new(Face::Sans, 0.0)).advance;
        let marked = shape("ก่", Setting::new(Face::Sans, 0.0));
        assert_eq!(marked.glyphs.len(), 2);
        assert!((marked.advance - base).abs() < 1e-4);
        assert!(marked.glyphs.iter().all(|g| g.id != 0));
    }

    #[test]
    fn cjk_uses_regional_forms_and_vertical_alternates() {
        use_test_fonts();
        let ja = Setting {
            lang: Some("ja"),
            ..Setting::new(Face::Display, 0.0)
        };
        let zh = Setting {
            lang: Some("zh-Hans"),
            ..ja
        };
        // 骨 differs between Japanese and Simplified Chinese forms (Noto CJK's `locl`).
        assert_ne!(ids(&shape("骨", ja)), ids(&shape("骨", zh)));
        // The long-vowel mark and the ideographic full stop turn for vertical setting (`vert`).
        let vertical = Setting {
            vertical: true,
            ..ja
        };
        for c in ["ー", "。", "「"] {
            assert_ne!(ids(&shape(c, ja)), ids(&shape(c, vertical)), "{c}");
        }
        // A vertical run advances down, one em per ideograph, glyphs centred on the column.
        let v = shape("東京", vertical);
        assert!((v.advance - 2.0).abs() < 0.01, "{}", v.advance);
        let ink = v.ink.expect("ink");
        assert!(
            ink.x0 < 0.0 && ink.x1 > 0.0 && (ink.x0 + ink.x1).abs() < 0.1,
            "{ink:?}"
        );
        assert!(ink.y0 >= -0.01 && ink.y1 <= 2.01, "{ink:?}");
    }

    #[test]
    fn emoji_come_from_the_colour_font_as_bitmaps() {
        use_test_fonts();
        let s = shape("🚀 GO", Setting::new(Face::Display, 0.0));
        let rocket = s.glyphs[0];
        assert_eq!(rocket.font, Font::File(ScriptFont::Emoji));
        let r = raster(rocket.font, rocket.id).expect("a PNG strike");
        assert!(r.png.starts_with(b"\x89PNG"));
        assert!(r.bounds.x1 > r.bounds.x0 && r.bounds.y1 > r.bounds.y0);
        // A ZWJ sequence and a flag each shape to a single picture.
        let family = shape("👩\u{200D}🚀", Setting::new(Face::Display, 0.0));
        assert_eq!(family.glyphs.len(), 1, "{:?}", ids(&family));
        let flag = shape("🇯🇵", Setting::new(Face::Display, 0.0));
        assert_eq!(flag.glyphs.len(), 1, "{:?}", ids(&flag));
        assert!(missing_chars("🚀 Launch Day ❤️", Face::Display).is_empty());
    }

    #[test]
    fn every_script_of_the_gallery_has_a_font_in_every_face() {
        use_test_fonts();
        for text in [
            "東京の夜",
            "上海之夜",
            "서울의 밤",
            "قافلة الصحراء",
            "שיירת המדבר",
            "रेगिस्तान का कारवां",
            "กองคาราวานทะเลทราย",
            "Караван пустыни",
            "Το καραβάνι της ερήμου",
            "🚀🎬❤️",
        ] {
            for f in Face::ALL {
                assert!(missing_chars(text, f).is_empty(), "{f:?} {text}");
                let s = shape(text, Setting::new(f, 0.0));
                assert!(!s.glyphs.is_empty() && s.glyphs.iter().all(|g| g.id != 0));
            }
        }
    }
}
