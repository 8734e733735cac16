//! Embedded typefaces and the small amount of shaping a poster needs: character-to-glyph
//! mapping with a fallback face, advances, pair kerning and glyph outlines as tiny-skia paths.
//!
//! The four faces live in `assets/fonts/` beside their licences and are compiled into the
//! binary, so a poster never depends on what fonts the host happens to have. This module
//! knows nothing of posters, styles or layout: it answers "how wide is this text at one em,
//! and what does it look like", nothing more.
//!
//! Degradation rule for characters a face lacks: the primary face is tried first, then the
//! workhorse sans (Lato, which also covers Latin Extended, Greek and Cyrillic); a character
//! neither has (CJK, emoji, private use) is dropped and reported by [`missing_chars`]. A glyph
//! id of zero (`.notdef`, the "tofu" box) is therefore never drawn.

use std::sync::OnceLock;

use ab_glyph::{Font as _, FontRef, GlyphId};
use ttf_parser::gpos::{PairAdjustment, PositioningSubtable};

/// An embedded typeface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Face {
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
            Face::Display => include_bytes!("../../assets/fonts/BebasNeue-Regular.otf"),
            Face::Slab => include_bytes!("../../assets/fonts/RobotoSlab-Bold.otf"),
            Face::Script => include_bytes!("../../assets/fonts/Lobster-Regular.otf"),
            Face::Sans => include_bytes!("../../assets/fonts/Lato-Regular.ttf"),
        }
    }

    fn index(self) -> usize {
        match self {
            Face::Display => 0,
            Face::Slab => 1,
            Face::Script => 2,
            Face::Sans => 3,
        }
    }

    /// The face tried when this one lacks a character.
    fn fallback(self) -> Option<Face> {
        match self {
            Face::Sans => None,
            _ => Some(Face::Sans),
        }
    }
}

/// One parsed face: ab_glyph for mapping, advances and `kern`-table kerning, ttf-parser for
/// GPOS pair kerning (which ab_glyph does not read, and which Roboto Slab relies on alone) and
/// for outlines with explicit contours.
struct Loaded {
    font: FontRef<'static>,
    face: ttf_parser::Face<'static>,
    pairs: Vec<PairAdjustment<'static>>,
    upem: f32,
}

impl Loaded {
    fn load(face: Face) -> Loaded {
        // The bytes are compiled in and verified by the tests, so a parse failure is a build
        // defect rather than a runtime condition.
        let font = FontRef::try_from_slice(face.bytes()).expect("embedded font parses");
        let parsed = ttf_parser::Face::parse(face.bytes(), 0).expect("embedded font parses");
        let pairs = gpos_kerning(&parsed);
        let upem = f32::from(parsed.units_per_em());
        Loaded {
            font,
            face: parsed,
            pairs,
            upem,
        }
    }

    /// Kerning between two glyphs in font units: GPOS pair adjustments first, since they are
    /// what modern fonts ship, then the legacy `kern` table through ab_glyph.
    fn kern(&self, a: GlyphId, b: GlyphId) -> f32 {
        let (ta, tb) = (ttf_parser::GlyphId(a.0), ttf_parser::GlyphId(b.0));
        for sub in &self.pairs {
            let hit = match sub {
                PairAdjustment::Format1 { coverage, sets } => coverage
                    .get(ta)
                    .and_then(|i| sets.get(i))
                    .and_then(|set| set.get(tb)),
                PairAdjustment::Format2 {
                    coverage,
                    classes,
                    matrix,
                } => {
                    if coverage.contains(ta) {
                        matrix.get((classes.0.get(ta), classes.1.get(tb)))
                    } else {
                        None
                    }
                }
            };
            if let Some((first, _)) = hit {
                return f32::from(first.x_advance);
            }
        }
        self.font.kern_unscaled(a, b)
    }
}

/// The pair-adjustment subtables of the lookups behind the GPOS `kern` feature.
fn gpos_kerning(face: &ttf_parser::Face<'static>) -> Vec<PairAdjustment<'static>> {
    let Some(gpos) = face.tables().gpos else {
        return Vec::new();
    };
    let mut lookup_ids: Vec<u16> = gpos
        .features
        .into_iter()
        .filter(|f| f.tag == ttf_parser::Tag::from_bytes(b"kern"))
        .flat_map(|f| f.lookup_indices.into_iter())
        .collect();
    lookup_ids.sort_unstable();
    lookup_ids.dedup();
    let mut out = Vec::new();
    for id in lookup_ids {
        let Some(lookup) = gpos.lookups.get(id) else {
            continue;
        };
        for sub in lookup.subtables.into_iter::<PositioningSubtable>() {
            if let PositioningSubtable::Pair(pair) = sub {
                out.push(pair);
            }
        }
    }
    out
}

fn loaded(face: Face) -> &'static Loaded {
    static FACES: OnceLock<[Loaded; 4]> = OnceLock::new();
    &FACES.get_or_init(|| Face::ALL.map(Loaded::load))[face.index()]
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
    fn union(self, o: Bounds) -> Bounds {
        Bounds {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
        }
    }

    pub(crate) fn offset(self, dx: f32) -> Bounds {
        Bounds {
            x0: self.x0 + dx,
            x1: self.x1 + dx,
            ..self
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

/// A glyph placed along a run, in ems of the run's size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Glyph {
    pub(crate) face: Face,
    pub(crate) id: u16,
    pub(crate) x: f32,
}

/// Text shaped at one em: glyphs, the pen advance and the ink bounds (`None` when no glyph
/// has an outline, e.g. every character was dropped).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shaped {
    pub(crate) glyphs: Vec<Glyph>,
    pub(crate) advance: f32,
    pub(crate) ink: Option<Bounds>,
}

/// Picks the face that draws `c`, following the fallback rule, or `None` to drop it.
fn resolve(face: Face, c: char) -> Option<(Face, GlyphId)> {
    let mut f = Some(face);
    while let Some(cur) = f {
        let id = loaded(cur).font.glyph_id(c);
        if id.0 != 0 {
            return Some((cur, id));
        }
        f = cur.fallback();
    }
    None
}

/// True when `c` is invisible formatting (joiners, variation selectors, controls) that must
/// be skipped silently rather than counted as missing.
fn is_format(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{FE00}'..='\u{FE0F}' | '\u{2060}')
}

/// Characters of `text` that no embedded face can draw and that will therefore be dropped.
pub(crate) fn missing_chars(text: &str, face: Face) -> Vec<char> {
    let mut out: Vec<char> = text
        .chars()
        .filter(|c| !c.is_whitespace() && !is_format(*c) && resolve(face, *c).is_none())
        .collect();
    out.dedup();
    out
}

/// True when `face` (or its fallback) can draw `c`.
pub(crate) fn has_char(face: Face, c: char) -> bool {
    resolve(face, c).is_some()
}

/// Shapes `text` at one em with `tracking` ems of extra space between letters.
pub(crate) fn shape(text: &str, face: Face, tracking: f32) -> Shaped {
    let mut glyphs = Vec::new();
    let mut pen = 0.0_f32;
    let mut ink: Option<Bounds> = None;
    let mut prev: Option<(Face, GlyphId)> = None;
    for c in text.chars() {
        if is_format(c) {
            continue;
        }
        let Some((f, id)) = resolve(face, c) else {
            continue;
        };
        let l = loaded(f);
        if let Some((pf, pid)) = prev
            && pf == f
        {
            pen += l.kern(pid, id) / l.upem;
        }
        if let Some(b) = glyph_ink(f, id.0) {
            let b = b.offset(pen);
            ink = Some(ink.map_or(b, |i| i.union(b)));
        }
        glyphs.push(Glyph {
            face: f,
            id: id.0,
            x: pen,
        });
        pen += l.font.h_advance_unscaled(id) / l.upem + tracking;
        prev = Some((f, id));
    }
    if !glyphs.is_empty() {
        pen -= tracking;
    }
    Shaped {
        glyphs,
        advance: pen.max(0.0),
        ink,
    }
}

/// The ink box of one glyph at one em, or `None` for glyphs without an outline (spaces).
fn glyph_ink(face: Face, id: u16) -> Option<Bounds> {
    let l = loaded(face);
    let r = l.face.glyph_bounding_box(ttf_parser::GlyphId(id))?;
    let s = 1.0 / l.upem;
    Some(Bounds {
        x0: f32::from(r.x_min) * s,
        y0: -f32::from(r.y_max) * s,
        x1: f32::from(r.x_max) * s,
        y1: -f32::from(r.y_min) * s,
    })
}

/// The width of a space in `face`, in ems.
pub(crate) fn space_width(face: Face) -> f32 {
    let l = loaded(face);
    l.font.h_advance_unscaled(l.font.glyph_id(' ')) / l.upem
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

/// Appends the outline of glyph `id` of `face` at `size` px with its origin at (`x`, `baseline`).
pub(crate) fn append_outline(
    pb: &mut tiny_skia::PathBuilder,
    face: Face,
    id: u16,
    x: f32,
    baseline: f32,
    size: f32,
) {
    let l = loaded(face);
    let mut sink = PathSink {
        pb,
        x,
        y: baseline,
        s: size / l.upem,
    };
    let _ = l.face.outline_glyph(ttf_parser::GlyphId(id), &mut sink);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_face_loads_and_draws_latin() {
        for f in Face::ALL {
            let s = shape("Hello", f, 0.0);
            assert_eq!(s.glyphs.len(), 5, "{f:?}");
            assert!(
                s.glyphs.iter().all(|g| g.face == f),
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
            let pair = shape("AV", f, 0.0).advance;
            let apart = shape("A", f, 0.0).advance + shape("V", f, 0.0).advance;
            assert!(pair < apart - 0.005, "{f:?}: {pair} vs {apart}");
        }
    }

    #[test]
    fn missing_glyphs_fall_back_or_drop() {
        // Greek is not in Bebas Neue but is in Lato, so it falls back rather than vanishing.
        let s = shape("ΑΘΗΝΑ", Face::Display, 0.0);
        assert_eq!(s.glyphs.len(), 5);
        assert!(s.glyphs.iter().all(|g| g.face == Face::Sans));
        // CJK and emoji are in no embedded face: dropped, reported, never drawn as .notdef.
        let s = shape("東京🎬X", Face::Display, 0.0);
        assert_eq!(s.glyphs.len(), 1);
        assert!(s.glyphs.iter().all(|g| g.id != 0));
        assert_eq!(
            missing_chars("東京🎬X", Face::Display),
            vec!['東', '京', '🎬']
        );
        // Joiners and variation selectors are formatting, not missing text.
        assert!(missing_chars("a\u{200D}b\u{FE0F}", Face::Sans).is_empty());
    }
}
