//! The embedded offline generator: deterministic key art from prompt, style and seed, with no
//! weights and no network. The same inputs always give the same pixels.
//!
//! The art is built the way a poster designer would layer it, one submodule per layer:
//! `scene` reads the prompt and style into choices (ground, hero, time of day, palette
//! jitter); `sky` paints the sky field, stars, light source, beams and clouds; `land` the
//! receding silhouette layers (skyline, peaks, mesas, forest, sea, hills, dunes or alien
//! ground); `figure` the hero with its rim light; `props` the genre details (tentacles, fog,
//! a street lamp, blinds, birds, bokeh, confetti, rain); and `finish` the foot shade, then
//! film grain and a vignette in one per-pixel pass. `canvas` holds the drawing surface and
//! the helpers every layer shares, and `rng` the randomness: a stable FNV-1a hash of the
//! prompt and a SplitMix64 generator written here, never std's hasher, whose output may change
//! between Rust releases. This module owns [`render`] and the [`OfflineModel`] that serves it
//! as an [`ImageModel`]; it knows nothing of typography (titles are set later by
//! `crate::poster`), of Slack, or of storage.

mod canvas;
mod figure;
mod finish;
mod land;
mod props;
mod rng;
mod scene;
mod sky;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use tiny_skia::Pixmap;

use self::canvas::Canvas;
use self::finish::finish;
use self::rng::{Rng, fnv1a};
use self::scene::{Land, Scene, Time, jitter};
use super::{GeneratedImage, ImageModel, ImageRequest, ModelError};
use crate::genre::Style;

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
pub fn render(prompt: &str, style: Style, seed: u32, width: u32, height: u32) -> Pixmap {
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

impl Canvas<'_> {
    /// Paints the layers back to front; the order is the design.
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
            Land::City => self.city(gy),
            Land::Peaks => self.peaks(s, gy),
            Land::Mesas => self.mesas(gy),
            Land::Forest => self.forest(s, gy),
            Land::Sea => self.sea(s, gy),
            Land::Hills => self.hills(s, gy),
            Land::Dunes => self.dunes(gy),
            Land::Space => self.alien(gy),
        }
        if s.tentacles {
            self.tentacles(gy);
        }
        if matches!(
            s.style,
            Style::Horror | Style::Fantasy | Style::Thriller | Style::Noir
        ) {
            self.fog(s, gy);
        }
        if s.style == Style::Noir {
            self.lamp(s);
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
}
