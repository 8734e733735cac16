//! Contrast as a guarantee: every line of type measured against the pixels actually around
//! its glyphs on the finished poster, by WCAG 2.x's contrast ratio
//! (<https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio>: (L1 + 0.05) / (L2 + 0.05) of the
//! relative luminances). The floors are WCAG's: 3:1 for large text (the title) and 4.5:1 for
//! the rest (the tagline and billing block), success criterion 1.4.3.
//!
//! WCAG defines the ratio between two colours; type over a photograph has many. A line's text
//! colour is the median luminance of the pixels fully inside its letters, and its background
//! is the pixels around its letters — its ink box grown by [`RING`] of its size, less every
//! pixel any letter touches — at their 90th percentile towards the text (the brightest tenth
//! under light type, the darkest under dark): nine in ten pixels around every line are at least
//! that far from its letters.
//!
//! This module knows nothing of layout choices; it measures.

use tiny_skia::{FillRule, Mask, Pixmap, Transform};

use super::fonts;
use super::layout::{Layout, Role, TextBox};
use crate::genre::luminance;

/// WCAG's floor for large text: the title.
pub(crate) const LARGE_FLOOR: f32 = 3.0;
/// WCAG's floor for normal text: the tagline and billing block.
pub(crate) const TEXT_FLOOR: f32 = 4.5;
/// How far around a line's ink its background is measured, in ems of its type size.
pub(crate) const RING: f32 = 0.25;

/// The floor a block's lines must reach.
pub(crate) fn floor(role: Role) -> f32 {
    match role {
        Role::Title => LARGE_FLOOR,
        Role::Tagline | Role::Credits => TEXT_FLOOR,
    }
}

/// WCAG contrast ratio of two relative luminances.
pub(crate) fn ratio(a: f32, b: f32) -> f32 {
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

/// One line's measured contrast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Measured {
    pub(crate) role: Role,
    /// Index of the line in the layout's boxes.
    pub(crate) line: usize,
    pub(crate) ratio: f32,
    pub(crate) text: f32,
    pub(crate) background: f32,
}

impl Measured {
    pub(crate) fn passes(&self) -> bool {
        self.ratio >= floor(self.role)
    }
}

/// The coverage of every letter of `layout` (outlined glyphs; colour emoji have none and are
/// not measured).
fn ink_mask(width: u32, height: u32, layout: &Layout) -> Option<Mask> {
    let mut mask = Mask::new(width, height)?;
    for b in &layout.boxes {
        if let Some(path) = line_path(b) {
            mask.fill_path(&path, FillRule::Winding, true, Transform::identity());
        }
    }
    Some(mask)
}

pub(crate) fn line_path(b: &TextBox) -> Option<tiny_skia::Path> {
    let mut pb = tiny_skia::PathBuilder::new();
    for g in &b.glyphs {
        fonts::append_outline(&mut pb, g.font, g.id, g.x, g.baseline, g.size);
    }
    pb.finish()
}

fn percentile(v: &mut [f32], q: f32) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let k = ((v.len() - 1) as f32 * q).round() as usize;
    let (_, x, _) = v.select_nth_unstable_by(k, f32::total_cmp);
    *x
}

/// Measures every line of `layout` on the finished `poster`.
pub(crate) fn measure(poster: &Pixmap, layout: &Layout) -> Vec<Measured> {
    let (w, h) = (poster.width(), poster.height());
    let Some(mask) = ink_mask(w, h, layout) else {
        return Vec::new();
    };
    let cov = mask.data();
    let px = poster.pixels();
    let mut lin = [0.0_f32; 256];
    for (i, v) in lin.iter_mut().enumerate() {
        *v = luminance(i as u8, 0, 0) / 0.2126;
    }
    let lum = |r: u8, g: u8, b: u8| {
        0.2126 * lin[usize::from(r)] + 0.7152 * lin[usize::from(g)] + 0.0722 * lin[usize::from(b)]
    };
    let mut out = Vec::new();
    for (i, b) in layout.boxes.iter().enumerate() {
        let r = b.rect.inflate(b.size * RING);
        let x0 = (r.x.floor().max(0.0) as usize).min(w as usize);
        let y0 = (r.y.floor().max(0.0) as usize).min(h as usize);
        let x1 = (r.right().ceil().max(0.0) as usize).min(w as usize);
        let y1 = (r.bottom().ceil().max(0.0) as usize).min(h as usize);
        let inner = b.rect;
        let (mut text, mut bg) = (Vec::new(), Vec::new());
        for y in y0..y1 {
            for x in x0..x1 {
                let o = y * w as usize + x;
                let c = px[o].demultiply();
                let l = lum(c.red(), c.green(), c.blue());
                let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                let in_line =
                    fx >= inner.x && fx <= inner.right() && fy >= inner.y && fy <= inner.bottom();
                match cov[o] {
                    255 if in_line => text.push(l),
                    0 => bg.push(l),
                    _ => {}
                }
            }
        }
        if text.is_empty() || bg.is_empty() {
            continue;
        }
        let t = percentile(&mut text, 0.5);
        let median_bg = percentile(&mut bg, 0.5);
        let background = if t >= median_bg {
            percentile(&mut bg, 0.9)
        } else {
            percentile(&mut bg, 0.1)
        };
        out.push(Measured {
            role: b.role,
            line: i,
            ratio: ratio(t, background),
            text: t,
            background,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wcag_ratios_match_the_definition() {
        assert!((ratio(1.0, 0.0) - 21.0).abs() < 1e-5);
        assert!((ratio(0.0, 1.0) - 21.0).abs() < 1e-5);
        assert_eq!(ratio(0.3, 0.3), 1.0);
        // #767676 on white is the classic 4.54:1.
        let grey = luminance(0x76, 0x76, 0x76);
        assert!(
            (ratio(1.0, grey) - 4.54).abs() < 0.01,
            "{}",
            ratio(1.0, grey)
        );
        assert_eq!(floor(Role::Title), 3.0);
        assert_eq!(floor(Role::Credits), 4.5);
    }

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let mut v: Vec<f32> = (0..=10).map(|i| i as f32).collect();
        assert_eq!(percentile(&mut v, 0.9), 9.0);
        assert_eq!(percentile(&mut v, 0.5), 5.0);
        assert_eq!(percentile(&mut [], 0.5), 0.0);
    }
}
