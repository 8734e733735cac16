//! Drawing laid-out text onto art: the legibility treatment (gradient scrim, soft shadow or
//! glow, outline) and the letters themselves.
//!
//! The treatment is chosen from the art actually under each block: its mean luminance and how
//! busy it is decide whether a scrim is needed and how strong it must be for the text colour to
//! reach a target contrast ratio. This module knows the look of a style and a [`Layout`], never
//! the words' meaning or where they came from.

use tiny_skia::{
    Color, FillRule, FilterQuality, GradientStop, LineCap, LineJoin, LinearGradient, Paint,
    PathBuilder, Pixmap, PixmapPaint, Point, Rect as SkRect, SpreadMode, Stroke, Transform,
};

use super::fonts;
use super::layout::{Layout, Rect, Role, TextBox};
use super::style::Look;
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

fn contrast(a: f32, b: f32) -> f32 {
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

/// The scrim opacity that brings a background of luminance `bg` to `target` contrast against
/// text of luminance `text`, when the scrim is black (dark) or white (light). Blending happens
/// on gamma-encoded values, so the solve is done there too.
fn scrim_alpha(text: f32, bg: f32, target: f32, dark: bool) -> f32 {
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

fn block_color(look: &Look, role: Role) -> Rgb {
    match role {
        Role::Title => look.title_fill.0.mix(look.title_fill.1, 0.5),
        Role::Tagline => look.tagline_color,
        Role::Credits => look.credits_color,
    }
}

fn line_path(b: &TextBox) -> Option<tiny_skia::Path> {
    let mut pb = PathBuilder::new();
    for g in &b.glyphs {
        fonts::append_outline(&mut pb, g.font, g.id, g.x, g.baseline, g.size);
    }
    pb.finish()
}

/// A vertical band of `color` fading in and out around `r`, running off the sheet's edge when
/// the block is near it so the scrim reads as light falling off, not as a stripe.
fn draw_scrim(p: &mut Pixmap, r: Rect, color: Rgb, alpha: f32) {
    let (w, h) = (p.width() as f32, p.height() as f32);
    let pad = (r.h * 0.8).max(h * 0.07);
    let top = if r.y < h * 0.3 { 0.0 } else { r.y - pad };
    let bottom = if r.bottom() > h * 0.7 {
        h
    } else {
        r.bottom() + pad
    };
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

/// Draws every block of `layout` over `p` in `look`.
pub(crate) fn draw(p: &mut Pixmap, layout: &Layout, look: &Look) {
    let roles = [Role::Credits, Role::Tagline, Role::Title];
    // Decide every treatment from the untouched art first, so one block's scrim does not
    // change the measurement for the next.
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
        let (bg, busy) = region_stats(p, r.inflate(size * 0.15));
        let text = block_color(look, role).luminance();
        // Dark scrims suit almost every colour, red included: only genuinely dark text (a
        // comedy tagline on yellow) gets a light one.
        let dark_scrim = text > 0.08;
        // Large display type needs less contrast than small text to read (WCAG's 3:1 vs 4.5:1);
        // outlined titles carry their own edge and need less still.
        let target = match (role, look.title_outline) {
            (Role::Title, Some(_)) => 1.6,
            (Role::Title, None) => 3.2,
            _ => 5.0,
        };
        let mut alpha = scrim_alpha(text, bg, target, dark_scrim);
        if contrast(text, bg) < target * 1.5 && busy > 0.12 {
            // Busy art under text breaks letter shapes even at a good average contrast.
            alpha += 0.2;
        }
        plans.push((role, r, alpha.min(0.82), dark_scrim));
    }
    for (_, r, alpha, dark) in &plans {
        if *alpha > 0.02 {
            let c = if *dark {
                look.palette.near.mix(Rgb(0, 0, 0), 0.6)
            } else {
                Rgb(255, 252, 246)
            };
            draw_scrim(p, *r, c, *alpha);
        }
    }
    for (role, r, _, dark) in &plans {
        let lines: Vec<&TextBox> = layout.boxes.iter().filter(|b| b.role == *role).collect();
        let paths: Vec<tiny_skia::Path> = lines.iter().filter_map(|b| line_path(b)).collect();
        let size = lines.first().map_or(0.0, |b| b.size);
        let (halo, opacity) = match role {
            Role::Title => (look.title_halo, 0.85),
            _ if *dark => (Rgb(0, 0, 0), 0.7),
            _ => (Rgb(255, 255, 255), 0.6),
        };
        let shadow_drop = if halo.luminance() < 0.2 {
            size * 0.04
        } else {
            0.0
        };
        draw_halo(
            p,
            &paths,
            *r,
            halo,
            opacity,
            (size * 0.12).max(2.0),
            shadow_drop,
        );
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
            let paint = fill_paint(look, *role, b.rect);
            p.fill_path(path, &paint, FillRule::Winding, Transform::identity(), None);
        }
        let ink = look.monochrome.then(|| block_color(look, *role));
        for b in &lines {
            draw_pictures(p, b, ink);
        }
    }
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
