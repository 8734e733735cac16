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
use super::{
    Edit, EditKind, EditRequest, GeneratedImage, ImageModel, ImageRequest, ModelError, Strength,
    replaced,
};
use crate::genre::Style;

#[derive(Debug, Default, Clone)]
pub struct OfflineModel;

#[async_trait]
impl ImageModel for OfflineModel {
    async fn generate(&self, request: &ImageRequest) -> Result<GeneratedImage, ModelError> {
        let (w, h) = request.aspect.offline_size();
        let request = request.clone();
        // Rendering is CPU work; keep it off the async executor's threads.
        let pixmap = crate::cpu::background(move || {
            render(&request.prompt, request.style, request.seed, w, h)
        })
        .await
        .map_err(|e| ModelError::Other(Box::new(e)))?;
        Ok(GeneratedImage {
            pixmap,
            seed: request.seed,
        })
    }

    /// Variations and replacements are re-renders of the source's own scene; upscaling is
    /// left to resampling at print time, so the offline generator does not claim it.
    fn can(&self, kind: EditKind) -> bool {
        matches!(kind, EditKind::Vary | EditKind::Replace)
    }

    async fn edit(&self, request: &EditRequest) -> Result<GeneratedImage, ModelError> {
        let (w, h) = (request.source.width(), request.source.height());
        let base = &request.base;
        let (prompt, style) = (base.prompt.clone(), base.style);
        let (source_seed, seed) = (request.source_seed, base.seed);
        let job = match &request.edit {
            Edit::Vary { strength } => {
                let strength = *strength;
                OfflineEdit::Vary { seed, strength }
            }
            Edit::Replace { search, replace } => {
                let words =
                    replaced(&prompt, search, replace).ok_or_else(|| ModelError::Unsupported {
                        what: format!(
                            "the offline generator can only change things named in the \
                             poster's description, and \"{}\" is not in it",
                            search.trim()
                        ),
                    })?;
                OfflineEdit::Replace { words }
            }
            Edit::Upscale { .. } => {
                return Err(ModelError::Unsupported {
                    what: "the offline generator cannot upscale art; prints of offline \
                           posters are resampled"
                        .into(),
                });
            }
            // Its formats re-compose the scene at each aspect instead (`render_extended`).
            Edit::Outpaint { .. } => {
                return Err(ModelError::Unsupported {
                    what: "the offline generator re-composes its scenes at each format rather                            than outpainting them"
                        .into(),
                });
            }
        };
        let pixmap = crate::cpu::background(move || match job {
            OfflineEdit::Vary { seed, strength } => {
                render_variation(&prompt, style, source_seed, seed, strength, w, h)
            }
            OfflineEdit::Replace { words } => {
                draw(&prompt, &words, style, source_seed, None, w, h, Stage::Own).0
            }
        })
        .await
        .map_err(|e| ModelError::Other(Box::new(e)))?;
        let seed = match request.edit {
            // A replacement is the source's scene, drawn with the source's seed.
            Edit::Replace { .. } => source_seed,
            _ => seed,
        };
        Ok(GeneratedImage { pixmap, seed })
    }
}

enum OfflineEdit {
    Vary { seed: u32, strength: Strength },
    Replace { words: String },
}

/// The largest side rendered; larger requests are clamped so allocation cannot fail.
const MAX_SIDE: u32 = 8192;

/// Renders the art for `prompt` in `style` with `seed` at `width`×`height` (each side clamped
/// to 1..=8192).
pub fn render(prompt: &str, style: Style, seed: u32, width: u32, height: u32) -> Pixmap {
    draw(prompt, prompt, style, seed, None, width, height, Stage::Own).0
}

/// The scene [`render`] draws for `prompt`, `style` and `seed` at 2:3, re-composed at
/// `width`×`height` (a format: square, story, banner…): the same choices — ground, hero, time
/// of day, horizon, light, landmarks, palette — with every element sized for the one-sheet,
/// so a wider canvas shows more of the world at the sides and a taller one more sky and
/// foreground. Nothing is stretched or cropped; the art is drawn afresh at its own size.
pub fn render_extended(prompt: &str, style: Style, seed: u32, width: u32, height: u32) -> Pixmap {
    draw(
        prompt,
        prompt,
        style,
        seed,
        None,
        width,
        height,
        Stage::OneSheet,
    )
    .0
}

/// What the art's elements are sized against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The canvas itself: what a model request at an aspect has always drawn.
    Own,
    /// The 2:3 one-sheet the canvas extends: as tall as the canvas when it is wider than 2:3,
    /// as wide as it when it is taller.
    OneSheet,
}

impl Stage {
    fn size(self, w: f32, h: f32) -> (f32, f32) {
        match self {
            Stage::Own => (w, h),
            Stage::OneSheet => (w.min(h * 2.0 / 3.0), h.min(w * 1.5)),
        }
    }
}

/// The art [`render`] draws for `prompt`, `style` and `source_seed`, varied with
/// `variation_seed`: the same scene (ground, hero, what the words ask for) with its details
/// re-rolled — prop and figure placement, stars, clouds, silhouettes, grain. A strong
/// variation also re-rolls the palette's jitter, the time of day, the horizon and the light.
pub(crate) fn render_variation(
    prompt: &str,
    style: Style,
    source_seed: u32,
    variation_seed: u32,
    strength: Strength,
    width: u32,
    height: u32,
) -> Pixmap {
    let variation = Some((variation_seed, strength));
    let stage = Stage::Own;
    draw(
        prompt,
        prompt,
        style,
        source_seed,
        variation,
        width,
        height,
        stage,
    )
    .0
}

/// The renderer. Randomness comes in two streams: the *scene* stream, seeded from
/// `seed_text` (the prompt the source was drawn from), `style` and `seed`, which chooses the
/// scene and the palette's jitter; and the *detail* stream every layer paints from. Without a
/// variation the detail stream simply continues the scene stream, which is what [`render`]
/// has always drawn; a variation re-seeds it (and, when strong, re-rolls part of the scene).
/// `words` is what the scene is read from: the prompt itself, or for a replacement the
/// prompt with the detail changed, so the composition follows the source's seed while the
/// changed words choose what is drawn. `stage` sizes the elements (see [`Stage`]); the scene
/// drawn is returned with the pixels.
#[allow(clippy::too_many_arguments)]
fn draw(
    seed_text: &str,
    words: &str,
    style: Style,
    seed: u32,
    variation: Option<(u32, Strength)>,
    width: u32,
    height: u32,
    stage: Stage,
) -> (Pixmap, Scene, crate::genre::Palette) {
    let (w, h) = (width.clamp(1, MAX_SIDE), height.clamp(1, MAX_SIDE));
    let mut p = Pixmap::new(w, h).expect("sides are clamped to 1..=8192, which always allocates");
    let mut rng = Rng::new(
        fnv1a(seed_text.trim().to_lowercase().as_bytes())
            ^ (u64::from(seed) << 20)
            ^ fnv1a(style.name().as_bytes()),
    );
    let mut scene = Scene::choose(words, style, &mut rng);
    let mut pal = jitter(style.look().palette, &mut rng);
    if let Some((variation_seed, strength)) = variation {
        // A stream of its own for the variation, from the scene stream and the new seed.
        let mut varied = Rng::new(
            rng.next_u64() ^ u64::from(variation_seed).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        if strength == Strength::Strong {
            // Same ground, hero and named things; new light, time, horizon and colours.
            let alt = Scene::choose(words, style, &mut varied);
            scene.time = alt.time;
            scene.horizon = alt.horizon;
            scene.light = alt.light;
            scene.rain = alt.rain;
            pal = jitter(style.look().palette, &mut varied);
        }
        rng = Rng::new(varied.next_u64());
    }
    let (sw, sh) = stage.size(w as f32, h as f32);
    let mut c = Canvas {
        p: &mut p,
        w: w as f32,
        h: h as f32,
        sw,
        sh,
        pal,
        rng,
    };
    c.paint(&scene);
    let grain_seed = c.rng.next_u64();
    finish(&mut p, &pal, grain_seed);
    (p, scene, pal)
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
