//! Vertical titles (tategaki): CJK text in columns read top to bottom, the columns right to
//! left, broken and balanced as horizontal lines are.

use super::breaking::{balanced_breaks, split_lines};
use super::{Rect, Spec, TextBox, Word, line_text, place_word, words_of};
use crate::poster::fonts::{self, Setting};

/// A vertical title: columns of CJK text read top to bottom, the columns right to left.
pub(super) struct Columns {
    /// Each column's words, and their pen offsets down the column at one em.
    columns: Vec<Vec<Word>>,
    pens: Vec<Vec<f32>>,
    /// The ink box of each column at one em: x around the column's centre line, y from its top.
    inks: Vec<fonts::Bounds>,
    /// Centre-to-centre distance of neighbouring columns, in ems.
    pitch: f32,
    size: f32,
}

impl Columns {
    fn width(&self) -> f32 {
        self.inks.iter().map(|b| b.x1 - b.x0).fold(0.0, f32::max)
            + self.pitch * (self.inks.len() as f32 - 1.0)
    }

    fn height(&self) -> f32 {
        let top = self.inks.iter().map(|b| b.y0).fold(f32::MAX, f32::min);
        self.inks.iter().map(|b| b.y1).fold(f32::MIN, f32::max) - top
    }
}

/// Fits a CJK `text` as vertical columns (tategaki) into a `max_w` × `max_h` zone: glyphs
/// shaped top to bottom, so the font's vertical alternates (`vert`) turn the long-vowel mark,
/// brackets and the full stop; columns break where horizontal lines would (UAX #14 with its
/// kinsoku rules), balanced like horizontal lines.
pub(super) fn fit_vertical(text: &str, spec: &Spec, max_w: f32, max_h: f32) -> Option<Columns> {
    let setting = Setting {
        vertical: true,
        rtl: false,
        ..spec.setting(text)
    };
    let words = words_of(text, spec, setting);
    if words.is_empty() || max_w <= 0.0 || max_h <= 0.0 {
        return None;
    }
    let space = 0.5;
    let n = words.len();
    // Each word's pen offset down a column of `range`, and the column's ink at one em.
    let column = |range: &[Word]| -> (Vec<f32>, fonts::Bounds) {
        let mut pen = 0.0;
        let mut ink: Option<fonts::Bounds> = None;
        let mut pens = Vec::with_capacity(range.len());
        for (i, w) in range.iter().enumerate() {
            if let Some(b) = w.shaped.ink {
                let b = b.shift(0.0, pen);
                ink = Some(ink.map_or(b, |i| i.union(b)));
            }
            pens.push(pen);
            pen += w.shaped.advance;
            if w.gap && i + 1 < range.len() {
                pen += space;
            }
        }
        let none = fonts::Bounds {
            x0: 0.0,
            y0: 0.0,
            x1: 0.0,
            y1: 0.0,
        };
        (pens, ink.unwrap_or(none))
    };
    let heights: Vec<Vec<f32>> = (0..=n)
        .map(|i| {
            (0..=n)
                .map(|j| {
                    if j > i {
                        let (_, ink) = column(&words[i..j]);
                        ink.y1 - ink.y0.min(0.0)
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();
    let height = |i: usize, j: usize| heights[i][j];
    let best_with = |may_start: &dyn Fn(usize) -> bool| {
        let mut best: Option<Columns> = None;
        for count in 1..=spec.max_lines.min(n) {
            let Some(starts) = balanced_breaks(&height, n, count, false, may_start) else {
                continue;
            };
            let columns = split_lines(&words, &starts);
            let (pens, inks): (Vec<_>, Vec<_>) = columns.iter().map(|c| column(c)).unzip();
            let widest = inks.iter().map(|b| b.x1 - b.x0).fold(0.0, f32::max);
            let mut laid = Columns {
                columns,
                pens,
                inks,
                pitch: widest * 1.3,
                size: 0.0,
            };
            laid.size = (max_w / laid.width().max(1e-3))
                .min(max_h / laid.height().max(1e-3))
                .min(spec.max_size);
            if best.as_ref().is_none_or(|b| laid.size > b.size * 1.12) {
                best = Some(laid);
            }
        }
        best
    };
    // Columns break where the script changes unless breaking inside a word sets the title
    // clearly larger, as lines do.
    let strong = best_with(&|j| !words[j].weak);
    let any = best_with(&|_| true);
    match (strong, any) {
        (Some(k), Some(a)) if a.size <= k.size * 1.25 => Some(k),
        (k, a) => a.or(k),
    }
    .filter(|b| b.size >= spec.min_size)
}

/// Places vertical columns with the first column's ink flush right in `zone` and the text's
/// ink top at the zone's top.
pub(super) fn place_vertical(cols: &Columns, spec: &Spec, zone: &Rect) -> Vec<TextBox> {
    let s = cols.size;
    let top = cols.inks.iter().map(|b| b.y0).fold(f32::MAX, f32::min);
    let first = cols.inks[0];
    let first_centre = zone.right() - first.x1 * s;
    cols.columns
        .iter()
        .zip(&cols.pens)
        .zip(&cols.inks)
        .enumerate()
        .map(|(c, ((words, pens), ink))| {
            let cx = first_centre - c as f32 * cols.pitch * s;
            let y0 = zone.y - top * s;
            let mut glyphs = Vec::new();
            for (w, pen) in words.iter().zip(pens) {
                place_word(w, cx, y0 + pen * s, s, &mut glyphs);
            }
            TextBox {
                role: spec.role,
                rect: Rect {
                    x: cx + ink.x0 * s,
                    y: y0 + ink.y0 * s,
                    w: (ink.x1 - ink.x0) * s,
                    h: (ink.y1 - ink.y0) * s,
                },
                text: line_text(words),
                size: s,
                glyphs,
            }
        })
        .collect()
}
