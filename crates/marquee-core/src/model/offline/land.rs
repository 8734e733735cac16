//! The land layer: receding silhouette ranges that fade into the sky's haze, one kind per
//! [`Land`](super::scene::Land), with their landmarks (a castle, saguaros, lit windows, a
//! lighthouse, a lone house, craters). It draws from the horizon down and knows nothing of the
//! hero or the genre details laid over it.

use tiny_skia::{BlendMode, LineCap, PathBuilder, Rect, Stroke, Transform};

use super::canvas::{Canvas, circle, solid};
use super::scene::Scene;
use crate::genre::{Rgb, Style};

impl Canvas<'_> {
    /// Colour of silhouette layer `i` of `n`, receding into the sky's haze.
    fn layer(&self, i: usize, n: usize) -> Rgb {
        let t = if n <= 1 {
            1.0
        } else {
            i as f32 / (n - 1) as f32
        };
        self.pal.far.mix(self.pal.near, t.powf(0.8))
    }

    /// Fills from a height profile down to the bottom of the sheet.
    fn profile(&mut self, ys: &[f32], c: Rgb) {
        let mut pb = PathBuilder::new();
        pb.move_to(0.0, self.h + 1.0);
        let n = ys.len().max(2) - 1;
        for (i, y) in ys.iter().enumerate() {
            pb.line_to(i as f32 / n as f32 * self.w, *y);
        }
        pb.line_to(self.w, self.h + 1.0);
        pb.close();
        if let Some(path) = pb.finish() {
            self.fill(&path, &solid(c, 1.0));
        }
    }

    pub(super) fn peaks(&mut self, s: &Scene, gy: f32) {
        let n = 4;
        for i in 0..n {
            let v = self.ridge(7, 0.55);
            let base = gy - self.sh * (0.16 - i as f32 * 0.045);
            let amp = self.sh * (0.14 - i as f32 * 0.025);
            let ys: Vec<f32> = v.iter().map(|y| base + y * amp).collect();
            let c = self.layer(i, n);
            if i == 1 && s.castle {
                // The castle crowns the highest point of the second range.
                let (mut best, mut bi) = (f32::MAX, 0);
                for (k, y) in ys.iter().enumerate().skip(20).take(ys.len() - 40) {
                    if *y < best {
                        best = *y;
                        bi = k;
                    }
                }
                let x = bi as f32 / (ys.len() - 1) as f32 * self.w;
                self.castle(x, best + self.sh * 0.01, c);
            }
            self.profile(&ys, c);
        }
    }

    fn castle(&mut self, x: f32, base: f32, c: Rgb) {
        let u = self.u() * 0.9;
        let mut pb = PathBuilder::new();
        let towers = [
            (-0.09, 0.05, 0.020),
            (-0.045, 0.11, 0.024),
            (0.0, 0.16, 0.03),
            (0.05, 0.12, 0.022),
            (0.1, 0.07, 0.018),
        ];
        for (dx, th, tw) in towers {
            let (tx, top, half) = (x + dx * u, base - th * u, tw * u / 2.0);
            if let Some(r) = Rect::from_xywh(tx - half, top, half * 2.0, base - top + u * 0.02) {
                pb.push_rect(r);
            }
            // Conical roofs and a pennant make it read as a castle at thumbnail size.
            pb.move_to(tx - half * 1.3, top);
            pb.line_to(tx, top - half * 3.2);
            pb.line_to(tx + half * 1.3, top);
            pb.close();
        }
        if let Some(r) = Rect::from_xywh(x - 0.1 * u, base - 0.05 * u, 0.2 * u, 0.07 * u) {
            pb.push_rect(r);
        }
        if let Some(path) = pb.finish() {
            self.fill(&path, &solid(c, 1.0));
        }
        // Lit windows in the keep.
        for k in 0..5 {
            let wx = x + (self.rng.range(-0.1, 0.1)) * u;
            let wy = base - self.rng.range(0.03, 0.12) * u;
            if let Some(r) = Rect::from_xywh(wx, wy, u * 0.006, u * 0.012) {
                let a = if k % 2 == 0 { 0.9 } else { 0.6 };
                self.p
                    .fill_rect(r, &solid(self.pal.accent, a), Transform::identity(), None);
            }
        }
    }

    pub(super) fn mesas(&mut self, gy: f32) {
        for i in 0..3 {
            let c = self.layer(i, 4);
            let mut pb = PathBuilder::new();
            let mut x = -self.rng.range(0.0, 0.2) * self.sw;
            let base = gy + i as f32 * self.sh * 0.03;
            while x < self.w {
                let wdt = self.sw * self.rng.range(0.12, 0.35) / (1.0 + i as f32 * 0.3);
                let top = base - self.sh * self.rng.range(0.05, 0.16) * (1.0 - i as f32 * 0.2);
                let lean = wdt * 0.12;
                if self.rng.chance(0.75) {
                    pb.move_to(x, base + 1.0);
                    pb.line_to(x + lean, top + (base - top) * 0.35);
                    pb.line_to(x + lean * 1.4, top);
                    pb.line_to(x + wdt - lean * 1.4, top);
                    pb.line_to(x + wdt - lean, top + (base - top) * 0.35);
                    pb.line_to(x + wdt, base + 1.0);
                    pb.close();
                }
                x += wdt * self.rng.range(1.0, 1.6);
            }
            if let Some(r) = Rect::from_xywh(0.0, base, self.w, self.h - base + 1.0) {
                pb.push_rect(r);
            }
            if let Some(path) = pb.finish() {
                self.fill(&path, &solid(c, 1.0));
            }
        }
        // Saguaros in the foreground.
        let near = self.pal.near;
        for _ in 0..(1 + self.rng.next_u64() % 3) {
            let (left, right) = (self.rng.f() * 0.25, 0.75 + self.rng.f() * 0.25);
            let x = self.rng.pick(&[left, right]) * self.w;
            let hgt = self.sh * self.rng.range(0.1, 0.2);
            self.cactus(x, self.h * 0.93, hgt, near);
        }
        self.ground(gy + self.sh * 0.12, 0.02, near);
    }

    fn cactus(&mut self, x: f32, base: f32, hgt: f32, c: Rgb) {
        let wdt = hgt * 0.14;
        let stroke = Stroke {
            width: wdt,
            line_cap: LineCap::Round,
            ..Stroke::default()
        };
        let mut pb = PathBuilder::new();
        pb.move_to(x, base);
        pb.line_to(x, base - hgt);
        let arm = |pb: &mut PathBuilder, side: f32, at: f32, up: f32| {
            pb.move_to(x, base - hgt * at);
            pb.line_to(x + side * hgt * 0.22, base - hgt * at);
            pb.line_to(x + side * hgt * 0.22, base - hgt * (at + up));
        };
        arm(&mut pb, -1.0, 0.45, 0.3);
        arm(&mut pb, 1.0, 0.6, 0.25);
        if let Some(path) = pb.finish() {
            self.p
                .stroke_path(&path, &solid(c, 1.0), &stroke, Transform::identity(), None);
        }
    }

    /// A gently rolling ground band from `top` down.
    fn ground(&mut self, top: f32, amp: f32, c: Rgb) {
        let v = self.ridge(5, 0.5);
        let ys: Vec<f32> = v.iter().map(|y| top + y * amp * self.sh).collect();
        self.profile(&ys, c);
    }

    pub(super) fn city(&mut self, gy: f32) {
        for layer in 0..3 {
            let c = self.layer(layer, 3);
            let mut pb = PathBuilder::new();
            let mut windows = Vec::new();
            let mut x = -self.rng.range(0.0, 0.05) * self.sw;
            let scale = 1.0 + layer as f32 * 0.35;
            while x < self.w {
                let bw = self.sw * self.rng.range(0.05, 0.12) * scale;
                // Taller towers towards the edges frame the light in the middle.
                let edge = ((x + bw / 2.0) / self.w - 0.5).abs() * 2.0;
                let bh = self.sh
                    * self.rng.range(0.08, 0.26)
                    * (0.7 + edge * 0.8)
                    * (1.0 + layer as f32 * 0.15);
                let top = gy + layer as f32 * self.sh * 0.04 - bh;
                if let Some(r) = Rect::from_xywh(x, top, bw, self.h - top + 1.0) {
                    pb.push_rect(r);
                }
                if self.rng.chance(0.35) {
                    // A spire or antenna.
                    let sx = x + bw * self.rng.range(0.3, 0.7);
                    pb.move_to(sx - bw * 0.06, top);
                    pb.line_to(sx, top - bh * self.rng.range(0.1, 0.3));
                    pb.line_to(sx + bw * 0.06, top);
                    pb.close();
                }
                if layer >= 1 {
                    windows.push((x, top, bw));
                }
                x += bw * self.rng.range(0.85, 1.05);
            }
            if let Some(path) = pb.finish() {
                self.fill(&path, &solid(c, 1.0));
            }
            let win = self.pal.accent;
            let ws = self.u() * 0.009 * scale;
            for (bx, top, bw) in windows {
                let cols = ((bw / (ws * 2.2)) as usize).max(1);
                let mut y = top + ws * 1.5;
                let lit = self.rng.range(0.08, 0.35);
                while y < self.h * 0.96 {
                    for k in 0..cols {
                        if self.rng.chance(lit)
                            && let Some(r) = Rect::from_xywh(
                                bx + ws * 0.8 + k as f32 * ws * 2.2,
                                y,
                                ws,
                                ws * 1.3,
                            )
                        {
                            let a = self.rng.range(0.35, 0.95) * if layer == 1 { 0.5 } else { 0.9 };
                            self.p
                                .fill_rect(r, &solid(win, a), Transform::identity(), None);
                        }
                    }
                    y += ws * 2.6;
                }
            }
        }
    }

    pub(super) fn forest(&mut self, s: &Scene, gy: f32) {
        let dead = matches!(s.style, Style::Horror | Style::Noir | Style::Thriller);
        for layer in 0..3 {
            let c = self.layer(layer, 3);
            let v = self.ridge(6, 0.5);
            let base = gy + layer as f32 * self.sh * 0.05;
            let ys: Vec<f32> = v.iter().map(|y| base + y * self.sh * 0.02).collect();
            let mut pb = PathBuilder::new();
            let n = 40 - layer * 10;
            for _ in 0..n {
                let x = self.rng.range(-0.05, 1.05) * self.w;
                let idx = ((x / self.w).clamp(0.0, 1.0) * (ys.len() - 1) as f32) as usize;
                let y = ys[idx];
                let th = self.sh * self.rng.range(0.06, 0.13) * (1.0 + layer as f32 * 0.4);
                let tw = th * 0.28;
                // A pine: three stacked triangles.
                for k in 0..3 {
                    let top = y - th + k as f32 * th * 0.22;
                    let bot = y - th * 0.35 + k as f32 * th * 0.25;
                    let half = tw * (0.5 + k as f32 * 0.25);
                    pb.move_to(x, top);
                    pb.line_to(x + half, bot);
                    pb.line_to(x - half, bot);
                    pb.close();
                }
            }
            if (!dead || layer < 2)
                && let Some(path) = pb.finish()
            {
                self.fill(&path, &solid(c, 1.0));
            }
            self.profile(&ys, c);
        }
        if dead {
            let near = self.pal.near;
            for x in [self.rng.range(0.02, 0.25), self.rng.range(0.75, 0.98)] {
                let len = self.sh * self.rng.range(0.15, 0.22);
                self.dead_tree(
                    x * self.w,
                    self.h * 0.98,
                    -std::f32::consts::FRAC_PI_2,
                    len,
                    len * 0.12,
                    7,
                    near,
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn dead_tree(&mut self, x: f32, y: f32, a: f32, len: f32, wdt: f32, depth: u32, c: Rgb) {
        let (x2, y2) = (x + a.cos() * len, y + a.sin() * len);
        let mut pb = PathBuilder::new();
        pb.move_to(x, y);
        pb.line_to(x2, y2);
        if let Some(path) = pb.finish() {
            let stroke = Stroke {
                width: wdt.max(0.8),
                line_cap: LineCap::Round,
                ..Stroke::default()
            };
            self.p
                .stroke_path(&path, &solid(c, 1.0), &stroke, Transform::identity(), None);
        }
        if depth == 0 {
            return;
        }
        let kids = if self.rng.chance(0.3) { 3 } else { 2 };
        for _ in 0..kids {
            let na = a + self.rng.range(-0.75, 0.75);
            let nl = len * self.rng.range(0.6, 0.8);
            self.dead_tree(x2, y2, na, nl, wdt * 0.66, depth - 1, c);
        }
    }

    pub(super) fn sea(&mut self, s: &Scene, gy: f32) {
        // Far islands or headlands break the horizon line.
        let v = self.ridge(6, 0.6);
        let ys: Vec<f32> = v
            .iter()
            .map(|y| gy - (y.max(0.0) * self.sh * 0.06))
            .collect();
        let far = self.layer(0, 3);
        if s.lighthouse {
            // On the highest headland, with its lamp lit and a beam sweeping the sky.
            let (mut best, mut bi) = (f32::MAX, ys.len() / 2);
            for (k, y) in ys.iter().enumerate().skip(8).take(ys.len() - 16) {
                if *y < best {
                    best = *y;
                    bi = k;
                }
            }
            let x = bi as f32 / (ys.len() - 1) as f32 * self.w;
            self.lighthouse(x, best + self.sh * 0.004, self.sh * 0.11, far);
        }
        self.profile(&ys, far);
        let [_, mid, hor] = self.pal.sky;
        let water_top = hor.mix(self.pal.far, 0.5);
        let water_bot = self.pal.near.mix(mid, 0.2);
        self.band(gy, self.h, |t| (water_top.mix(water_bot, t), 1.0));
        // The light's reflection: a broken column of glints.
        let lx = s.light.0 * self.w;
        let glint = self.pal.light;
        let mut y = gy + 2.0;
        let mut k = 0.0;
        while y < self.h {
            let t = (y - gy) / (self.h - gy);
            let half = self.u() * (0.03 + t * 0.12) * self.rng.range(0.3, 1.0);
            let x = lx + self.rng.range(-1.0, 1.0) * self.u() * 0.02 * (1.0 + t * 3.0);
            if let Some(r) = Rect::from_xywh(x - half, y, half * 2.0, (1.0 + t * 3.0).max(1.0)) {
                self.p.fill_rect(
                    r,
                    &solid(glint, 0.55 * (1.0 - t).powf(1.5)),
                    Transform::identity(),
                    None,
                );
            }
            k += 1.0;
            y += 3.0 + t * 14.0 + (k % 3.0);
        }
        // A low foreground shore for the figure to stand on.
        let near = self.pal.near;
        self.ground(self.h * 0.9, 0.015, near);
    }

    fn lighthouse(&mut self, x: f32, base: f32, th: f32, c: Rgb) {
        let (bw, tw) = (th * 0.16, th * 0.1);
        let top = base - th;
        let mut pb = PathBuilder::new();
        pb.move_to(x - bw / 2.0, base + 2.0);
        pb.line_to(x - tw / 2.0, top);
        pb.line_to(x + tw / 2.0, top);
        pb.line_to(x + bw / 2.0, base + 2.0);
        pb.close();
        // Gallery and cap above the lantern room.
        if let Some(r) = Rect::from_xywh(x - tw * 0.75, top - th * 0.02, tw * 1.5, th * 0.03) {
            pb.push_rect(r);
        }
        pb.move_to(x - tw * 0.6, top - th * 0.12);
        pb.line_to(x, top - th * 0.2);
        pb.line_to(x + tw * 0.6, top - th * 0.12);
        pb.close();
        if let Some(path) = pb.finish() {
            self.fill(&path, &solid(c, 1.0));
        }
        let lamp = self.pal.light.mix(Rgb(255, 255, 255), 0.5);
        let ly = top - th * 0.07;
        let dir = if self.rng.chance(0.5) { 1.0 } else { -1.0 };
        let mut beam = PathBuilder::new();
        beam.move_to(x, ly);
        beam.line_to(x + dir * self.w * 1.2, ly - self.sh * 0.12);
        beam.line_to(x + dir * self.w * 1.2, ly + self.sh * 0.02);
        beam.close();
        if let Some(path) = beam.finish() {
            let mut paint = solid(lamp, 0.22);
            paint.blend_mode = BlendMode::Screen;
            self.fill(&path, &paint);
        }
        self.glow(x, ly, th * 0.5, lamp, 0.9);
        if let Some(r) = Rect::from_xywh(x - tw * 0.4, ly - th * 0.035, tw * 0.8, th * 0.07) {
            self.p
                .fill_rect(r, &solid(lamp, 1.0), Transform::identity(), None);
        }
    }

    pub(super) fn hills(&mut self, s: &Scene, gy: f32) {
        let bright = matches!(s.style, Style::Animation | Style::Comedy);
        for layer in 0..3 {
            let c = self.layer(layer, 3);
            let base = gy + layer as f32 * self.sh * 0.06;
            // As many hills as the one-sheet has per stage width, however wide the canvas.
            let (span, n) = (self.span(), self.samples(64));
            let (f1, f2, ph) = (
                self.rng.range(1.0, 2.5) * span,
                self.rng.range(3.0, 5.0) * span,
                self.rng.range(0.0, 6.0),
            );
            let amp = self.sh * 0.04;
            let ys: Vec<f32> = (0..=n)
                .map(|i| {
                    let t = i as f32 / n as f32 * std::f32::consts::TAU;
                    base - ((t * f1 / 2.0 + ph).sin() * amp
                        + (t * f2 / 2.0 + ph * 2.0).sin() * amp * 0.3)
                })
                .collect();
            self.profile(&ys, c);
            if bright && layer == 1 {
                for _ in 0..4 {
                    let x = self.rng.range(0.05, 0.95) * self.w;
                    let idx = ((x / self.w) * n as f32) as usize;
                    let y = ys[idx.min(n)];
                    let th = self.sh * self.rng.range(0.05, 0.08);
                    self.lollipop(x, y + self.sh * 0.01, th, c);
                }
            }
            if !bright && layer == 0 && s.style == Style::Horror {
                // A lone house with one lit window on the far hill.
                let x = self.rng.range(0.2, 0.8) * self.w;
                let y = ys[((x / self.w) * n as f32) as usize];
                self.house(x, y + self.sh * 0.005, self.u() * 0.12);
            }
        }
    }

    fn lollipop(&mut self, x: f32, base: f32, hgt: f32, c: Rgb) {
        let trunk = c.mix(Rgb(90, 60, 30), 0.6);
        if let Some(r) = Rect::from_xywh(x - hgt * 0.05, base - hgt * 0.6, hgt * 0.1, hgt * 0.6) {
            self.p
                .fill_rect(r, &solid(trunk, 1.0), Transform::identity(), None);
        }
        if let Some(cc) = circle(x, base - hgt * 0.75, hgt * 0.35) {
            self.fill(&cc, &solid(c.mix(Rgb(30, 120, 40), 0.5), 1.0));
        }
    }

    fn house(&mut self, x: f32, base: f32, s: f32) {
        let c = self.pal.near;
        let mut pb = PathBuilder::new();
        pb.move_to(x - s * 0.5, base);
        pb.line_to(x - s * 0.5, base - s * 0.45);
        pb.line_to(x - s * 0.2, base - s * 0.8);
        pb.line_to(x + s * 0.1, base - s * 0.45);
        pb.line_to(x + s * 0.5, base - s * 0.45);
        pb.line_to(x + s * 0.5, base);
        pb.close();
        if let Some(r) = Rect::from_xywh(x + s * 0.25, base - s * 0.75, s * 0.08, s * 0.3) {
            pb.push_rect(r);
        }
        if let Some(path) = pb.finish() {
            self.fill(&path, &solid(c, 1.0));
        }
        if let Some(r) = Rect::from_xywh(x - s * 0.25, base - s * 0.5, s * 0.09, s * 0.12) {
            self.p.fill_rect(
                r,
                &solid(Rgb(255, 210, 120), 0.95),
                Transform::identity(),
                None,
            );
        }
        self.glow(
            x - s * 0.2,
            base - s * 0.45,
            s * 0.4,
            Rgb(255, 190, 90),
            0.3,
        );
    }

    pub(super) fn dunes(&mut self, gy: f32) {
        for layer in 0..4 {
            let c = self.layer(layer, 4);
            let base = gy + layer as f32 * self.sh * 0.05;
            let (span, n) = (self.span(), self.samples(64));
            let (f, ph) = (self.rng.range(1.0, 2.2) * span, self.rng.range(0.0, 6.0));
            let ys: Vec<f32> = (0..=n)
                .map(|i| {
                    let t = i as f32 / n as f32;
                    // Asymmetric dunes: a long windward slope and a steep lee face.
                    let phase = (t * f + ph / 6.0).fract();
                    let shape = if phase < 0.75 {
                        phase / 0.75
                    } else {
                        (1.0 - phase) / 0.25
                    };
                    base - shape * self.sh * 0.05
                })
                .collect();
            self.profile(&ys, c);
        }
    }

    pub(super) fn alien(&mut self, gy: f32) {
        for layer in 0..3 {
            let c = self.layer(layer, 3);
            let v = self.ridge(6, 0.7);
            let base = gy + layer as f32 * self.sh * 0.05;
            let ys: Vec<f32> = v
                .iter()
                .map(|y| base - y.abs() * self.sh * (0.09 - layer as f32 * 0.02))
                .collect();
            self.profile(&ys, c);
        }
        // Craters catch the planet's light along their rims.
        let rim = self.pal.accent;
        for _ in 0..5 {
            let x = self.rng.range(0.0, 1.0) * self.w;
            let y = self.rng.range(0.82, 0.95) * self.h;
            let r = self.u() * self.rng.range(0.03, 0.07);
            if let Some(o) = PathBuilder::from_oval(
                Rect::from_xywh(x - r, y - r * 0.25, 2.0 * r, r * 0.5)
                    .unwrap_or(Rect::from_xywh(0.0, 0.0, 1.0, 1.0).expect("unit rect")),
            ) {
                let stroke = Stroke {
                    width: self.u() * 0.003,
                    ..Stroke::default()
                };
                self.p
                    .stroke_path(&o, &solid(rim, 0.35), &stroke, Transform::identity(), None);
            }
        }
    }
}
