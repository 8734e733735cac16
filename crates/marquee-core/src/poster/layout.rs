//! Typographic layout: where every line of the title, tagline and billing block goes.
//!
//! Layout is pure geometry. It sizes each block to the largest type that fits its zone,
//! breaks lines for balance (minimising the longest line, never leaving one word alone on the
//! last line when that can be avoided), shrinks to a minimum size and then ellipsizes, and
//! returns one [`TextBox`] per line with its ink bounds in canvas pixels. The guarantees the
//! tests hold it to: every box lies inside the safe area and no two boxes overlap.
//!
//! This module knows nothing of pixels or colours; drawing is `poster::draw`'s job.

use super::fonts::{self, Face, Font, Setting, Shaped};
#[cfg(test)]
use super::{PosterText, Typography};
#[cfg(test)]
use crate::genre::{Placement, Style};
use breaking::{balanced_breaks, credit_starts, greedy_ellipsized, segments, split_lines};
use vertical::{Columns, fit_vertical, place_vertical};

mod breaking;
mod vertical;
mod zones;
pub(crate) use zones::Align;
#[cfg(test)]
pub(crate) use zones::layout;
pub use zones::{Arrangement, TaglineAt};
pub(crate) use zones::{Frame, Prepared};

/// A rectangle in canvas pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub(crate) x: f32,
    pub(crate) y: f32,
    pub(crate) w: f32,
    pub(crate) h: f32,
}

impl Rect {
    pub(crate) fn right(&self) -> f32 {
        self.x + self.w
    }

    pub(crate) fn bottom(&self) -> f32 {
        self.y + self.h
    }

    /// True when `o` lies entirely inside `self`.
    #[cfg(test)]
    fn contains(&self, o: &Rect) -> bool {
        o.x >= self.x && o.y >= self.y && o.right() <= self.right() && o.bottom() <= self.bottom()
    }

    /// True when the interiors of the two rectangles share any area.
    #[cfg(test)]
    fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.right() && o.x < self.right() && self.y < o.bottom() && o.y < self.bottom()
    }

    /// Grows the rectangle by `d` on every side.
    pub(crate) fn inflate(&self, d: f32) -> Rect {
        Rect {
            x: self.x - d,
            y: self.y - d,
            w: self.w + 2.0 * d,
            h: self.h + 2.0 * d,
        }
    }

    fn union(&self, o: &Rect) -> Rect {
        let x = self.x.min(o.x);
        let y = self.y.min(o.y);
        Rect {
            x,
            y,
            w: self.right().max(o.right()) - x,
            h: self.bottom().max(o.bottom()) - y,
        }
    }
}

/// Which block a line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Role {
    Title,
    Tagline,
    Credits,
}

/// A glyph ready to draw, in canvas pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PlacedGlyph {
    pub(crate) font: Font,
    pub(crate) id: u16,
    pub(crate) x: f32,
    pub(crate) baseline: f32,
    pub(crate) size: f32,
}

/// One laid-out line of text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextBox {
    pub(crate) role: Role,
    /// The ink bounds of the line: every pixel the glyphs touch lies inside.
    pub(crate) rect: Rect,
    /// The line's text as set (after casing, ellipsis and dropped glyphs).
    text: String,
    /// The block's type size in pixels (small words in credits are set smaller).
    pub(crate) size: f32,
    pub(crate) glyphs: Vec<PlacedGlyph>,
}

/// The laid-out poster text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    safe: Rect,
    /// The side-set column of the title (and a tagline beside it), flush left or right; `None`
    /// when every block is centred across the sheet (the billing block always is).
    pub(crate) side: Option<(Align, Rect)>,
    pub(crate) boxes: Vec<TextBox>,
}

impl Layout {
    /// The same layout moved by (`dx`, `dy`): for setting type for a trim box that sits inside
    /// a larger canvas (the bleed of a print).
    pub(crate) fn translate(mut self, dx: f32, dy: f32) -> Layout {
        self.safe.x += dx;
        self.safe.y += dy;
        if let Some((_, c)) = &mut self.side {
            c.x += dx;
            c.y += dy;
        }
        for b in &mut self.boxes {
            b.rect.x += dx;
            b.rect.y += dy;
            for g in &mut b.glyphs {
                g.x += dx;
                g.baseline += dy;
            }
        }
        self
    }

    /// The side and column of `role`'s block when it is side-set (every line inside the
    /// column), `None` when it stands across the sheet.
    pub(crate) fn side_of(&self, role: Role) -> Option<(Align, Rect)> {
        let (align, column) = self.side?;
        let r = self.block(role)?;
        (r.x >= column.x - 0.5 && r.right() <= column.right() + 0.5).then_some((align, column))
    }

    /// The union of the boxes of one block, if it has any.
    pub(crate) fn block(&self, role: Role) -> Option<Rect> {
        self.boxes
            .iter()
            .filter(|b| b.role == role)
            .map(|b| b.rect)
            .reduce(|a, b| a.union(&b))
    }
}

/// How one block is set.
#[derive(Clone, Copy)]
struct Spec {
    role: Role,
    face: Face,
    upper: bool,
    tracking: f32,
    max_lines: usize,
    max_size: f32,
    min_size: f32,
    /// Baseline-to-baseline distance in ems, before any increase needed to avoid collisions.
    leading: f32,
    /// Set billing-block function words ("directed by", "a film") smaller than names.
    billing: bool,
}

impl Spec {
    /// How `text` is shaped in this block: its direction and CJK language come from the text.
    fn setting(&self, text: &str) -> Setting {
        Setting {
            rtl: fonts::is_rtl(text),
            lang: fonts::cjk_language(text),
            ..Setting::new(self.face, self.tracking)
        }
    }
}

/// Words that a billing block sets small, so the names stand out.
const BILLING_SMALL: &[&str] = &[
    "a",
    "an",
    "the",
    "by",
    "and",
    "&",
    "of",
    "in",
    "with",
    "from",
    "as",
    "also",
    "film",
    "picture",
    "pictures",
    "presents",
    "presentation",
    "production",
    "productions",
    "directed",
    "director",
    "written",
    "writer",
    "produced",
    "producer",
    "producers",
    "executive",
    "associate",
    "starring",
    "co-starring",
    "featuring",
    "introducing",
    "music",
    "score",
    "screenplay",
    "story",
    "based",
    "on",
    "novel",
    "edited",
    "editor",
    "photography",
    "cinematography",
    "design",
    "designer",
    "costume",
    "costumes",
    "casting",
    "for",
];

const SMALL_SCALE: f32 = 0.62;
/// Extra clearance between lines, in ems, on top of touching ink.
const LINE_CLEARANCE: f32 = 0.06;
/// More words than this are cut before layout: no poster block holds more, and it bounds the
/// cost of line breaking.
const MAX_WORDS: usize = 60;

#[derive(Debug, Clone)]
struct Word {
    text: String,
    shaped: Shaped,
    scale: f32,
    /// White space follows the word in the text: lines join it to the next with a space.
    gap: bool,
    /// The line may start here only as a last resort: between two Thai, Lao, Khmer or Myanmar
    /// words, or between two characters of one CJK script.
    weak: bool,
}

impl Word {
    fn new(text: String, setting: Setting, scale: f32) -> Option<Word> {
        let shaped = fonts::shape(&text, setting);
        shaped.ink?;
        Some(Word {
            text,
            shaped,
            scale,
            gap: false,
            weak: false,
        })
    }

    /// Right to left (an odd bidi level).
    fn rtl(&self) -> bool {
        self.shaped.level % 2 == 1
    }
}

fn words_of(text: &str, spec: &Spec, setting: Setting) -> Vec<Word> {
    let cased = if spec.upper {
        super::case::upper(text)
    } else {
        text.to_string()
    };
    let mut out: Vec<Word> = Vec::new();
    for (piece, gap, weak) in segments(&cased) {
        if out.len() >= MAX_WORDS {
            break;
        }
        let small = spec.billing
            && BILLING_SMALL.contains(
                &piece
                    .to_lowercase()
                    .trim_matches(|c: char| !c.is_alphanumeric() && c != '&'),
            );
        match Word::new(
            piece.to_string(),
            setting,
            if small { SMALL_SCALE } else { 1.0 },
        ) {
            Some(mut w) => {
                w.gap = gap;
                w.weak = weak;
                out.push(w);
            }
            // Nothing drawable (every character missing): keep the space it stood for.
            None => {
                if let Some(last) = out.last_mut() {
                    last.gap |= gap;
                }
            }
        }
    }
    out
}

/// Metrics of one line at a block size of one em.
#[derive(Debug, Clone, Copy)]
struct LineMetrics {
    x0: f32,
    x1: f32,
    top: f32,
    bottom: f32,
}

impl LineMetrics {
    fn width(&self) -> f32 {
        self.x1 - self.x0
    }
}

/// Where each word of a line goes: its index and pen position at one em, in visual order.
/// Words are reordered by their bidi levels (rule L2); the space after a word sits on its
/// trailing side, which is the left for right-to-left words.
fn pens(words: &[Word], space: f32) -> Vec<(usize, f32)> {
    let levels: Vec<u8> = words.iter().map(|w| w.shaped.level).collect();
    let last = words.len().saturating_sub(1);
    let mut pen = 0.0;
    fonts::visual_order(&levels)
        .into_iter()
        .map(|k| {
            let w = &words[k];
            let gap = if w.gap && k != last { space } else { 0.0 };
            if w.rtl() {
                pen += gap;
            }
            let at = pen;
            pen += w.shaped.advance * w.scale;
            if !w.rtl() {
                pen += gap;
            }
            (k, at)
        })
        .collect()
}

fn line_metrics(words: &[Word], space: f32) -> LineMetrics {
    let mut m = LineMetrics {
        x0: f32::MAX,
        x1: f32::MIN,
        top: 0.0,
        bottom: 0.0,
    };
    for (k, pen) in pens(words, space) {
        let w = &words[k];
        if let Some(ink) = w.shaped.ink {
            let b = ink.scale(w.scale).offset(pen);
            m.x0 = m.x0.min(b.x0);
            m.x1 = m.x1.max(b.x1);
            m.top = m.top.min(b.y0);
            m.bottom = m.bottom.max(b.y1);
        }
    }
    if m.x0 > m.x1 {
        m.x0 = 0.0;
        m.x1 = 0.0;
    }
    m
}

/// A line's text as set, words joined as they were in the source.
fn line_text(words: &[Word]) -> String {
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        out.push_str(&w.text);
        if w.gap && i + 1 < words.len() {
            out.push(' ');
        }
    }
    out
}

/// Baseline offsets of each line from the first, and the block's ink height, at one em.
fn stack(lines: &[LineMetrics], leading: f32) -> (Vec<f32>, f32) {
    let mut baselines = Vec::with_capacity(lines.len());
    let mut y = 0.0;
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            let prev = &lines[i - 1];
            y += leading.max(prev.bottom - l.top + LINE_CLEARANCE);
        }
        baselines.push(y);
    }
    let height = match (lines.first(), lines.last()) {
        (Some(f), Some(l)) => y - f.top + l.bottom,
        _ => 0.0,
    };
    (baselines, height)
}

/// A block set at its size, positioned with its top-left ink corner at the origin.
struct Block {
    lines: Vec<(Vec<Word>, LineMetrics, f32)>,
    size: f32,
    height: f32,
    top: f32,
}

/// Fits `text` into a `max_w` × `max_h` zone as large as `spec` allows.
fn fit(text: &str, spec: &Spec, max_w: f32, max_h: f32) -> Option<Block> {
    let setting = spec.setting(text);
    let words = words_of(text, spec, setting);
    if words.is_empty() || max_w <= 0.0 || max_h <= 0.0 {
        return None;
    }
    let space = fonts::space_width(spec.face) + spec.tracking;
    let n = words.len();
    // Line widths for every word range, computed once for the line breaker.
    let mut widths = vec![vec![0.0_f32; n + 1]; n + 1];
    for (i, row) in widths.iter_mut().enumerate() {
        for j in (i + 1)..=n {
            row[j] = line_metrics(&words[i..j], space).width();
        }
    }
    let width = |i: usize, j: usize| widths[i][j];
    let size_for = |lines: &[Vec<Word>]| -> f32 {
        let metrics: Vec<LineMetrics> = lines.iter().map(|l| line_metrics(l, space)).collect();
        let w = metrics.iter().map(LineMetrics::width).fold(0.0, f32::max);
        let (_, h) = stack(&metrics, spec.leading);
        (max_w / w.max(1e-3))
            .min(max_h / h.max(1e-3))
            .min(spec.max_size)
    };

    let best_with = |may_start: &dyn Fn(usize) -> bool| {
        let mut best: Option<(Vec<Vec<Word>>, f32)> = None;
        for count in 1..=spec.max_lines.min(n) {
            let starts = balanced_breaks(&width, n, count, n >= 3 && count >= 2, may_start)
                .or_else(|| balanced_breaks(&width, n, count, false, may_start));
            let Some(starts) = starts else { continue };
            let lines = split_lines(&words, &starts);
            let s = size_for(&lines);
            // Another line must buy clearly larger type to be worth the extra break.
            if best.as_ref().is_none_or(|(_, b)| s > b * 1.12) {
                best = Some((lines, s));
            }
        }
        best
    };
    // A billing block breaks only between credits, never inside a name, and Thai breaks at
    // spaces before words; only when that cannot be set at a readable size (or, for Thai,
    // when breaks between words set it clearly larger) may a line break elsewhere.
    let strong = |j: usize| !words[j].weak && (!spec.billing || credit_starts(&words, j));
    let has_weak = words.iter().any(|w| w.weak);
    let best = match best_with(&strong) {
        Some(kept) if kept.1 >= spec.min_size && !has_weak => Some(kept),
        kept => {
            let any = best_with(&|_| true).filter(|any| any.1 >= spec.min_size);
            match (kept, any) {
                (Some(k), Some(a)) if k.1 >= spec.min_size && a.1 <= k.1 * 1.25 => Some(k),
                (kept, any) => any.or(kept),
            }
        }
    };
    let (mut lines, mut size) = best?;
    if size < spec.min_size || lines.iter().map(Vec::len).sum::<usize>() < n {
        // Too much text for the zone even at the smallest readable size: fill lines at that
        // size and cut the rest with an ellipsis.
        lines = greedy_ellipsized(&words, spec, setting, space, max_w / spec.min_size);
        if lines.is_empty() {
            return None;
        }
        size = size_for(&lines);
    }
    let metrics: Vec<LineMetrics> = lines.iter().map(|l| line_metrics(l, space)).collect();
    let (baselines, height) = stack(&metrics, spec.leading);
    let top = metrics[0].top;
    Some(Block {
        lines: lines
            .into_iter()
            .zip(metrics)
            .zip(baselines)
            .map(|((l, m), b)| (l, m, b))
            .collect(),
        size,
        height: height * size,
        top: top * size,
    })
}

/// Appends the glyphs of `w` set at `size` px with the word's origin at (`x`, `y`): its pen
/// start on the baseline across, or its column's centre line at its top down.
fn place_word(w: &Word, x: f32, y: f32, size: f32, out: &mut Vec<PlacedGlyph>) {
    let s = size * w.scale;
    out.extend(w.shaped.glyphs.iter().map(|g| PlacedGlyph {
        font: g.font,
        id: g.id,
        x: x + g.x * s,
        baseline: y + g.y * s,
        size: s,
    }));
}

/// Places `block` in the column `area` with its ink top at `y`: each line centred in it, or
/// flush with its left or right edge.
fn place(block: &Block, spec: &Spec, area: &Rect, y: f32, align: Align) -> Vec<TextBox> {
    let space = fonts::space_width(spec.face) + spec.tracking;
    let s = block.size;
    let first_baseline = y - block.top;
    block
        .lines
        .iter()
        .map(|(words, m, b)| {
            let baseline = first_baseline + b * s;
            let ink_left = match align {
                Align::Center => area.x + (area.w - m.width() * s) / 2.0,
                Align::Left => area.x,
                Align::Right => area.right() - m.width() * s,
            };
            let left = ink_left - m.x0 * s;
            let mut glyphs = Vec::new();
            for (k, pen) in pens(words, space) {
                place_word(&words[k], left + pen * s, baseline, s, &mut glyphs);
            }
            TextBox {
                role: spec.role,
                rect: Rect {
                    x: left + m.x0 * s,
                    y: baseline + m.top * s,
                    w: m.width() * s,
                    h: (m.bottom - m.top) * s,
                },
                text: line_text(words),
                size: s,
                glyphs,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(title: &str, tagline: &str, credits: &str) -> PosterText {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        PosterText {
            title: opt(title),
            tagline: opt(tagline),
            credits: opt(credits),
        }
    }

    /// A small xorshift generator so the fuzz cases are reproducible.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[(self.next() % items.len() as u64) as usize]
        }
    }

    const WORDS: &[&str] = &[
        "the",
        "last",
        "Kraken",
        "of",
        "Brooklyn",
        "Midnight",
        "ÉTÉ",
        "café",
        "Ölfjord",
        "Ñandú",
        "Supercalifragilisticexpialidocious",
        "東京",
        "物語",
        "🎬",
        "🦑🦑",
        "—",
        "a",
        "I",
        "WWWWWWWW",
        "Łódź",
        "Αθήνα",
        "Москва",
        "x",
        "in",
        "love",
        "!!!",
        "directed",
        "by",
        "Ada",
        "Lovelace",
        "قافلة",
        "الصحراء",
        "שיירה",
        "रेगिस्तान",
        "กองคาราวานทะเลทราย",
        "キャラバン",
        "「東京」。",
        "사막의",
        "1926",
        "🐪🌵",
    ];

    fn random_text(r: &mut Rng) -> PosterText {
        let mut field = |max: u64| -> String {
            let n = r.next() % (max + 1);
            (0..n).map(|_| r.pick(WORDS)).collect::<Vec<_>>().join(" ")
        };
        let title = field(14);
        let tagline = field(30);
        let credits = field(70);
        text(&title, &tagline, &credits)
    }

    fn assert_invariants(l: &Layout, what: &str) {
        for b in &l.boxes {
            assert!(
                l.safe.contains(&b.rect),
                "{what}: {:?} {:?} outside {:?}",
                b.role,
                b.rect,
                l.safe
            );
            assert!(b.rect.w > 0.0 && b.rect.h > 0.0, "{what}: empty box {b:?}");
            assert!(!b.glyphs.is_empty());
            assert!(b.glyphs.iter().all(|g| g.id != 0), "{what}: tofu drawn");
        }
        for (i, a) in l.boxes.iter().enumerate() {
            for b in &l.boxes[i + 1..] {
                assert!(
                    !a.rect.overlaps(&b.rect),
                    "{what}: {:?} '{}' overlaps {:?} '{}'",
                    a.role,
                    a.text,
                    b.role,
                    b.text
                );
            }
        }
    }

    #[test]
    fn fuzzed_text_stays_inside_the_safe_area_without_overlaps() {
        let mut r = Rng(0x9E37_79B9_7F4A_7C15);
        let sizes = [
            (1024, 1536),
            (832, 1216),
            (1536, 656),
            (656, 1536),
            (1280, 1280),
            (200, 300),
        ];
        let mut laid = 0;
        for case in 0..120 {
            let t = random_text(&mut r);
            let style = Style::ALL[case % Style::ALL.len()];
            let (w, h) = sizes[case % sizes.len()];
            let mut typography = Typography::of(style);
            if case % 3 == 0 {
                typography.placement = Placement::Vertical;
            }
            let l = layout(w, h, &t, typography);
            assert_invariants(&l, &format!("case {case} {style} {w}x{h} {t:?}"));
            laid += l.boxes.len();
        }
        assert!(laid > 200, "the fuzz cases must actually lay text out");
    }

    #[test]
    fn edge_cases_hold_the_invariants_in_every_style() {
        let long = "word ".repeat(200);
        let cases = [
            text("Jaws", "", ""),
            text("Supercalifragilisticexpialidocious", "", ""),
            text(&"W".repeat(300), &"M".repeat(300), &"Q".repeat(300)),
            text(&long, &long, &long),
            text("   ", "\t", "\n"),
            text("東京物語", "🎬🎬🎬", "監督 小津安二郎"),
            text(
                "Amélie à Paris",
                "Une comédie d'été",
                "réalisé par Zoë Ñúñez",
            ),
        ];
        for style in Style::ALL {
            for (i, t) in cases.iter().enumerate() {
                for (w, h) in [(1024, 1536), (1536, 656), (64, 64)] {
                    assert_invariants(
                        &layout(w, h, t, Typography::of(style)),
                        &format!("{style} case {i} {w}x{h}"),
                    );
                }
            }
        }
    }

    #[test]
    fn unrenderable_text_is_skipped_not_drawn_as_tofu() {
        let l = layout(
            1024,
            1536,
            // Tibetan and the private use area are in no font Marquee ships.
            &text("བོད", "\u{E000}", ""),
            Typography::of(Style::Noir),
        );
        assert!(l.boxes.is_empty());
        // Mixed text keeps what it can draw.
        let l = layout(
            1024,
            1536,
            &text("Tokyo བོད Story", "", ""),
            Typography::of(Style::Noir),
        );
        let all: String = l
            .boxes
            .iter()
            .map(|b| b.text.clone())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(all, "TOKYO STORY");
    }

    #[test]
    fn lines_are_balanced_and_avoid_orphans() {
        let l = layout(
            1024,
            1536,
            &text(
                "The Unbearable Lightness of Being Somewhere Else Tonight",
                "",
                "",
            ),
            Typography::of(Style::Thriller),
        );
        let lines: Vec<&TextBox> = l.boxes.iter().filter(|b| b.role == Role::Title).collect();
        assert!(lines.len() >= 2, "{lines:?}");
        assert!(
            lines.last().is_some_and(|b| b.text.split(' ').count() >= 2),
            "orphan: {lines:?}"
        );
        let widths: Vec<f32> = lines.iter().map(|b| b.rect.w).collect();
        let (lo, hi) = widths
            .iter()
            .fold((f32::MAX, 0.0_f32), |(a, b), w| (a.min(*w), b.max(*w)));
        assert!(lo > hi * 0.5, "unbalanced: {widths:?}");
    }

    #[test]
    fn overlong_text_is_ellipsized() {
        let l = layout(
            1024,
            1536,
            &text(&"word ".repeat(200), "", ""),
            Typography::of(Style::Thriller),
        );
        let titles: Vec<&TextBox> = l.boxes.iter().filter(|b| b.role == Role::Title).collect();
        assert_eq!(titles.len(), 3);
        assert!(titles[2].text.ends_with('…'), "{:?}", titles[2].text);
    }

    #[test]
    fn billing_words_are_set_smaller_than_names() {
        let l = layout(
            1024,
            1536,
            &text("", "", "directed by Ada Lovelace"),
            Typography::of(Style::Thriller),
        );
        let g = &l.boxes[0].glyphs;
        let sizes: Vec<f32> = g.iter().map(|g| g.size).collect();
        let max = sizes.iter().copied().fold(0.0, f32::max);
        assert!(sizes[0] < max * 0.7, "{sizes:?}");
    }

    /// "… Elliot" on one line and "Page, Tom Hardy …" on the next reads as two other people;
    /// "… music" / "by …" strands a credit. A billing block's lines end where a credit ends.
    #[test]
    fn billing_blocks_break_between_credits_never_inside_a_name() {
        let cases: [(&str, &[&str]); 2] = [
            (
                "starring Leonardo DiCaprio, Joseph Gordon-Levitt, Elliot Page, Tom Hardy, Ken \
                 Watanabe directed by Christopher Nolan",
                &[
                    "leonardo dicaprio",
                    "joseph gordon-levitt",
                    "elliot page",
                    "tom hardy",
                    "ken watanabe",
                    "directed by christopher nolan",
                ],
            ),
            (
                "directed by Jean-Pierre Jeunet written by Guillaume Laurant music by Yann \
                 Tiersen starring Audrey Tautou, Mathieu Kassovitz",
                &[
                    "directed by jean-pierre jeunet",
                    "written by guillaume laurant",
                    "music by yann tiersen",
                    "audrey tautou",
                    "mathieu kassovitz",
                ],
            ),
        ];
        let mut broken = 0;
        for (billing, credits) in cases {
            for style in Style::ALL {
                for (w, h) in [(1024, 1536), (864, 1536), (1536, 864), (768, 1344)] {
                    let l = layout(w, h, &text("Engines", "", billing), Typography::of(style));
                    let lines: Vec<String> = l
                        .boxes
                        .iter()
                        .filter(|b| b.role == Role::Credits)
                        .map(|b| b.text.to_lowercase())
                        .collect();
                    broken += usize::from(lines.len() >= 2);
                    for credit in credits {
                        assert!(
                            lines.iter().any(|l| l.contains(credit)),
                            "{style:?} {w}x{h}: {credit:?} broken across {lines:?}"
                        );
                    }
                }
            }
        }
        assert!(
            broken >= 8,
            "too few blocks needed a break to prove anything: {broken}"
        );
    }

    fn lines_of(l: &Layout, role: Role) -> Vec<&TextBox> {
        l.boxes.iter().filter(|b| b.role == role).collect()
    }

    /// An Arabic title reads right to left: its first word is set right of its second on one
    /// line, or above it on two; a Latin year in it keeps its digits in order.
    #[test]
    fn right_to_left_titles_are_set_in_visual_order() {
        fonts::use_test_fonts();
        let l = layout(
            1536,
            1024,
            &text("قافلة الصحراء", "عبر الرمال منذ 1926", ""),
            Typography::of(Style::Noir),
        );
        let title = lines_of(&l, Role::Title);
        assert_eq!(title.len(), 1, "{title:?}");
        let first = shape_of("قافلة");
        let xs: Vec<(u16, f32)> = title[0].glyphs.iter().map(|g| (g.id, g.x)).collect();
        let first_word_x = xs
            .iter()
            .filter(|(id, _)| first.contains(id))
            .map(|(_, x)| *x)
            .fold(f32::MAX, f32::min);
        let second_word_x = xs
            .iter()
            .filter(|(id, _)| !first.contains(id))
            .map(|(_, x)| *x)
            .fold(f32::MIN, f32::max);
        assert!(first_word_x > second_word_x, "{xs:?}");
        let tagline = lines_of(&l, Role::Tagline);
        let digits: Vec<f32> = tagline[0]
            .glyphs
            .iter()
            .filter(|g| g.font == Font::Embedded(Face::Sans))
            .map(|g| g.x)
            .collect();
        assert_eq!(digits.len(), 4);
        assert!(digits.windows(2).all(|w| w[0] < w[1]), "{digits:?}");
        // The year, last in reading order, is leftmost.
        assert!(tagline[0].glyphs.iter().all(|g| g.x >= digits[0]));
    }

    fn shape_of(word: &str) -> Vec<u16> {
        let setting = Setting {
            rtl: true,
            ..Setting::new(Face::Slab, 0.02)
        };
        fonts::shape(&word.to_uppercase(), setting)
            .glyphs
            .iter()
            .map(|g| g.id)
            .collect()
    }

    /// Tategaki: columns stand top to bottom inside the safe area, the first at the right,
    /// each glyph below the previous one, clear of the tagline and billing block.
    #[test]
    fn vertical_titles_stand_in_columns_from_the_right() {
        fonts::use_test_fonts();
        for style in Style::ALL {
            for (w, h) in [(1024, 1536), (1536, 1024), (832, 1216)] {
                let t = text(
                    "砂漠のキャラバン",
                    "砂の向こうへ、長い帰り道。",
                    "directed by Ada Lovelace",
                );
                let typography = Typography {
                    look: style,
                    placement: Placement::Vertical,
                    ink: None,
                };
                let l = layout(w, h, &t, typography);
                assert_invariants(&l, &format!("{style} {w}x{h}"));
                let cols = lines_of(&l, Role::Title);
                assert_eq!(cols.len(), 2, "{style} {w}x{h}: {cols:?}");
                assert_eq!(cols[0].text, "砂漠の");
                assert_eq!(cols[1].text, "キャラバン");
                assert!(cols[0].rect.x > cols[1].rect.right(), "right to left");
                for c in &cols {
                    assert!(c.rect.h > c.rect.w * 2.0, "a column is tall: {:?}", c.rect);
                    assert!(c.glyphs.windows(2).all(|g| g[1].baseline > g[0].baseline));
                }
            }
        }
        // A title with no CJK in it is set across, where the look puts it.
        let l = layout(
            1024,
            1536,
            &text("Desert Caravan", "", ""),
            Typography {
                look: Style::Noir,
                placement: Placement::Vertical,
                ink: None,
            },
        );
        let lines = lines_of(&l, Role::Title);
        assert!(!lines.is_empty());
        assert!(lines.iter().all(|b| b.rect.w > b.rect.h), "{lines:?}");
    }

    #[test]
    fn short_titles_are_set_large() {
        let l = layout(
            1024,
            1536,
            &text("Jaws", "", ""),
            Typography::of(Style::Thriller),
        );
        assert!(l.boxes[0].size > 1536.0 * 0.12);
    }
}
