//! Drawing laid-out text onto art: the legibility treatment (gradient scrim, soft shadow or
//! glow, outline) and the letters themselves.
//!
//! The treatment is chosen from the art actually under each block: its mean luminance and how
//! busy it is decide whether a scrim is needed and how strong it must be for the text colour to
//! reach a target contrast ratio. This module knows the look of a style and a [`Layout`], never
//! the words' meaning or where they came from.

use tiny_skia::{
    Color, FillRule, FilterQuality, GradientStop, LineCap, LineJoin, LinearGradient, Paint, Pixmap,
    PixmapPaint, Point, Rect as SkRect, SpreadMode, Stroke, Transform,
};

use super::layout::{Align, Layout, Rect, Role, TextBox};
use super::style::Look;
use super::{contrast, fonts};
use crate::genre::{Rgb, luminance};

/// Mean luminance and its standard deviation over `r`, sampled on a grid of about 48×48.
fn region_stats(p: &Pixmap, r: Rect) -> (f32, f32) {
    let (w, h) = (p.width() as i64, p.height() as i64);
    let x0 = (r.x.floor() as i64).clamp(0, w - 1);
    let y0 = (r.y.floor() as i64).clamp(0, h - 1);
    let x1 = (r.right().ceil() as i64).clamp(x0 + 1, w);
    let y1 = (r.bottom().ceil() as i64).clamp(y0 + 1, h);
    let sx = ((x1 - x0) / 48).max(1) as usize;
    let sy = ((y1 - y0) / 48).max(1) as usize;
    let px = p.pixels();
    let (mut sum, mut sq, mut n) = (0.0_f64, 0.0_f64, 0.0_f64);
    for y in (y0..y1).step_by(sy) {
        for x in (x0..x1).step_by(sx) {
            let c = px[(y * w + x) as usize].demultiply();
            let l = f64::from(luminance(c.red(), c.green(), c.blue()));
            sum += l;
            sq += l * l;
            n += 1.0;
        }
    }
    if n == 0.0 {
        return (0.0, 0.0);
    }
    let mean = sum / n;
    (
        (mean) as f32,
        ((sq / n - mean * mean).max(0.0).sqrt()) as f32,
    )
}

/// The scrim opacity that brings a background of luminance `bg` to `target` contrast against
/// text of luminance `text`, when the scrim is black (dark) or white (light). Blending happens
/// on gamma-encoded values, so the solve is done there too.
pub(crate) fn scrim_alpha(text: f32, bg: f32, target: f32, dark: bool) -> f32 {
    let enc = |l: f32| l.max(0.0).powf(1.0 / 2.2);
    if dark {
        let want = ((text + 0.05) / target - 0.05).max(0.0);
        if bg <= want {
            return 0.0;
        }
        1.0 - enc(want) / enc(bg).max(1e-4)
    } else {
        let want = (target * (text + 0.05) - 0.05).min(1.0);
        if bg >= want {
            return 0.0;
        }
        (enc(want) - enc(bg)) / (1.0 - enc(bg)).max(1e-4)
    }
}

pub(crate) fn block_color(look: &Look, role: Role) -> Rgb {
    match role {
        Role::Title => look.title_fill.0.mix(look.title_fill.1, 0.5),
        Role::Tagline => look.tagline_color,
        Role::Credits => look.credits_color,
    }
}

fn line_path(b: &TextBox) -> Option<tiny_skia::Path> {
    contrast::line_path(b)
}

/// How far a scrim fades out above and below its block (`(top, bottom)` of its extent), and
/// beside a side-set block (its horizontal feather), on a `w` × `h` sheet.
fn scrim_span(r: Rect, w: f32, h: f32) -> (f32, f32, f32) {
    let pad = (r.h * 0.8).max(h * 0.07);
    let top = if r.y < h * 0.3 { 0.0 } else { r.y - pad };
    let bottom = if r.bottom() > h * 0.7 {
        h
    } else {
        r.bottom() + pad
    };
    (top, bottom, (r.h * 0.8).max(w * 0.1))
}

/// The whole extent of the scrim under block `r` on a `w` × `h` sheet, feathers included: a
/// band across the sheet, or for a side-set block (`side`) from its side's edge to a little
/// past the block.
pub(crate) fn scrim_extent(r: Rect, side: Option<Align>, w: f32, h: f32) -> Rect {
    let (top, bottom, feather) = scrim_span(r, w, h);
    let (x0, x1) = match side {
        Some(Align::Left) => (0.0, (r.right() + feather).min(w)),
        Some(Align::Right) => ((r.x - feather).max(0.0), w),
        _ => (0.0, w),
    };
    Rect {
        x: x0,
        y: top,
        w: x1 - x0,
        h: bottom - top,
    }
}

/// A side-set block's scrim: light falling off from the sheet's edge on the block's side, at
/// full strength to the block's far edge, then fading over its feather; above and below it
/// fades as [`draw_scrim`]'s band does. Blended pixel by pixel (posters are opaque).
fn draw_side_scrim(p: &mut Pixmap, r: Rect, side: Align, color: Rgb, alpha: f32) {
    let (w, h) = (p.width() as f32, p.height() as f32);
    let (top, bottom, feather) = scrim_span(r, w, h);
    let vertical = |y: f32| -> f32 {
        if y < r.y {
            if top == 0.0 {
                1.0
            } else {
                ((y - top) / (r.y - top).max(1e-3)).clamp(0.0, 1.0)
            }
        } else if y <= r.bottom() || bottom >= h {
            1.0
        } else {
            ((bottom - y) / (bottom - r.bottom()).max(1e-3)).clamp(0.0, 1.0)
        }
    };
    let horizontal = |x: f32| -> f32 {
        let beyond = match side {
            Align::Right => r.x - x,
            _ => x - r.right(),
        };
        (1.0 - beyond / feather).clamp(0.0, 1.0)
    };
    let ext = scrim_extent(r, Some(side), w, h);
    let (pw, ph) = (p.width() as usize, p.height() as usize);
    let x0 = (ext.x.floor().max(0.0) as usize).min(pw);
    let x1 = (ext.right().ceil().max(0.0) as usize).min(pw);
    let y0 = (ext.y.floor().max(0.0) as usize).min(ph);
    let y1 = (ext.bottom().ceil().max(0.0) as usize).min(ph);
    let (cr, cg, cb) = (f32::from(color.0), f32::from(color.1), f32::from(color.2));
    let across: Vec<f32> = (x0..x1).map(|x| horizontal(x as f32 + 0.5)).collect();
    let data = p.data_mut();
    for y in y0..y1 {
        let v = alpha * vertical(y as f32 + 0.5);
        if v <= 0.0 {
            continue;
        }
        for (x, hx) in (x0..x1).zip(&across) {
            let a = v * hx;
            if a <= 0.0 {
                continue;
            }
            let o = (y * pw + x) * 4;
            let keep = 1.0 - a;
            let mix = |d: u8, c: f32| (f32::from(d) * keep + c * a).round().clamp(0.0, 255.0) as u8;
            data[o] = mix(data[o], cr);
            data[o + 1] = mix(data[o + 1], cg);
            data[o + 2] = mix(data[o + 2], cb);
        }
    }
}

/// A vertical band of `color` fading in and out around `r`, running off the sheet's edge when
/// the block is near it so the scrim reads as light falling off, not as a stripe.
fn draw_scrim(p: &mut Pixmap, r: Rect, color: Rgb, alpha: f32) {
    let (w, h) = (p.width() as f32, p.height() as f32);
    let (top, bottom, _) = scrim_span(r, w, h);
    let (t0, t1) = (
        (r.y - top) / (bottom - top),
        (r.bottom() - top) / (bottom - top),
    );
    let a = color.color(alpha);
    let clear = color.color(0.0);
    let stops = vec![
        GradientStop::new(0.0, if top == 0.0 { a } else { clear }),
        GradientStop::new(t0.clamp(0.0, 1.0), a),
        GradientStop::new(t1.clamp(0.0, 1.0), a),
        GradientStop::new(1.0, if bottom >= h { a } else { clear }),
    ];
    let Some(shader) = LinearGradient::new(
        Point::from_xy(0.0, top),
        Point::from_xy(0.0, bottom),
        stops,
        SpreadMode::Pad,
        Transform::identity(),
    ) else {
        return;
    };
    let paint = Paint {
        shader,
        anti_alias: false,
        ..Paint::default()
    };
    if let Some(rect) = SkRect::from_xywh(0.0, top, w, bottom - top) {
        p.fill_rect(rect, &paint, Transform::identity(), None);
    }
}

/// Three box-blur passes each way over a premultiplied RGBA buffer: close to a Gaussian.
fn blur(p: &mut Pixmap, radius: usize) {
    if radius == 0 {
        return;
    }
    let (w, h) = (p.width() as usize, p.height() as usize);
    let data = p.data_mut();
    let mut tmp = vec![0_u8; data.len()];
    for _ in 0..3 {
        box_pass(data, &mut tmp, w, h, radius, true);
        box_pass(&tmp, data, w, h, radius, false);
    }
}

fn box_pass(src: &[u8], dst: &mut [u8], w: usize, h: usize, r: usize, horizontal: bool) {
    let (len, lines) = if horizontal { (w, h) } else { (h, w) };
    let idx = |line: usize, i: usize| {
        if horizontal {
            (line * w + i) * 4
        } else {
            (i * w + line) * 4
        }
    };
    let div = (2 * r + 1) as u32;
    for line in 0..lines {
        let mut acc = [0_u32; 4];
        // Edges are treated as transparent, so halos fade out rather than smear.
        for i in 0..=r.min(len - 1) {
            let o = idx(line, i);
            for c in 0..4 {
                acc[c] += u32::from(src[o + c]);
            }
        }
        for i in 0..len {
            let o = idx(line, i);
            for c in 0..4 {
                dst[o + c] = (acc[c] / div) as u8;
            }
            if i + r + 1 < len {
                let a = idx(line, i + r + 1);
                for c in 0..4 {
                    acc[c] += u32::from(src[a + c]);
                }
            }
            if i >= r {
                let d = idx(line, i - r);
                for c in 0..4 {
                    acc[c] -= u32::from(src[d + c]);
                }
            }
        }
    }
}

/// A soft halo of `color` behind `paths`: a blurred copy drawn at quarter resolution, which is
/// both cheaper and softer than blurring at full size.
fn draw_halo(
    p: &mut Pixmap,
    paths: &[tiny_skia::Path],
    area: Rect,
    color: Rgb,
    opacity: f32,
    radius: f32,
    dy: f32,
) {
    const SCALE: f32 = 0.25;
    let area = area.inflate(radius * 2.0);
    let (sw, sh) = (
        (area.w * SCALE).ceil() as u32 + 2,
        (area.h * SCALE).ceil() as u32 + 2,
    );
    let Some(mut small) = Pixmap::new(sw, sh) else {
        return;
    };
    let mut paint = Paint::default();
    paint.set_color(color.color(1.0));
    paint.anti_alias = true;
    let t = Transform::from_row(
        SCALE,
        0.0,
        0.0,
        SCALE,
        -area.x * SCALE,
        -(area.y - dy) * SCALE,
    );
    for path in paths {
        small.fill_path(path, &paint, FillRule::Winding, t, None);
        // A stroke fattens thin strokes so the halo is visible around hairlines too.
        let stroke = Stroke {
            width: radius * 0.6,
            line_join: LineJoin::Round,
            ..Stroke::default()
        };
        small.stroke_path(path, &paint, &stroke, t, None);
    }
    blur(&mut small, ((radius * SCALE).round() as usize).max(1));
    let pp = PixmapPaint {
        opacity: opacity.clamp(0.0, 1.0),
        quality: FilterQuality::Bilinear,
        ..PixmapPaint::default()
    };
    let back = Transform::from_row(1.0 / SCALE, 0.0, 0.0, 1.0 / SCALE, area.x, area.y);
    p.draw_pixmap(0, 0, small.as_ref(), &pp, back, None);
}

/// How one block is treated: its scrim and, when the look's own colour cannot reach the
/// contrast floor on this art, the colour its letters take instead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Plan {
    pub(crate) role: Role,
    pub(crate) rect: Rect,
    /// The scrim's opacity at its core (0: none).
    pub(crate) alpha: f32,
    /// A dark scrim (under light letters) or a light one.
    pub(crate) dark: bool,
    /// The letters' colour when shifted within the look's palette.
    pub(crate) color: Option<Rgb>,
    /// A fuller, wider halo: for lines that the strongest scrim did not bring to their floor
    /// (another block's shadow reaching under them, say).
    pub(crate) strong_halo: bool,
    /// The side of a side-set block: its scrim falls off from that edge of the sheet instead
    /// of running across it.
    pub(crate) side: Option<Align>,
}

impl Plan {
    /// The scrim's full-strength extent as (left, right) on a sheet `width` wide: across the
    /// sheet, or from a side-set block's edge of the sheet to the block's far edge.
    pub(crate) fn band(&self, width: f32) -> (f32, f32) {
        match self.side {
            Some(Align::Left) => (0.0, self.rect.right()),
            Some(Align::Right) => (self.rect.x, width),
            _ => (0.0, width),
        }
    }
}

/// The strongest scrim: beyond it the art under the block is gone.
pub(crate) const MAX_SCRIM: f32 = 0.94;
/// How far the background's bright (or dark) tail lies from its mean, in standard deviations:
/// 1.28 is a normal distribution's 90th percentile, the percentile `contrast` measures.
const TAIL: f32 = 1.28;

/// Plans every block's treatment from the untouched art, so one block's scrim does not change
/// the measurement for the next: the scrim just strong enough for the block's colour to reach
/// its floor (with a tenth to spare) against the bright (or dark) tail of the art around it.
pub(crate) fn plan(p: &Pixmap, layout: &Layout, look: &Look) -> Vec<Plan> {
    // The title is drawn first, so the smaller blocks' halos lie over its shadow.
    let roles = [Role::Title, Role::Tagline, Role::Credits];
    let mut plans = Vec::new();
    for role in roles {
        let Some(r) = layout.block(role) else {
            continue;
        };
        let size = layout
            .boxes
            .iter()
            .find(|b| b.role == role)
            .map_or(0.0, |b| b.size);
        let (bg, busy) = region_stats(p, r.inflate(size * contrast::RING));
        let text = block_color(look, role).luminance();
        // Dark scrims suit almost every colour, red included: only genuinely dark text (a
        // comedy tagline on yellow) gets a light one.
        let dark_scrim = text > 0.08;
        let tail = if dark_scrim {
            (bg + TAIL * busy).min(1.0)
        } else {
            (bg - TAIL * busy).max(0.0)
        };
        let target = contrast::floor(role) * 1.1;
        let need = |l: f32| {
            let dark = l > 0.08;
            let tail = if dark {
                (bg + TAIL * busy).min(1.0)
            } else {
                (bg - TAIL * busy).max(0.0)
            };
            scrim_alpha(l, tail, target, dark)
        };
        let _ = tail;
        let alpha = need(text);
        // Where the look's colour would need a heavy scrim (dark type on dark art) and one of
        // its palette's colours reads with a much lighter one, the type takes that colour.
        let shifted = palette_colors(look)
            .into_iter()
            .map(|c| (need(c.luminance()), c))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .filter(|(a, _)| *a + 0.3 < alpha);
        let (alpha, dark, color) = match shifted {
            Some((a, c)) => (a, c.luminance() > 0.08, Some(c)),
            None => (alpha, dark_scrim, None),
        };
        plans.push(Plan {
            role,
            rect: r,
            alpha: alpha.min(MAX_SCRIM),
            dark,
            color,
            strong_halo: false,
            side: layout.side_of(role).map(|(a, _)| a),
        });
    }
    plans
}

/// The treatment before #27, kept for the readability report's "before" column: the mean
/// of the art under each block against targets of 3.2 (1.6 for an outlined title) and 5.0,
/// a fifth more scrim over busy art, at most 0.82, never measured afterwards.
pub(crate) fn plan_before(p: &Pixmap, layout: &Layout, look: &Look) -> Vec<Plan> {
    let mut plans = Vec::new();
    for role in [Role::Credits, Role::Tagline, Role::Title] {
        let Some(r) = layout.block(role) else {
            continue;
        };
        let size = layout
            .boxes
            .iter()
            .find(|b| b.role == role)
            .map_or(0.0, |b| b.size);
        let (bg, busy) = region_stats(p, r.inflate(size * 0.15));
        let text = block_color(look, role).luminance();
        let dark = text > 0.08;
        let target = match (role, look.title_outline) {
            (Role::Title, Some(_)) => 1.6,
            (Role::Title, None) => 3.2,
            _ => 5.0,
        };
        let mut alpha = scrim_alpha(text, bg, target, dark);
        if contrast::ratio(text, bg) < target * 1.5 && busy > 0.12 {
            alpha += 0.2;
        }
        plans.push(Plan {
            role,
            rect: r,
            alpha: alpha.min(0.82),
            dark,
            color: None,
            strong_halo: false,
            side: None,
        });
    }
    plans
}

/// Draws every block of `layout` over `p` in `look`, treated as `plans` say.
pub(crate) fn render(p: &mut Pixmap, layout: &Layout, look: &Look, plans: &[Plan]) {
    for plan in plans {
        if plan.alpha > 0.02 {
            let c = if plan.dark {
                look.palette.near.mix(Rgb(0, 0, 0), 0.6)
            } else {
                Rgb(255, 252, 246)
            };
            match plan.side {
                Some(side) => draw_side_scrim(p, plan.rect, side, c, plan.alpha),
                None => draw_scrim(p, plan.rect, c, plan.alpha),
            }
        }
    }
    for plan in plans {
        let role = &plan.role;
        let r = &plan.rect;
        let dark = &plan.dark;
        let lines: Vec<&TextBox> = layout.boxes.iter().filter(|b| b.role == *role).collect();
        let paths: Vec<tiny_skia::Path> = lines.iter().filter_map(|b| line_path(b)).collect();
        let size = lines.first().map_or(0.0, |b| b.size);
        let (halo, opacity) = match role {
            Role::Title if plan.color.is_none() => (look.title_halo, 0.85),
            _ if *dark => (Rgb(0, 0, 0), 0.7),
            _ => (Rgb(255, 255, 255), 0.6),
        };
        let shadow_drop = if halo.luminance() < 0.2 {
            size * 0.04
        } else {
            0.0
        };
        let (opacity, radius) = if plan.strong_halo {
            (1.0, (size * 0.2).max(3.0))
        } else {
            (opacity, (size * 0.12).max(2.0))
        };
        draw_halo(p, &paths, *r, halo, opacity, radius, shadow_drop);
        if plan.strong_halo {
            // Twice over: a halo at full strength still lets the art through at its rim.
            draw_halo(p, &paths, *r, halo, opacity, radius * 0.6, 0.0);
        }
        if *role == Role::Title
            && let Some(outline) = look.title_outline
        {
            let mut paint = Paint::default();
            paint.set_color(outline.color(1.0));
            paint.anti_alias = true;
            let stroke = Stroke {
                width: size * 0.09,
                line_join: LineJoin::Round,
                line_cap: LineCap::Round,
                ..Stroke::default()
            };
            for path in &paths {
                p.stroke_path(path, &paint, &stroke, Transform::identity(), None);
            }
        }
        for (b, path) in lines.iter().zip(&paths) {
            let paint = match plan.color {
                Some(c) => {
                    let mut paint = Paint {
                        anti_alias: true,
                        ..Paint::default()
                    };
                    paint.set_color(c.color(1.0));
                    paint
                }
                None => fill_paint(look, *role, b.rect),
            };
            p.fill_path(path, &paint, FillRule::Winding, Transform::identity(), None);
        }
        let ink = look
            .monochrome
            .then(|| plan.color.unwrap_or_else(|| block_color(look, *role)));
        for b in &lines {
            draw_pictures(p, b, ink);
        }
    }
}

/// The colours a block's letters may take on art where the look's own cannot reach the
/// floor: the look's other type colours and its palette's light and accent (never its shadow
/// or outline colours, nor one from outside the look).
pub(crate) fn palette_colors(look: &Look) -> Vec<Rgb> {
    vec![
        look.title_fill.0,
        look.title_fill.1,
        look.tagline_color,
        look.credits_color,
        look.palette.light,
        look.palette.accent,
    ]
}

/// Draws the glyphs that are pictures (colour emoji, which have no outline) of `b`: in their
/// own colours, or in `ink` for a black-and-white look, shaded by their lightness so they
/// keep their detail.
fn draw_pictures(p: &mut Pixmap, b: &TextBox, ink: Option<Rgb>) {
    for g in &b.glyphs {
        let Some(r) = fonts::raster(g.font, g.id) else {
            continue;
        };
        let Ok(mut img) = Pixmap::decode_png(r.png) else {
            continue;
        };
        if let Some(ink) = ink {
            tint(&mut img, ink);
        }
        let (w, h) = (
            (r.bounds.x1 - r.bounds.x0) * g.size,
            (r.bounds.y1 - r.bounds.y0) * g.size,
        );
        let t = Transform::from_row(
            w / img.width() as f32,
            0.0,
            0.0,
            h / img.height() as f32,
            g.x + r.bounds.x0 * g.size,
            g.baseline + r.bounds.y0 * g.size,
        );
        let paint = PixmapPaint {
            quality: FilterQuality::Bicubic,
            ..PixmapPaint::default()
        };
        p.draw_pixmap(0, 0, img.as_ref(), &paint, t, None);
    }
}

/// Recolours a picture in `ink`: each pixel keeps its coverage and takes the ink at a
/// strength set by its own lightness (dark outlines stay dark, highlights take the ink).
fn tint(img: &mut Pixmap, ink: Rgb) {
    for px in img.pixels_mut() {
        let c = px.demultiply();
        let l = luminance(c.red(), c.green(), c.blue()).powf(1.0 / 2.2);
        let k = 0.25 + 0.75 * l;
        let ch = |v: u8| (f32::from(v) * k).round() as u8;
        if let Some(t) = tiny_skia::ColorU8::from_rgba(ch(ink.0), ch(ink.1), ch(ink.2), c.alpha())
            .premultiply()
            .into()
        {
            *px = t;
        }
    }
}

fn fill_paint(look: &Look, role: Role, r: Rect) -> Paint<'static> {
    let mut paint = Paint {
        anti_alias: true,
        ..Paint::default()
    };
    match role {
        Role::Title if look.title_fill.0 != look.title_fill.1 => {
            let (a, b) = look.title_fill;
            // A bright band just under the middle of each line gives metallic fills their sheen.
            let stops = vec![
                GradientStop::new(0.0, a.color(1.0)),
                GradientStop::new(0.55, a.mix(b, 0.35).color(1.0)),
                GradientStop::new(0.62, b.color(1.0)),
                GradientStop::new(1.0, b.mix(a, 0.3).color(1.0)),
            ];
            match LinearGradient::new(
                Point::from_xy(0.0, r.y),
                Point::from_xy(0.0, r.bottom()),
                stops,
                SpreadMode::Pad,
                Transform::identity(),
            ) {
                Some(shader) => paint.shader = shader,
                None => paint.set_color(a.color(1.0)),
            }
        }
        _ => {
            let c: Color = block_color(look, role).color(1.0);
            paint.set_color(c);
        }
    }
    paint
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrim_alpha_reaches_the_target_contrast() {
        // White text over a mid-grey needs a dark scrim; over black it needs none.
        let a = scrim_alpha(1.0, 0.5, 4.5, true);
        assert!(a > 0.2 && a < 0.9, "{a}");
        assert_eq!(scrim_alpha(1.0, 0.0, 4.5, true), 0.0);
        // Dark text over a dark background needs a light scrim.
        assert!(scrim_alpha(0.02, 0.1, 4.5, false) > 0.2);
    }

    #[test]
    fn region_stats_measure_luminance_and_busyness() {
        let mut p = Pixmap::new(100, 100).expect("non-zero size");
        p.fill(Color::WHITE);
        let (m, s) = region_stats(
            &p,
            Rect {
                x: 0.0,
                y: 0.0,
                w: 100.0,
                h: 100.0,
            },
        );
        assert!((m - 1.0).abs() < 1e-3 && s < 1e-3);
        // Out-of-range rectangles are clamped rather than panicking.
        let (m, _) = region_stats(
            &p,
            Rect {
                x: -50.0,
                y: 90.0,
                w: 500.0,
                h: 500.0,
            },
        );
        assert!(m > 0.99);
    }
}
