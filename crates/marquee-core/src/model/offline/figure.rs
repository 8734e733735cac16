//! The hero: a standing silhouette (or a couple) placed against the light and clear of where
//! the title will go, with a rim of light and a ground shadow. The figures are built from
//! simple shapes so they read at thumbnail size; nothing here knows about the land beneath.

use tiny_skia::{FillRule, PathBuilder, Rect, Transform};

use super::canvas::{Canvas, solid};
use super::scene::{Hero, Scene};
use crate::genre::{Placement, Rgb, Style};

impl Canvas<'_> {
    pub(super) fn hero(&mut self, s: &Scene) {
        if s.hero == Hero::None {
            return;
        }
        let scale = match (s.style, s.style.look().placement) {
            (Style::Documentary, _) => 0.09,
            (Style::Fantasy | Style::Horror, _) => 0.13,
            (_, Placement::Top) => 0.2,
            _ => 0.15,
        };
        let fh = self.sh.min(self.sw * 1.6) * scale * self.rng.range(0.9, 1.15);
        // The figure stands against the light, and where the title will not cover it: titles
        // set low push the figure up to the horizon, titles set high leave the foreground free.
        // A canvas taller than its stage (a 9:16 story) keeps its lowest fifth for the story's
        // own controls, with the billing block and tagline just above: the figure stands higher.
        let x = (s.light.0 + self.rng.range(-0.06, 0.06)) * self.w;
        let low = if self.h > self.sh { 0.68 } else { 0.8 };
        let ground = match s.style.look().placement {
            Placement::Top => self.h * low,
            _ => (s.horizon * self.h + self.h * 0.05).min(self.h * low),
        };
        let mut pb = PathBuilder::new();
        match s.hero {
            Hero::Couple => {
                figure(&mut pb, x - fh * 0.12, ground, fh, Hero::Coat);
                figure(&mut pb, x + fh * 0.12, ground, fh * 0.92, Hero::Wanderer);
                // Joined hands.
                if let Some(r) =
                    Rect::from_xywh(x - fh * 0.06, ground - fh * 0.47, fh * 0.12, fh * 0.035)
                {
                    pb.push_rect(r);
                }
            }
            kind => figure(&mut pb, x, ground, fh, kind),
        }
        let Some(path) = pb.finish() else { return };
        // A rim of light on the side facing the light source separates figure from ground.
        let dx = if s.light.0 * self.w < x { -1.0 } else { 1.0 } * fh * 0.012;
        let rim = self.pal.light;
        let t = Transform::from_translate(dx, -fh * 0.006);
        self.p
            .fill_path(&path, &solid(rim, 0.85), FillRule::Winding, t, None);
        self.fill(&path, &solid(self.pal.near.mix(Rgb(0, 0, 0), 0.3), 1.0));
        // Ground shadow.
        if let Some(o) = PathBuilder::from_oval(
            Rect::from_xywh(x - fh * 0.35, ground - fh * 0.02, fh * 0.7, fh * 0.05)
                .unwrap_or(Rect::from_xywh(0.0, 0.0, 1.0, 1.0).expect("unit rect")),
        ) {
            self.fill(&o, &solid(Rgb(0, 0, 0), 0.35));
        }
    }
}

/// Appends a standing figure `fh` tall with its feet at (`x`, `ground`).
fn figure(pb: &mut PathBuilder, x: f32, ground: f32, fh: f32, kind: Hero) {
    let head_r = fh * 0.062;
    let head_y = ground - fh + head_r;
    let shoulder_y = ground - fh * 0.81;
    let hip_y = ground - fh * 0.47;
    let sw = fh * 0.125;
    pb.push_circle(x, head_y, head_r);
    // Neck.
    if let Some(r) = Rect::from_xywh(
        x - head_r * 0.45,
        head_y,
        head_r * 0.9,
        shoulder_y - head_y + 1.0,
    ) {
        pb.push_rect(r);
    }
    match kind {
        Hero::Coat | Hero::Fedora => {
            // A long coat flaring to the knees.
            pb.move_to(x - sw, shoulder_y);
            pb.line_to(x + sw, shoulder_y);
            pb.line_to(x + sw * 1.35, ground - fh * 0.2);
            pb.line_to(x - sw * 1.35, ground - fh * 0.2);
            pb.close();
        }
        _ => {
            pb.move_to(x - sw, shoulder_y);
            pb.line_to(x + sw, shoulder_y);
            pb.line_to(x + sw * 0.8, hip_y);
            pb.line_to(x - sw * 0.8, hip_y);
            pb.close();
        }
    }
    // Legs, slightly apart.
    for side in [-1.0, 1.0] {
        pb.move_to(x + side * sw * 0.05, hip_y);
        pb.line_to(x + side * sw * 0.8, hip_y);
        pb.line_to(x + side * sw * 0.75, ground);
        pb.line_to(x + side * sw * 0.3, ground);
        pb.close();
    }
    // Arms.
    for side in [-1.0_f32, 1.0] {
        let sx = x + side * sw * 0.98;
        if kind == Hero::Cheer {
            pb.move_to(sx, shoulder_y);
            pb.line_to(sx + side * fh * 0.16, shoulder_y - fh * 0.22);
            pb.line_to(sx + side * fh * 0.2, shoulder_y - fh * 0.2);
            pb.line_to(sx - side * sw * 0.3, shoulder_y + fh * 0.05);
            pb.close();
        } else {
            pb.move_to(sx - side * sw * 0.25, shoulder_y);
            pb.line_to(sx + side * sw * 0.28, shoulder_y + fh * 0.02);
            pb.line_to(sx + side * sw * 0.35, ground - fh * 0.44);
            pb.line_to(sx, ground - fh * 0.44);
            pb.close();
        }
    }
    match kind {
        Hero::Fedora => {
            if let Some(r) = Rect::from_xywh(
                x - head_r * 1.9,
                head_y - head_r * 0.55,
                head_r * 3.8,
                head_r * 0.3,
            ) {
                pb.push_rect(r);
            }
            pb.move_to(x - head_r * 1.05, head_y - head_r * 0.5);
            pb.line_to(x - head_r * 0.9, head_y - head_r * 1.5);
            pb.line_to(x + head_r * 0.9, head_y - head_r * 1.5);
            pb.line_to(x + head_r * 1.05, head_y - head_r * 0.5);
            pb.close();
        }
        Hero::Cowboy => {
            pb.move_to(x - head_r * 2.6, head_y - head_r * 0.9);
            pb.quad_to(
                x,
                head_y - head_r * 0.2,
                x + head_r * 2.6,
                head_y - head_r * 0.9,
            );
            pb.line_to(x + head_r * 2.4, head_y - head_r * 0.5);
            pb.quad_to(
                x,
                head_y + head_r * 0.1,
                x - head_r * 2.4,
                head_y - head_r * 0.5,
            );
            pb.close();
            pb.move_to(x - head_r * 1.1, head_y - head_r * 0.5);
            pb.line_to(x - head_r * 0.9, head_y - head_r * 1.6);
            pb.quad_to(
                x,
                head_y - head_r * 1.3,
                x + head_r * 0.9,
                head_y - head_r * 1.6,
            );
            pb.line_to(x + head_r * 1.1, head_y - head_r * 0.5);
            pb.close();
        }
        Hero::Astronaut => {
            pb.push_circle(x, head_y, head_r * 1.6);
            if let Some(r) = Rect::from_xywh(x - sw * 1.2, shoulder_y, sw * 2.4, fh * 0.2) {
                pb.push_rect(r);
            }
        }
        Hero::Wanderer => {
            // A hooded cloak and a staff: fantasy and horror's lone traveller.
            pb.move_to(x - head_r * 1.3, head_y + head_r * 0.4);
            pb.quad_to(
                x,
                head_y - head_r * 2.4,
                x + head_r * 1.3,
                head_y + head_r * 0.4,
            );
            pb.close();
            pb.move_to(x - sw, shoulder_y);
            pb.line_to(x + sw, shoulder_y);
            pb.line_to(x + sw * 1.5, ground);
            pb.line_to(x - sw * 1.5, ground);
            pb.close();
            if let Some(r) =
                Rect::from_xywh(x + sw * 1.7, ground - fh * 1.05, fh * 0.022, fh * 1.05)
            {
                pb.push_rect(r);
            }
        }
        _ => {}
    }
}
