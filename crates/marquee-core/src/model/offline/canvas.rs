//! The drawing surface every layer paints on, and the helpers they share: solid and gradient
//! paints, circles, midpoint-displacement ridges, row bands, single pixels and soft glows. It
//! knows nothing of scenes or genres; the layers decide what to draw.

use tiny_skia::{
    BlendMode, FillRule, GradientStop, LinearGradient, Paint, Path, PathBuilder, Pixmap, Point,
    RadialGradient, Rect, Shader, SpreadMode, Transform,
};

use super::rng::Rng;
use crate::genre::{Palette, Rgb};

/// The drawing surface with the scene's palette and random stream.
///
/// Positions are fractions of the canvas (`w`, `h`); sizes are fractions of the *stage*
/// (`sw`, `sh`), the sheet the scene was composed for. For [`super::render`] the stage is the
/// canvas. For [`super::render_extended`] it is the one-sheet (2:3) the canvas extends, so a
/// banner shows more buildings, trees and ridges of the one-sheet's size rather than the
/// one-sheet's few stretched across it, and a story shows more sky and foreground.
pub(super) struct Canvas<'a> {
    pub(super) p: &'a mut Pixmap,
    pub(super) w: f32,
    pub(super) h: f32,
    pub(super) sw: f32,
    pub(super) sh: f32,
    pub(super) pal: Palette,
    pub(super) rng: Rng,
    /// An element drawn all in one colour, for a recolour's coverage renders.
    pub(super) marker: Option<(super::recolor::Element, Rgb)>,
}

pub(super) fn solid(c: Rgb, alpha: f32) -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color(c.color(alpha));
    paint.anti_alias = true;
    paint
}

pub(super) fn vertical(y0: f32, y1: f32, stops: Vec<GradientStop>) -> Option<Shader<'static>> {
    LinearGradient::new(
        Point::from_xy(0.0, y0),
        Point::from_xy(0.0, y1),
        stops,
        SpreadMode::Pad,
        Transform::identity(),
    )
}

pub(super) fn circle(x: f32, y: f32, r: f32) -> Option<Path> {
    PathBuilder::from_circle(x, y, r.max(0.1))
}

/// One-dimensional midpoint displacement: `n` = 2^k + 1 heights in [-1, 1]-ish, the coarsest
/// displacement `amp` (1 for a sheet's own ridge; smaller for a ridge that extends one).
pub(super) fn ridge_noise(rng: &mut Rng, k: u32, rough: f32, amp: f32) -> Vec<f32> {
    let n = (1usize << k) + 1;
    let mut v = vec![0.0_f32; n];
    v[0] = rng.range(-amp, amp);
    v[n - 1] = rng.range(-amp, amp);
    let mut step = n - 1;
    let mut amp = amp;
    while step > 1 {
        let half = step / 2;
        let mut i = half;
        while i < n {
            v[i] = (v[i - half] + v[i + half]) / 2.0 + rng.range(-amp, amp);
            i += step;
        }
        amp *= rough;
        step = half;
    }
    v
}

impl Canvas<'_> {
    pub(super) fn fill(&mut self, path: &Path, paint: &Paint) {
        self.p
            .fill_path(path, paint, FillRule::Winding, Transform::identity(), None);
    }

    pub(super) fn u(&self) -> f32 {
        self.sw.min(self.sh)
    }

    /// How many stage widths the canvas spans: 1 for a sheet's own art, 3.5 for a 21:9
    /// banner extending a one-sheet. Multiplying by it leaves a sheet's own art unchanged
    /// (`x * 1.0 == x` exactly).
    pub(super) fn span(&self) -> f32 {
        self.w / self.sw
    }

    /// A ridge of `2^k + 1` heights across the canvas whose features are the stage's size:
    /// on a wider canvas, more octaves with the coarsest ones calmer, so the ridge grows more
    /// peaks rather than wider ones.
    pub(super) fn ridge(&mut self, k: u32, rough: f32) -> Vec<f32> {
        let extra = self.span().log2().round().max(0.0) as u32;
        ridge_noise(&mut self.rng, k + extra, rough, rough.powi(extra as i32))
    }

    /// Samples for a profile of `n` points across the stage, over the whole canvas.
    pub(super) fn samples(&self, n: usize) -> usize {
        (n as f32 * self.span()).round().max(n as f32) as usize
    }

    /// Blends a horizontal band, rows `y0..y1`, with the colour and opacity `f` gives for each
    /// row's position `t` in 0..1 through the band. Written directly for the same reason as
    /// [`Canvas::sky`].
    pub(super) fn band(&mut self, y0: f32, y1: f32, f: impl Fn(f32) -> (Rgb, f32)) {
        let (w, h) = (self.p.width() as usize, self.p.height() as i64);
        let (a, b) = (
            (y0.floor() as i64).clamp(0, h) as usize,
            (y1.ceil() as i64).clamp(0, h) as usize,
        );
        let span = (y1 - y0).max(1.0);
        let data = self.p.data_mut();
        for y in a..b {
            let (c, alpha) = f(((y as f32 - y0) / span).clamp(0.0, 1.0));
            let alpha = alpha.clamp(0.0, 1.0);
            if alpha <= 0.0 {
                continue;
            }
            let src = [
                f32::from(c.0) * alpha,
                f32::from(c.1) * alpha,
                f32::from(c.2) * alpha,
            ];
            let keep = 1.0 - alpha;
            for px in data[y * w * 4..(y + 1) * w * 4].chunks_exact_mut(4) {
                for k in 0..3 {
                    px[k] = (f32::from(px[k]) * keep + src[k]) as u8;
                }
            }
        }
    }

    pub(super) fn plot(&mut self, x: u32, y: u32, c: Rgb, a: f32) {
        let w = self.p.width();
        if x >= w || y >= self.p.height() {
            return;
        }
        let i = (y * w + x) as usize * 4;
        let d = self.p.data_mut();
        for (k, v) in [c.0, c.1, c.2].into_iter().enumerate() {
            d[i + k] = (f32::from(d[i + k]) + (f32::from(v) - f32::from(d[i + k])) * a) as u8;
        }
    }

    /// A soft radial glow of `c`, strongest at the centre.
    pub(super) fn glow(&mut self, x: f32, y: f32, r: f32, c: Rgb, a: f32) {
        let stops = vec![
            GradientStop::new(0.0, c.color(a)),
            GradientStop::new(0.25, c.color(a * 0.45)),
            GradientStop::new(1.0, c.color(0.0)),
        ];
        let Some(shader) = RadialGradient::new(
            Point::from_xy(x, y),
            0.0,
            Point::from_xy(x, y),
            r,
            stops,
            SpreadMode::Pad,
            Transform::identity(),
        ) else {
            return;
        };
        let paint = Paint {
            shader,
            blend_mode: BlendMode::Screen,
            ..Paint::default()
        };
        if let Some(rect) = Rect::from_xywh(x - r, y - r, 2.0 * r, 2.0 * r) {
            self.p.fill_rect(rect, &paint, Transform::identity(), None);
        }
    }
}
