//! Genre details laid over the land: a kraken's tentacles, fog banks, noir's street lamp and
//! blind shadows, birds, romance's bokeh, comedy's confetti and rain. Each is chosen by the
//! scene or the style; none of them decides anything about the composition.

use tiny_skia::{BlendMode, GradientStop, LineCap, Paint, PathBuilder, Rect, Stroke, Transform};

use super::canvas::{Canvas, circle, solid, vertical};
use super::scene::Scene;
use crate::genre::{Rgb, Style};

impl Canvas<'_> {
    pub(super) fn tentacles(&mut self, gy: f32) {
        let n = 2 + (self.rng.next_u64() % 3) as usize;
        let c = self.pal.near.mix(self.pal.far, 0.25);
        let sucker = self.pal.far.mix(self.pal.light, 0.3);
        for i in 0..n {
            let x0 = self.w * ((i as f32 + 0.5) / n as f32 + self.rng.range(-0.08, 0.08));
            let base = gy + self.sh * 0.12;
            let len = self.sh * self.rng.range(0.3, 0.5);
            let w0 = self.u() * self.rng.range(0.05, 0.08);
            let sway = self.rng.range(-1.0, 1.0) * self.sw * 0.12;
            let curl = if self.rng.chance(0.5) { 1.0 } else { -1.0 };
            let steps = 48;
            let mut pts = Vec::with_capacity(steps + 1);
            for k in 0..=steps {
                let t = k as f32 / steps as f32;
                // Rise with a sway, then curl over at the tip.
                let mut x = x0 + sway * (t * std::f32::consts::PI).sin();
                let mut y = base - len * t.min(0.8);
                if t > 0.7 {
                    let a = (t - 0.7) / 0.3 * std::f32::consts::PI * 1.4;
                    let r = len * 0.09;
                    x += curl * (r - r * a.cos());
                    y -= r * a.sin();
                }
                pts.push((x, y, w0 * (1.0 - t).powf(0.9) + self.u() * 0.003));
            }
            let mut pb = PathBuilder::new();
            let normal = |k: usize| {
                let (a, b) = (pts[k.saturating_sub(1)], pts[(k + 1).min(steps)]);
                let (dx, dy) = (b.0 - a.0, b.1 - a.1);
                let l = (dx * dx + dy * dy).sqrt().max(1e-3);
                (-dy / l, dx / l)
            };
            for (k, &(x, y, w)) in pts.iter().enumerate() {
                let (nx, ny) = normal(k);
                let (px, py) = (x + nx * w / 2.0, y + ny * w / 2.0);
                if k == 0 {
                    pb.move_to(px, py);
                } else {
                    pb.line_to(px, py);
                }
            }
            for (k, &(x, y, w)) in pts.iter().enumerate().rev() {
                let (nx, ny) = normal(k);
                pb.line_to(x - nx * w / 2.0, y - ny * w / 2.0);
            }
            pb.close();
            if let Some(path) = pb.finish() {
                self.fill(&path, &solid(c, 1.0));
            }
            for k in (4..steps - 6).step_by(4) {
                let (nx, ny) = normal(k);
                let (x, y, w) = pts[k];
                if let Some(cc) = circle(x - nx * w * 0.3 * curl, y - ny * w * 0.3 * curl, w * 0.12)
                {
                    self.fill(&cc, &solid(sucker, 0.5));
                }
            }
        }
    }

    pub(super) fn fog(&mut self, s: &Scene, gy: f32) {
        let strength = match s.style {
            Style::Horror => 0.45,
            Style::Noir => 0.25,
            _ => 0.2,
        };
        let fog = self.pal.sky[2].mix(self.pal.light, 0.2);
        for _ in 0..3 {
            let y = gy + self.rng.range(-0.06, 0.14) * self.sh;
            let band = self.sh * self.rng.range(0.04, 0.1);
            let a = strength * self.rng.range(0.5, 1.0);
            // A smooth hump across the band: thickest in the middle, gone at the edges.
            self.band(y - band, y + band, |t| {
                (fog, a * (1.0 - (2.0 * t - 1.0).powi(2)))
            });
        }
    }

    pub(super) fn lamp(&mut self, s: &Scene) {
        let x = if s.light.0 < 0.5 { 0.78 } else { 0.22 } * self.w;
        let top = self.h * 0.5;
        let base = self.h * 0.93;
        let pole = self.u() * 0.012;
        let near = self.pal.near;
        if let Some(r) = Rect::from_xywh(x - pole / 2.0, top, pole, base - top) {
            self.p
                .fill_rect(r, &solid(near, 1.0), Transform::identity(), None);
        }
        // The cone of light and its pool on the pavement.
        let mut pb = PathBuilder::new();
        pb.move_to(x - pole, top + pole);
        pb.line_to(x - self.sw * 0.22, base);
        pb.line_to(x + self.sw * 0.22, base);
        pb.line_to(x + pole, top + pole);
        pb.close();
        if let Some(path) = pb.finish() {
            let stops = vec![
                GradientStop::new(0.0, self.pal.light.color(0.35)),
                GradientStop::new(1.0, self.pal.light.color(0.04)),
            ];
            let mut paint = Paint {
                anti_alias: true,
                blend_mode: BlendMode::Screen,
                ..Paint::default()
            };
            if let Some(sh) = vertical(top, base, stops) {
                paint.shader = sh;
            }
            self.fill(&path, &paint);
        }
        let light = self.pal.light;
        self.glow(x, top, self.u() * 0.1, light, 0.9);
        if let Some(c) = circle(x, top, pole * 1.4) {
            self.fill(&c, &solid(Rgb(255, 255, 255), 1.0));
        }
    }

    pub(super) fn blinds(&mut self) {
        // Venetian-blind shadows: the genre's signature, laid diagonally across the frame.
        let mut pb = PathBuilder::new();
        let gap = self.sh * 0.05;
        let slope = self.sw * 0.35;
        let mut y = -slope;
        while y < self.h {
            pb.move_to(0.0, y);
            pb.line_to(self.w, y + slope);
            pb.line_to(self.w, y + slope + gap * 0.45);
            pb.line_to(0.0, y + gap * 0.45);
            pb.close();
            y += gap;
        }
        if let Some(path) = pb.finish() {
            self.fill(&path, &solid(Rgb(0, 0, 0), 0.28));
        }
    }

    pub(super) fn birds(&mut self, s: &Scene) {
        let n = 3 + (self.rng.next_u64() % 5) as usize;
        let (cx, cy) = (
            self.rng.range(0.2, 0.8) * self.w,
            (s.horizon - self.rng.range(0.25, 0.4)) * self.h,
        );
        let mut pb = PathBuilder::new();
        for _ in 0..n {
            let x = cx + self.rng.range(-0.15, 0.15) * self.sw;
            let y = cy + self.rng.range(-0.05, 0.05) * self.sh;
            let sz = self.u() * self.rng.range(0.012, 0.022);
            pb.move_to(x - sz, y - sz * 0.3);
            pb.quad_to(x - sz * 0.4, y - sz * 0.5, x, y);
            pb.quad_to(x + sz * 0.4, y - sz * 0.5, x + sz, y - sz * 0.3);
        }
        if let Some(path) = pb.finish() {
            let stroke = Stroke {
                width: self.u() * 0.004,
                line_cap: LineCap::Round,
                ..Stroke::default()
            };
            self.p.stroke_path(
                &path,
                &solid(self.pal.near, 0.9),
                &stroke,
                Transform::identity(),
                None,
            );
        }
    }

    pub(super) fn bokeh(&mut self) {
        for _ in 0..26 {
            let x = self.rng.range(0.0, 1.0) * self.w;
            let y = self.rng.range(0.05, 0.75) * self.h;
            let r = self.u() * self.rng.range(0.015, 0.06);
            let c = self.pal.accent.mix(self.pal.light, self.rng.f());
            if let Some(cc) = circle(x, y, r) {
                let mut paint = solid(c, self.rng.range(0.08, 0.3));
                paint.blend_mode = BlendMode::Screen;
                self.fill(&cc, &paint);
            }
        }
    }

    pub(super) fn confetti(&mut self) {
        let colours = [
            Rgb(230, 40, 90),
            Rgb(40, 170, 230),
            Rgb(120, 60, 200),
            Rgb(30, 190, 120),
            Rgb(255, 255, 255),
        ];
        for c in colours {
            let mut pb = PathBuilder::new();
            for _ in 0..30 {
                let x = self.rng.range(0.0, 1.0) * self.w;
                let y = self.rng.range(0.0, 0.85) * self.h;
                let a = self.rng.range(0.0, std::f32::consts::PI);
                let (l, t) = (self.u() * 0.014, self.u() * 0.006);
                let (ca, sa) = (a.cos(), a.sin());
                pb.move_to(x - ca * l + sa * t, y - sa * l - ca * t);
                pb.line_to(x + ca * l + sa * t, y + sa * l - ca * t);
                pb.line_to(x + ca * l - sa * t, y + sa * l + ca * t);
                pb.line_to(x - ca * l - sa * t, y - sa * l + ca * t);
                pb.close();
            }
            if let Some(path) = pb.finish() {
                self.fill(&path, &solid(c, 0.9));
            }
        }
    }

    pub(super) fn rain(&mut self) {
        let mut pb = PathBuilder::new();
        for _ in 0..500 {
            let x = self.rng.range(-0.1, 1.1) * self.w;
            let y = self.rng.range(0.0, 1.0) * self.h;
            let l = self.sh * self.rng.range(0.015, 0.04);
            pb.move_to(x, y);
            pb.line_to(x - l * 0.2, y + l);
        }
        if let Some(path) = pb.finish() {
            let stroke = Stroke {
                width: (self.u() * 0.0015).max(0.8),
                ..Stroke::default()
            };
            let c = self.pal.light;
            self.p
                .stroke_path(&path, &solid(c, 0.22), &stroke, Transform::identity(), None);
        }
    }
}
