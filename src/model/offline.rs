//! The embedded offline generator: deterministic key art from prompt, style and seed, with no
//! weights and no network. The same inputs always give the same pixels.
//!
//! The art is built the way a poster designer would layer it: a sky field, stars, a light
//! source with its glow and beams, receding silhouette layers (skyline, peaks, mesas, forest,
//! sea, hills, dunes or alien ground) chosen from the style and the prompt's words, a hero
//! figure with a rim light, genre details (fog, rain, bokeh, blinds, confetti, tentacles), then
//! film grain and a vignette in one per-pixel pass. Randomness comes from a stable FNV-1a hash
//! of the prompt and a SplitMix64 generator written here, never from std's hasher, whose output
//! may change between Rust releases. This module knows nothing of typography: titles are set
//! later by `crate::poster`.

use async_trait::async_trait;
use tiny_skia::{
    BlendMode, FillRule, GradientStop, LineCap, LinearGradient, Paint, Path, PathBuilder, Pixmap,
    Point, RadialGradient, Rect, Shader, SpreadMode, Stroke, Transform,
};

use super::{GeneratedImage, ImageModel, ImageRequest, ModelError};
use crate::poster::style::{Palette, Placement, Rgb, Style};

#[derive(Debug, Default, Clone)]
pub struct OfflineModel;

#[async_trait]
impl ImageModel for OfflineModel {
    async fn generate(&self, request: &ImageRequest) -> Result<GeneratedImage, ModelError> {
        let (w, h) = request.aspect.offline_size();
        let request = request.clone();
        // Rendering is CPU work; keep it off the async executor's threads.
        let pixmap = tokio::task::spawn_blocking(move || {
            render(&request.prompt, request.style, request.seed, w, h)
        })
        .await
        .map_err(|e| ModelError::Other(Box::new(e)))?;
        Ok(GeneratedImage {
            pixmap,
            seed: request.seed,
        })
    }
}

/// The largest side rendered; larger requests are clamped so allocation cannot fail.
const MAX_SIDE: u32 = 8192;

/// Renders the art for `prompt` in `style` with `seed` at `width`×`height` (each side clamped
/// to 1..=8192).
pub fn render(
    prompt: &str,
    style: crate::poster::style::Style,
    seed: u32,
    width: u32,
    height: u32,
) -> tiny_skia::Pixmap {
    let (w, h) = (width.clamp(1, MAX_SIDE), height.clamp(1, MAX_SIDE));
    let mut p = Pixmap::new(w, h).expect("sides are clamped to 1..=8192, which always allocates");
    let mut rng = Rng::new(
        fnv1a(prompt.trim().to_lowercase().as_bytes())
            ^ (u64::from(seed) << 20)
            ^ fnv1a(style.name().as_bytes()),
    );
    let scene = Scene::choose(prompt, style, &mut rng);
    let pal = jitter(style.look().palette, &mut rng);
    let mut c = Canvas {
        p: &mut p,
        w: w as f32,
        h: h as f32,
        pal,
        rng,
    };
    c.paint(&scene);
    let grain_seed = c.rng.next_u64();
    finish(&mut p, &pal, grain_seed);
    p
}

/// FNV-1a, 64 bit: a stable hash of the prompt.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64: tiny, fast and good enough for art.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float in [0, 1).
    pub fn f(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    pub fn range(&mut self, a: f32, b: f32) -> f32 {
        a + (b - a) * self.f()
    }

    pub fn chance(&mut self, p: f32) -> bool {
        self.f() < p
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next_u64() % items.len() as u64) as usize]
    }
}

/// The ground the scene stands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Land {
    City,
    Peaks,
    Mesas,
    Forest,
    Sea,
    Hills,
    Dunes,
    Space,
}

/// Who stands in the scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hero {
    None,
    Coat,
    Fedora,
    Cowboy,
    Astronaut,
    Couple,
    Cheer,
    Wanderer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Time {
    Day,
    Dusk,
    Night,
}

#[derive(Debug, Clone)]
struct Scene {
    style: Style,
    land: Land,
    hero: Hero,
    time: Time,
    /// The horizon as a fraction of the height.
    horizon: f32,
    /// The light source's centre (fractions) and radius (fraction of the shorter side).
    light: (f32, f32, f32),
    tentacles: bool,
    castle: bool,
    lighthouse: bool,
    rain: bool,
}

fn has_any(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| text.contains(w))
}

impl Scene {
    fn choose(prompt: &str, style: Style, rng: &mut Rng) -> Scene {
        let t = prompt.to_lowercase();
        let cues: &[(Land, &[&str])] = &[
            (
                Land::Space,
                &[
                    "space",
                    "planet",
                    "galaxy",
                    "mars",
                    "asteroid",
                    "orbit",
                    "astronaut",
                    "alien",
                    "starship",
                ],
            ),
            (
                Land::Sea,
                &[
                    "sea",
                    "ocean",
                    "beach",
                    "kraken",
                    "ship",
                    "island",
                    "lake",
                    "wave",
                    "harbo",
                    "pirate",
                    "shark",
                    "boat",
                    "coast",
                    "lighthouse",
                ],
            ),
            (
                Land::City,
                &[
                    "city", "street", "town", "neon", "cyber", "office", "york", "brooklyn",
                    "paris", "london", "tokyo", "downtown", "skyline", "heist", "bank",
                ],
            ),
            (
                Land::Peaks,
                &[
                    "mountain", "peak", "snow", "climb", "everest", "alps", "cliff", "volcano",
                    "castle", "kingdom",
                ],
            ),
            (
                Land::Mesas,
                &[
                    "desert", "canyon", "mesa", "frontier", "cowboy", "outlaw", "dust", "sheriff",
                    "saloon",
                ],
            ),
            (
                Land::Forest,
                &["forest", "woods", "tree", "jungle", "cabin", "haunted"],
            ),
            (Land::Dunes, &["dune", "sand", "sahara"]),
            (
                Land::Hills,
                &["meadow", "farm", "village", "countryside", "hill", "garden"],
            ),
        ];
        // Most specific first: a "dusty town" with a cowboy is the desert, not a skyline, and a
        // kraken in Brooklyn is a monster in the city, not open sea.
        let cued = [
            Land::Space,
            Land::Mesas,
            Land::Peaks,
            Land::Forest,
            Land::Dunes,
            Land::City,
            Land::Hills,
            Land::Sea,
        ]
        .into_iter()
        .find(|l| cues.iter().any(|(c, words)| c == l && has_any(&t, words)));
        let defaults: &[Land] = match style {
            Style::Thriller => &[Land::City, Land::Sea, Land::Peaks],
            Style::Noir => &[Land::City],
            Style::SciFi => &[Land::Space, Land::Peaks, Land::City],
            Style::Horror => &[Land::Forest, Land::Hills],
            Style::Western => &[Land::Mesas, Land::Dunes],
            Style::Romance => &[Land::Sea, Land::Hills, Land::City],
            Style::Fantasy => &[Land::Peaks],
            Style::Animation => &[Land::Hills],
            Style::Documentary => &[Land::Sea, Land::Dunes, Land::Peaks, Land::Forest],
            Style::Comedy => &[Land::Hills, Land::City],
        };
        let land = cued.unwrap_or_else(|| rng.pick(defaults));
        let mut hero = match style {
            Style::Thriller => Hero::Coat,
            Style::Noir => Hero::Fedora,
            Style::SciFi => Hero::Astronaut,
            Style::Horror => Hero::Wanderer,
            Style::Western => Hero::Cowboy,
            Style::Romance => Hero::Couple,
            Style::Fantasy => Hero::Wanderer,
            Style::Animation | Style::Comedy => Hero::Cheer,
            Style::Documentary => rng.pick(&[Hero::Wanderer, Hero::None]),
        };
        if has_any(
            &t,
            &["couple", "lovers", "love", "wedding", "romance", "two "],
        ) {
            hero = Hero::Couple;
        } else if has_any(&t, &["cowboy", "sheriff", "outlaw", "ranger"]) {
            hero = Hero::Cowboy;
        } else if has_any(&t, &["detective", "fedora", "gangster"]) {
            hero = Hero::Fedora;
        } else if has_any(&t, &["astronaut", "cosmonaut"]) {
            hero = Hero::Astronaut;
        } else if has_any(&t, &["nobody", "empty", "landscape", "deserted"]) {
            hero = Hero::None;
        }
        let mut time = match style {
            Style::Noir | Style::Horror | Style::SciFi => Time::Night,
            Style::Animation | Style::Comedy => Time::Day,
            Style::Fantasy => rng.pick(&[Time::Dusk, Time::Night]),
            Style::Documentary => rng.pick(&[Time::Day, Time::Dusk]),
            _ => Time::Dusk,
        };
        if has_any(
            &t,
            &["night", "midnight", "moon", "dark", "stars", "nocturn"],
        ) {
            time = Time::Night;
        } else if has_any(
            &t,
            &[
                "dawn",
                "sunrise",
                "sunset",
                "dusk",
                "golden hour",
                "twilight",
            ],
        ) {
            time = Time::Dusk;
        } else if has_any(&t, &["noon", "sunny", "summer", "daylight"]) {
            time = Time::Day;
        }
        let horizon = match land {
            Land::Sea | Land::Dunes => rng.range(0.58, 0.68),
            Land::Space => rng.range(0.66, 0.76),
            _ => rng.range(0.6, 0.72),
        };
        let (left, right) = (rng.range(0.25, 0.4), rng.range(0.6, 0.75));
        let lx = rng.pick(&[left, right, 0.5]);
        let light_r = match (style, time) {
            (Style::Western, _) | (Style::Romance, _) => rng.range(0.16, 0.22),
            (Style::SciFi, _) => rng.range(0.18, 0.3),
            (_, Time::Night) => rng.range(0.07, 0.11),
            _ => rng.range(0.08, 0.14),
        };
        let ly = horizon - rng.range(0.12, 0.32);
        Scene {
            style,
            land,
            hero,
            time,
            horizon,
            light: (lx, ly, light_r),
            tentacles: has_any(
                &t,
                &[
                    "kraken",
                    "octopus",
                    "tentacle",
                    "squid",
                    "sea monster",
                    "cthulhu",
                ],
            ),
            lighthouse: has_any(&t, &["lighthouse", "lightkeeper"]),
            castle: style == Style::Fantasy
                || has_any(&t, &["castle", "kingdom", "fortress", "palace"]),
            rain: (style == Style::Noir && rng.chance(0.5)) || has_any(&t, &["rain", "storm"]),
        }
    }
}

/// Rotates every palette colour's hue by a few degrees, so seeds differ in colour as well as
/// in shapes while the genre's palette stays recognisable.
fn jitter(p: Palette, rng: &mut Rng) -> Palette {
    if p.mono {
        return p;
    }
    let a = rng.range(-14.0, 14.0).to_radians();
    let rot = |c: Rgb| hue_rotate(c, a);
    Palette {
        sky: p.sky.map(rot),
        light: rot(p.light),
        far: rot(p.far),
        near: rot(p.near),
        accent: rot(p.accent),
        ..p
    }
}

fn hue_rotate(c: Rgb, a: f32) -> Rgb {
    let (s, k) = a.sin_cos();
    let (r, g, b) = (f32::from(c.0), f32::from(c.1), f32::from(c.2));
    let q = |x: f32| x.round().clamp(0.0, 255.0) as u8;
    Rgb(
        q(r * (0.299 + 0.701 * k + 0.168 * s)
            + g * (0.587 - 0.587 * k + 0.330 * s)
            + b * (0.114 - 0.114 * k - 0.497 * s)),
        q(r * (0.299 - 0.299 * k - 0.328 * s)
            + g * (0.587 + 0.413 * k + 0.035 * s)
            + b * (0.114 - 0.114 * k + 0.292 * s)),
        q(r * (0.299 - 0.300 * k + 1.25 * s)
            + g * (0.587 - 0.588 * k - 1.05 * s)
            + b * (0.114 + 0.886 * k - 0.203 * s)),
    )
}

/// The drawing surface with the scene's palette and random stream.
struct Canvas<'a> {
    p: &'a mut Pixmap,
    w: f32,
    h: f32,
    pal: Palette,
    rng: Rng,
}

fn solid(c: Rgb, alpha: f32) -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color(c.color(alpha));
    paint.anti_alias = true;
    paint
}

fn vertical(y0: f32, y1: f32, stops: Vec<GradientStop>) -> Option<Shader<'static>> {
    LinearGradient::new(
        Point::from_xy(0.0, y0),
        Point::from_xy(0.0, y1),
        stops,
        SpreadMode::Pad,
        Transform::identity(),
    )
}

fn circle(x: f32, y: f32, r: f32) -> Option<Path> {
    PathBuilder::from_circle(x, y, r.max(0.1))
}

/// One-dimensional midpoint displacement: `n` = 2^k + 1 heights in [-1, 1]-ish.
fn ridge_noise(rng: &mut Rng, k: u32, rough: f32) -> Vec<f32> {
    let n = (1usize << k) + 1;
    let mut v = vec![0.0_f32; n];
    v[0] = rng.range(-1.0, 1.0);
    v[n - 1] = rng.range(-1.0, 1.0);
    let mut step = n - 1;
    let mut amp = 1.0;
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
    fn fill(&mut self, path: &Path, paint: &Paint) {
        self.p
            .fill_path(path, paint, FillRule::Winding, Transform::identity(), None);
    }

    fn u(&self) -> f32 {
        self.w.min(self.h)
    }

    fn paint(&mut self, s: &Scene) {
        self.sky(s);
        if s.time == Time::Night || s.land == Land::Space {
            self.stars(s);
        }
        if s.style == Style::Comedy {
            self.sunburst(s);
        }
        self.light(s);
        if matches!(
            s.style,
            Style::Thriller | Style::Fantasy | Style::SciFi | Style::Documentary
        ) {
            self.beams(s);
        }
        if s.style == Style::Animation {
            self.clouds(s);
        }
        let gy = s.horizon * self.h;
        match s.land {
            Land::City => self.city(s, gy),
            Land::Peaks => self.peaks(s, gy),
            Land::Mesas => self.mesas(s, gy),
            Land::Forest => self.forest(s, gy),
            Land::Sea => self.sea(s, gy),
            Land::Hills => self.hills(s, gy),
            Land::Dunes => self.dunes(s, gy),
            Land::Space => self.alien(s, gy),
        }
        if s.tentacles {
            self.tentacles(s, gy);
        }
        if matches!(
            s.style,
            Style::Horror | Style::Fantasy | Style::Thriller | Style::Noir
        ) {
            self.fog(s, gy);
        }
        if s.style == Style::Noir {
            self.lamp(s, gy);
            self.blinds();
        }
        self.hero(s);
        if matches!(s.style, Style::Western | Style::Fantasy | Style::Horror)
            && s.land != Land::Space
        {
            self.birds(s);
        }
        if s.style == Style::Romance {
            self.bokeh();
        }
        if s.style == Style::Comedy {
            self.confetti();
        }
        if s.rain {
            self.rain();
        }
        self.foot_shade();
    }

    /// The sky field and the light's halo, written directly: a vertical gradient is constant
    /// along each row, and a per-pixel halo is far cheaper than a canvas-sized radial-gradient
    /// fill through the general raster pipeline.
    fn sky(&mut self, s: &Scene) {
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

    /// Blends a horizontal band, rows `y0..y1`, with the colour and opacity `f` gives for each
    /// row's position `t` in 0..1 through the band. Written directly for the same reason as
    /// [`Canvas::sky`].
    fn band(&mut self, y0: f32, y1: f32, f: impl Fn(f32) -> (Rgb, f32)) {
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

    fn stars(&mut self, s: &Scene) {
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

    fn plot(&mut self, x: u32, y: u32, c: Rgb, a: f32) {
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
    fn glow(&mut self, x: f32, y: f32, r: f32, c: Rgb, a: f32) {
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

    fn light(&mut self, s: &Scene) {
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

    fn beams(&mut self, s: &Scene) {
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

    fn sunburst(&mut self, s: &Scene) {
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

    fn clouds(&mut self, s: &Scene) {
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

    fn peaks(&mut self, s: &Scene, gy: f32) {
        let n = 4;
        for i in 0..n {
            let v = ridge_noise(&mut self.rng, 7, 0.55);
            let base = gy - self.h * (0.16 - i as f32 * 0.045);
            let amp = self.h * (0.14 - i as f32 * 0.025);
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
                self.castle(x, best + self.h * 0.01, c);
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

    fn mesas(&mut self, s: &Scene, gy: f32) {
        let _ = s;
        for i in 0..3 {
            let c = self.layer(i, 4);
            let mut pb = PathBuilder::new();
            let mut x = -self.rng.range(0.0, 0.2) * self.w;
            let base = gy + i as f32 * self.h * 0.03;
            while x < self.w {
                let wdt = self.w * self.rng.range(0.12, 0.35) / (1.0 + i as f32 * 0.3);
                let top = base - self.h * self.rng.range(0.05, 0.16) * (1.0 - i as f32 * 0.2);
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
            let hgt = self.h * self.rng.range(0.1, 0.2);
            self.cactus(x, self.h * 0.93, hgt, near);
        }
        self.ground(gy + self.h * 0.12, 0.02, near);
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
        let v = ridge_noise(&mut self.rng, 5, 0.5);
        let ys: Vec<f32> = v.iter().map(|y| top + y * amp * self.h).collect();
        self.profile(&ys, c);
    }

    fn city(&mut self, s: &Scene, gy: f32) {
        for layer in 0..3 {
            let c = self.layer(layer, 3);
            let mut pb = PathBuilder::new();
            let mut windows = Vec::new();
            let mut x = -self.rng.range(0.0, 0.05) * self.w;
            let scale = 1.0 + layer as f32 * 0.35;
            while x < self.w {
                let bw = self.w * self.rng.range(0.05, 0.12) * scale;
                // Taller towers towards the edges frame the light in the middle.
                let edge = ((x + bw / 2.0) / self.w - 0.5).abs() * 2.0;
                let bh = self.h
                    * self.rng.range(0.08, 0.26)
                    * (0.7 + edge * 0.8)
                    * (1.0 + layer as f32 * 0.15);
                let top = gy + layer as f32 * self.h * 0.04 - bh;
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
        let _ = s;
    }

    fn forest(&mut self, s: &Scene, gy: f32) {
        let dead = matches!(s.style, Style::Horror | Style::Noir | Style::Thriller);
        for layer in 0..3 {
            let c = self.layer(layer, 3);
            let v = ridge_noise(&mut self.rng, 6, 0.5);
            let base = gy + layer as f32 * self.h * 0.05;
            let ys: Vec<f32> = v.iter().map(|y| base + y * self.h * 0.02).collect();
            let mut pb = PathBuilder::new();
            let n = 40 - layer * 10;
            for _ in 0..n {
                let x = self.rng.range(-0.05, 1.05) * self.w;
                let idx = ((x / self.w).clamp(0.0, 1.0) * (ys.len() - 1) as f32) as usize;
                let y = ys[idx];
                let th = self.h * self.rng.range(0.06, 0.13) * (1.0 + layer as f32 * 0.4);
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
                let len = self.h * self.rng.range(0.15, 0.22);
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

    fn sea(&mut self, s: &Scene, gy: f32) {
        // Far islands or headlands break the horizon line.
        let v = ridge_noise(&mut self.rng, 6, 0.6);
        let ys: Vec<f32> = v
            .iter()
            .map(|y| gy - (y.max(0.0) * self.h * 0.06))
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
            self.lighthouse(x, best + self.h * 0.004, self.h * 0.11, far);
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
        beam.line_to(x + dir * self.w * 1.2, ly - self.h * 0.12);
        beam.line_to(x + dir * self.w * 1.2, ly + self.h * 0.02);
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

    fn hills(&mut self, s: &Scene, gy: f32) {
        let bright = matches!(s.style, Style::Animation | Style::Comedy);
        for layer in 0..3 {
            let c = self.layer(layer, 3);
            let base = gy + layer as f32 * self.h * 0.06;
            let (f1, f2, ph) = (
                self.rng.range(1.0, 2.5),
                self.rng.range(3.0, 5.0),
                self.rng.range(0.0, 6.0),
            );
            let amp = self.h * 0.04;
            let ys: Vec<f32> = (0..=64)
                .map(|i| {
                    let t = i as f32 / 64.0 * std::f32::consts::TAU;
                    base - ((t * f1 / 2.0 + ph).sin() * amp
                        + (t * f2 / 2.0 + ph * 2.0).sin() * amp * 0.3)
                })
                .collect();
            self.profile(&ys, c);
            if bright && layer == 1 {
                for _ in 0..4 {
                    let x = self.rng.range(0.05, 0.95) * self.w;
                    let idx = ((x / self.w) * 64.0) as usize;
                    let y = ys[idx.min(64)];
                    let th = self.h * self.rng.range(0.05, 0.08);
                    self.lollipop(x, y + self.h * 0.01, th, c);
                }
            }
            if !bright && layer == 0 && s.style == Style::Horror {
                // A lone house with one lit window on the far hill.
                let x = self.rng.range(0.2, 0.8) * self.w;
                let y = ys[((x / self.w) * 64.0) as usize];
                self.house(x, y + self.h * 0.005, self.u() * 0.12);
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

    fn dunes(&mut self, s: &Scene, gy: f32) {
        let _ = s;
        for layer in 0..4 {
            let c = self.layer(layer, 4);
            let base = gy + layer as f32 * self.h * 0.05;
            let (f, ph) = (self.rng.range(1.0, 2.2), self.rng.range(0.0, 6.0));
            let ys: Vec<f32> = (0..=64)
                .map(|i| {
                    let t = i as f32 / 64.0;
                    // Asymmetric dunes: a long windward slope and a steep lee face.
                    let phase = (t * f + ph / 6.0).fract();
                    let shape = if phase < 0.75 {
                        phase / 0.75
                    } else {
                        (1.0 - phase) / 0.25
                    };
                    base - shape * self.h * 0.05
                })
                .collect();
            self.profile(&ys, c);
        }
    }

    fn alien(&mut self, s: &Scene, gy: f32) {
        let _ = s;
        for layer in 0..3 {
            let c = self.layer(layer, 3);
            let v = ridge_noise(&mut self.rng, 6, 0.7);
            let base = gy + layer as f32 * self.h * 0.05;
            let ys: Vec<f32> = v
                .iter()
                .map(|y| base - y.abs() * self.h * (0.09 - layer as f32 * 0.02))
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

    fn tentacles(&mut self, s: &Scene, gy: f32) {
        let n = 2 + (self.rng.next_u64() % 3) as usize;
        let c = self.pal.near.mix(self.pal.far, 0.25);
        let sucker = self.pal.far.mix(self.pal.light, 0.3);
        for i in 0..n {
            let x0 = self.w * ((i as f32 + 0.5) / n as f32 + self.rng.range(-0.08, 0.08));
            let base = gy + self.h * 0.12;
            let len = self.h * self.rng.range(0.3, 0.5);
            let w0 = self.u() * self.rng.range(0.05, 0.08);
            let sway = self.rng.range(-1.0, 1.0) * self.w * 0.12;
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
                    y -= r * a.sin() - len * 0.0;
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
        let _ = s;
    }

    fn fog(&mut self, s: &Scene, gy: f32) {
        let strength = match s.style {
            Style::Horror => 0.45,
            Style::Noir => 0.25,
            _ => 0.2,
        };
        let fog = self.pal.sky[2].mix(self.pal.light, 0.2);
        for _ in 0..3 {
            let y = gy + self.rng.range(-0.06, 0.14) * self.h;
            let band = self.h * self.rng.range(0.04, 0.1);
            let a = strength * self.rng.range(0.5, 1.0);
            // A smooth hump across the band: thickest in the middle, gone at the edges.
            self.band(y - band, y + band, |t| {
                (fog, a * (1.0 - (2.0 * t - 1.0).powi(2)))
            });
        }
    }

    fn lamp(&mut self, s: &Scene, gy: f32) {
        let _ = gy;
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
        pb.line_to(x - self.w * 0.22, base);
        pb.line_to(x + self.w * 0.22, base);
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

    fn blinds(&mut self) {
        // Venetian-blind shadows: the genre's signature, laid diagonally across the frame.
        let mut pb = PathBuilder::new();
        let gap = self.h * 0.05;
        let slope = self.w * 0.35;
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

    fn hero(&mut self, s: &Scene) {
        if s.hero == Hero::None {
            return;
        }
        let scale = match (s.style, s.style.look().placement) {
            (Style::Documentary, _) => 0.09,
            (Style::Fantasy | Style::Horror, _) => 0.13,
            (_, Placement::Top) => 0.2,
            _ => 0.15,
        };
        let fh = self.h.min(self.w * 1.6) * scale * self.rng.range(0.9, 1.15);
        // The figure stands against the light, and where the title will not cover it: titles
        // set low push the figure up to the horizon, titles set high leave the foreground free.
        let x = (s.light.0 + self.rng.range(-0.06, 0.06)) * self.w;
        let ground = match s.style.look().placement {
            Placement::Top => self.h * 0.8,
            _ => (s.horizon * self.h + self.h * 0.05).min(self.h * 0.8),
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

    fn birds(&mut self, s: &Scene) {
        let n = 3 + (self.rng.next_u64() % 5) as usize;
        let (cx, cy) = (
            self.rng.range(0.2, 0.8) * self.w,
            (s.horizon - self.rng.range(0.25, 0.4)) * self.h,
        );
        let mut pb = PathBuilder::new();
        for _ in 0..n {
            let x = cx + self.rng.range(-0.15, 0.15) * self.w;
            let y = cy + self.rng.range(-0.05, 0.05) * self.h;
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

    fn bokeh(&mut self) {
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

    fn confetti(&mut self) {
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

    fn rain(&mut self) {
        let mut pb = PathBuilder::new();
        for _ in 0..500 {
            let x = self.rng.range(-0.1, 1.1) * self.w;
            let y = self.rng.range(0.0, 1.0) * self.h;
            let l = self.h * self.rng.range(0.015, 0.04);
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

    /// Darkens the bottom fifth towards the near colour: the billing block's ground.
    fn foot_shade(&mut self) {
        let c = self.pal.near.mix(Rgb(0, 0, 0), 0.3);
        self.band(self.h * 0.8, self.h, |t| (c, 0.75 * t));
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

/// The final per-pixel pass: monochrome for noir, film grain and vignette, in one sweep.
fn finish(p: &mut Pixmap, pal: &Palette, seed: u64) {
    let (w, h) = (p.width() as usize, p.height() as usize);
    let vx: Vec<f32> = (0..w)
        .map(|x| ((x as f32 + 0.5) / w as f32 * 2.0 - 1.0).powi(2))
        .collect();
    let vy: Vec<f32> = (0..h)
        .map(|y| ((y as f32 + 0.5) / h as f32 * 2.0 - 1.0).powi(2))
        .collect();
    let grain = pal.grain * 255.0;
    let vig = pal.vignette;
    let data = p.data_mut();
    for (y, row) in data.chunks_exact_mut(w * 4).enumerate() {
        let fy = vy[y];
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            let d = (vx[x] + fy) * 0.5;
            let v = 1.0 - vig * d * d;
            // Grain in 2×2 clumps, from a hash of the clump's position: it reads as film grain
            // at full size and keeps the PNG a third the size of per-pixel noise.
            let mut z = (x as u64 >> 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ (y as u64 >> 1).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
                ^ seed;
            // MurmurHash3's finaliser: without full avalanche, clumps line up into streaks.
            z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
            z = (z ^ (z >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
            z ^= z >> 33;
            let n = ((z >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * grain;
            let (mut r, mut g, mut b) = (f32::from(px[0]), f32::from(px[1]), f32::from(px[2]));
            if pal.mono {
                let l = r * 0.2126 + g * 0.7152 + b * 0.0722;
                // A faint warm tone, like a silver print.
                (r, g, b) = (l * 1.02, l, l * 0.95);
            }
            px[0] = (r * v + n).clamp(0.0, 255.0) as u8;
            px[1] = (g * v + n).clamp(0.0, 255.0) as u8;
            px[2] = (b * v + n).clamp(0.0, 255.0) as u8;
            px[3] = 255;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_is_the_published_function() {
        // Reference values for FNV-1a 64.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn same_inputs_give_identical_pixels() {
        let a = render("a kraken attacks brooklyn", Style::Horror, 7, 160, 240);
        let b = render("a kraken attacks brooklyn", Style::Horror, 7, 160, 240);
        assert_eq!(a.data(), b.data());
    }

    fn difference(a: &Pixmap, b: &Pixmap) -> f64 {
        let sum: u64 = a
            .data()
            .iter()
            .zip(b.data())
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        sum as f64 / a.data().len() as f64
    }

    #[test]
    fn seeds_and_styles_change_the_picture_clearly() {
        let base = render("a lone cowboy", Style::Western, 1, 160, 240);
        let other_seed = render("a lone cowboy", Style::Western, 2, 160, 240);
        // Mean absolute channel difference: grain alone would be a couple of levels; a
        // different picture is tens of levels apart.
        assert!(
            difference(&base, &other_seed) > 6.0,
            "{}",
            difference(&base, &other_seed)
        );
        for s in Style::ALL {
            for t in Style::ALL {
                if s != t {
                    let a = render("a lone cowboy", s, 1, 96, 144);
                    let b = render("a lone cowboy", t, 1, 96, 144);
                    assert!(
                        difference(&a, &b) > 8.0,
                        "{s} vs {t}: {}",
                        difference(&a, &b)
                    );
                }
            }
        }
    }

    #[test]
    fn prompts_change_the_picture() {
        let a = render("a quiet afternoon", Style::Thriller, 1, 160, 240);
        let b = render("a quiet evening", Style::Thriller, 1, 160, 240);
        assert!(difference(&a, &b) > 4.0);
    }

    #[test]
    fn odd_sizes_render_without_panicking() {
        for (w, h) in [(1, 1), (0, 0), (3, 500), (500, 3), (1536, 656)] {
            let p = render("x", Style::SciFi, 0, w, h);
            assert_eq!((p.width(), p.height()), (w.max(1), h.max(1)));
            assert!(p.pixels().iter().all(|c| c.alpha() == 255), "art is opaque");
        }
    }
}
