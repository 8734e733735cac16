//! The sky layer: the graded sky field with the light's halo, stars at night and in space,
//! the light source itself (sun, moon or ringed planet), genre beams and sunbursts, and
//! cartoon clouds. Everything here is painted before the land, which covers whatever reaches
//! below the horizon; nothing here knows what the ground will be.

use tiny_skia::{
    BlendMode, GradientStop, LinearGradient, Paint, PathBuilder, Point, Rect, SpreadMode, Stroke,
    Transform,
};

use super::canvas::{Canvas, circle, solid};
use super::scene::{Scene, Time};
use crate::genre::{Rgb, Style};

impl Canvas<'_> {
    /// The sky field and the light's halo, written directly: a vertical gradient is constant
    /// along each row, and a per-pixel halo is far cheaper than a canvas-sized radial-gradient
    /// fill through the general raster pipeline.
    pub(super) fn sky(&mut self, s: &Scene) {
        let [top, mid, hor] = self.pal.sky;
        let (top, mid, hor) = match s.time {
            // Night pulls the whole sky towards the zenith colour, keeping a faint horizon glow.
            Time::Night if !matches!(s.style, Style::SciFi) => {
                (top, top.mix(mid, 0.5), mid.mix(hor, 0.45))
            }
            _ => (top, mid, hor),
        };
        let (lx, ly, lr) = s.light;
        let (cx, cy, r) = (lx * self.w, ly * self.h, lr * self.u());
        let (glow, radius, strength) = match (s.style, s.time) {
            (Style::SciFi, _) => (self.pal.accent, r * 2.6, 0.5),
            (_, Time::Night) => (self.pal.light, r * 5.0, 0.4),
            _ => (self.pal.light, r * 4.5, 0.65),
        };
        let hy = (s.horizon * self.h).max(1.0);
        let (w, h) = (self.p.width() as usize, self.p.height() as usize);
        let gl = [f32::from(glow.0), f32::from(glow.1), f32::from(glow.2)];
        let data = self.p.data_mut();
        for (y, row) in data.chunks_exact_mut(w * 4).enumerate().take(h) {
            let t = (y as f32 / hy).min(1.0);
            let base = if t < 0.55 {
                top.mix(mid, t / 0.55)
            } else {
                mid.mix(hor, (t - 0.55) / 0.45)
            };
            let base = [f32::from(base.0), f32::from(base.1), f32::from(base.2)];
            let dy = y as f32 - cy;
            let near_row = dy.abs() < radius;
            for (x, px) in row.chunks_exact_mut(4).enumerate() {
                let mut c = base;
                if near_row {
                    let dx = x as f32 - cx;
                    let u = (dx * dx + dy * dy).sqrt() / radius;
                    if u < 1.0 {
                        let g = strength * (1.0 - u) * (1.0 - u);
                        for k in 0..3 {
                            // Screen blend: brightens without ever clipping to flat white.
                            c[k] += gl[k] * g * (1.0 - c[k] / 255.0);
                        }
                    }
                }
                px[0] = c[0] as u8;
                px[1] = c[1] as u8;
                px[2] = c[2] as u8;
                px[3] = 255;
            }
        }
    }

    pub(super) fn stars(&mut self, s: &Scene) {
        let (w, h) = (self.p.width(), self.p.height());
        let n = ((self.w * self.h) / 1400.0) as usize;
        let limit = s.horizon * self.h;
        let star = self.pal.accent.mix(Rgb(255, 255, 255), 0.6);
        for _ in 0..n {
            let x = (self.rng.f() * w as f32) as u32;
            let y = (self.rng.f() * limit) as u32;
            // Fewer, fainter stars near the horizon, where the sky glow washes them out.
            let fade = 1.0 - y as f32 / limit;
            let b = self.rng.f().powi(3) * fade;
            if y < h {
                self.plot(x, y, star, b);
            }
        }
        for _ in 0..(n / 60).max(1) {
            let x = self.rng.range(0.0, self.w);
            let y = self.rng.range(0.0, limit * 0.8);
            let r = self.u() * self.rng.range(0.002, 0.004);
            self.glow(x, y, r * 4.0, star, 0.5);
            if let Some(c) = circle(x, y, r * 0.6) {
                self.fill(&c, &solid(star, 1.0));
            }
        }
    }

    pub(super) fn light(&mut self, s: &Scene) {
        let (lx, ly, lr) = s.light;
        let (x, y, r) = (lx * self.w, ly * self.h, lr * self.u());
        let light = self.pal.light;
        match (s.style, s.time) {
            (Style::SciFi, _) => {
                // A ringed planet, lit from one side.
                let dark = self.pal.far.mix(self.pal.near, 0.4);
                let stops = vec![
                    GradientStop::new(0.0, light.color(1.0)),
                    GradientStop::new(0.5, self.pal.far.color(1.0)),
                    GradientStop::new(1.0, dark.color(1.0)),
                ];
                let shader = LinearGradient::new(
                    Point::from_xy(x - r, y - r),
                    Point::from_xy(x + r, y + r),
                    stops,
                    SpreadMode::Pad,
                    Transform::identity(),
                );
                if let (Some(c), Some(shader)) = (circle(x, y, r), shader) {
                    let paint = Paint {
                        shader,
                        anti_alias: true,
                        ..Paint::default()
                    };
                    self.fill(&c, &paint);
                }
                let tilt = self.rng.range(-0.35, 0.35);
                for (k, a) in [(1.55, 0.7), (1.75, 0.45), (1.95, 0.25)] {
                    if let Some(ring) = PathBuilder::from_oval(
                        Rect::from_xywh(-r * k, -r * k * 0.22, 2.0 * r * k, 2.0 * r * k * 0.44)
                            .unwrap_or(Rect::from_xywh(0.0, 0.0, 1.0, 1.0).expect("unit rect")),
                    ) {
                        let t = Transform::from_rotate(tilt.to_degrees()).post_translate(x, y);
                        let stroke = Stroke {
                            width: r * 0.07,
                            ..Stroke::default()
                        };
                        self.p.stroke_path(
                            &ring,
                            &solid(self.pal.accent.mix(light, 0.5), a),
                            &stroke,
                            t,
                            None,
                        );
                    }
                }
            }
            (_, Time::Night) => {
                if let Some(c) = circle(x, y, r) {
                    self.fill(&c, &solid(light, 1.0));
                }
                // Maria: a few faint darker patches make a disc read as the moon.
                for _ in 0..4 {
                    let (dx, dy) = (self.rng.range(-0.5, 0.5) * r, self.rng.range(-0.5, 0.5) * r);
                    if let Some(c) = circle(x + dx, y + dy, r * self.rng.range(0.15, 0.3)) {
                        self.fill(&c, &solid(light.mix(self.pal.far, 0.5), 0.25));
                    }
                }
            }
            _ => {
                if let Some(c) = circle(x, y, r) {
                    self.fill(&c, &solid(light.mix(Rgb(255, 255, 255), 0.35), 1.0));
                }
            }
        }
    }

    pub(super) fn beams(&mut self, s: &Scene) {
        let (lx, ly, _) = s.light;
        let (x, y) = (lx * self.w, ly * self.h);
        let mut pb = PathBuilder::new();
        let n = 7 + (self.rng.next_u64() % 5) as usize;
        for _ in 0..n {
            let a = self.rng.range(0.15, std::f32::consts::PI - 0.15);
            let spread = self.rng.range(0.015, 0.05);
            let len = self.h * 1.5;
            pb.move_to(x, y);
            pb.line_to(x + (a - spread).cos() * len, y + (a - spread).sin() * len);
            pb.line_to(x + (a + spread).cos() * len, y + (a + spread).sin() * len);
            pb.close();
        }
        if let Some(path) = pb.finish() {
            let mut paint = solid(self.pal.light, 0.07);
            paint.blend_mode = BlendMode::Screen;
            self.fill(&path, &paint);
        }
    }

    pub(super) fn sunburst(&mut self, s: &Scene) {
        let (lx, ly, _) = s.light;
        let (x, y) = (lx * self.w, ly * self.h);
        let mut pb = PathBuilder::new();
        let n = 20;
        let off = self.rng.range(0.0, 1.0);
        for i in 0..n {
            let a0 = (i as f32 + off) / n as f32 * std::f32::consts::TAU;
            let a1 = a0 + std::f32::consts::TAU / n as f32 / 2.0;
            let len = self.h * 2.0;
            pb.move_to(x, y);
            pb.line_to(x + a0.cos() * len, y + a0.sin() * len);
            pb.line_to(x + a1.cos() * len, y + a1.sin() * len);
            pb.close();
        }
        if let Some(path) = pb.finish() {
            self.fill(&path, &solid(self.pal.light, 0.35));
        }
    }

    pub(super) fn clouds(&mut self, s: &Scene) {
        for _ in 0..(3 + self.rng.next_u64() % 3) {
            let cx = self.rng.range(-0.1, 1.1) * self.w;
            let cy = self.rng.range(0.08, s.horizon * 0.7) * self.h;
            let r = self.u() * self.rng.range(0.05, 0.09);
            let mut pb = PathBuilder::new();
            for k in 0..5 {
                let dx = (k as f32 - 2.0) * r * 0.8;
                let rr = r * (1.0 - (k as f32 - 2.0).abs() * 0.2);
                pb.push_circle(cx + dx, cy - rr * 0.3, rr);
            }
            if let Some(rect) = Rect::from_xywh(cx - r * 2.0, cy - r * 0.3, r * 4.0, r * 0.9) {
                pb.push_rect(rect);
            }
            if let Some(path) = pb.finish() {
                self.fill(&path, &solid(Rgb(255, 255, 255), 0.92));
            }
        }
    }
}
