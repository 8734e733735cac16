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
mod recolor;
mod rng;
mod scene;
mod sky;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use tiny_skia::Pixmap;

use self::canvas::Canvas;
use self::finish::finish;
use self::recolor::Element;
use self::rng::{Rng, fnv1a};
use self::scene::{Land, Scene, Time, jitter};
use super::reference::Look;
use super::{
    Edit, EditKind, EditRequest, GeneratedImage, ImageModel, ImageRequest, ModelError, Strength,
    replaced,
};
use crate::genre::{Palette, Rgb, Style};

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

    /// Variations and replacements are re-renders of the source's own scene, a recolour the
    /// source with one element's colour changed; upscaling is left to resampling at print time,
    /// so the offline generator does not claim it.
    /// Pictures people upload are used offline too: a start from one is the picture itself in
    /// the poster's look; its style is its palette, light and grain driving the scene
    /// ([`reference::look`](super::reference::look)); a restyle re-grades the take's art with them.
    fn can(&self, kind: EditKind) -> bool {
        matches!(
            kind,
            EditKind::Vary
                | EditKind::Replace
                | EditKind::Recolor
                | EditKind::StartFrom
                | EditKind::StyleOf
                | EditKind::RestyleLike
        )
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
            Edit::Recolor { select, colour } => {
                let scene = scene_of(&prompt, style, source_seed);
                let element =
                    recolor::element(select, &scene).ok_or_else(|| ModelError::Unsupported {
                        what: format!(
                            "the offline art has no \"{}\" to recolour; it can recolour {}",
                            select.trim(),
                            recolor::elements_in(&scene)
                        ),
                    })?;
                let to = recolor::colour(colour).ok_or_else(|| ModelError::Unsupported {
                    what: format!(
                        "the offline generator does not know the colour \"{}\"; name one \
                         such as {}",
                        colour.trim(),
                        recolor::COLOUR_EXAMPLES
                    ),
                })?;
                OfflineEdit::Recolor {
                    element,
                    to,
                    source: request.source.clone(),
                }
            }
            Edit::Upscale { .. } => {
                return Err(ModelError::Unsupported {
                    what: "the offline generator cannot upscale art; prints of offline \
                           posters are resampled"
                        .into(),
                });
            }
            Edit::StartFrom => OfflineEdit::StartFrom {
                picture: request.source.clone(),
                aspect: base.aspect,
            },
            Edit::StyleOf => OfflineEdit::StyleOf {
                look: super::reference::look(&request.source),
                seed,
                size: base.aspect.offline_size(),
            },
            Edit::RestyleLike { style } => OfflineEdit::RestyleLike {
                art: request.source.clone(),
                look: super::reference::look(style),
                seed,
            },
            // Its formats re-compose the scene at each aspect instead (`render_extended`).
            Edit::Outpaint { .. } => {
                return Err(ModelError::Unsupported {
                    what: "the offline generator re-composes its scenes at each format rather than outpainting them"
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
            OfflineEdit::Recolor {
                element,
                to,
                source,
            } => {
                let marked = |c: Rgb| {
                    let marker = Some((element, c));
                    draw_marked(&prompt, &prompt, style, source_seed, None, w, h, marker).0
                };
                recolor::apply(
                    &source,
                    &marked(Rgb(0, 0, 0)),
                    &marked(Rgb(255, 255, 255)),
                    to,
                )
            }
            OfflineEdit::StartFrom { picture, aspect } => start_from(&picture, style, aspect, seed),
            OfflineEdit::StyleOf { look, seed, size } => {
                render_in_look(&prompt, style, seed, size.0, size.1, &look)
            }
            OfflineEdit::RestyleLike { art, look, seed } => restyle(&art, &look, seed),
        })
        .await
        .map_err(|e| ModelError::Other(Box::new(e)))?;
        let seed = match request.edit {
            // A replacement is the source's scene, drawn with the source's seed; a recolour is
            // the source itself.
            Edit::Replace { .. } | Edit::Recolor { .. } => source_seed,
            _ => seed,
        };
        Ok(GeneratedImage { pixmap, seed })
    }
}

enum OfflineEdit {
    Vary {
        seed: u32,
        strength: Strength,
    },
    Replace {
        words: String,
    },
    Recolor {
        element: Element,
        to: Rgb,
        source: std::sync::Arc<Pixmap>,
    },
    StartFrom {
        picture: std::sync::Arc<Pixmap>,
        aspect: super::Aspect,
    },
    StyleOf {
        look: Look,
        seed: u32,
        size: (u32, u32),
    },
    RestyleLike {
        art: std::sync::Arc<Pixmap>,
        look: Look,
        seed: u32,
    },
}

/// The art [`render`] draws for `prompt`, `style` and `seed`, in a reference picture's look:
/// the scene is the description's, its colours are the picture's palette (dark silhouettes,
/// mid-tone sky, the brightest colour for the light), its grain the picture's grain, and a grey
/// picture draws in monochrome.
pub fn render_in_look(
    prompt: &str,
    style: Style,
    seed: u32,
    width: u32,
    height: u32,
    look: &Look,
) -> Pixmap {
    draw_staged(
        prompt,
        prompt,
        style,
        seed,
        None,
        width,
        height,
        Stage::Own,
        None,
        Some(look),
    )
    .0
}

/// The palette a reference's look gives the scene, over the style's own (its vignette kept).
fn palette_of(look: &Look, base: Palette) -> Palette {
    let p = &look.palette;
    if p.is_empty() {
        return base;
    }
    let at = |i: usize| {
        let c = p[i.min(p.len() - 1)];
        Rgb(c[0], c[1], c[2])
    };
    let n = p.len();
    let saturation = |c: &[u8; 3]| {
        let (hi, lo) = (c.iter().max().copied(), c.iter().min().copied());
        f32::from(hi.unwrap_or(0) - lo.unwrap_or(0)) / 255.0
    };
    let accent = p
        .iter()
        .max_by(|a, b| saturation(a).total_cmp(&saturation(b)))
        .map_or(at(n - 1), |c| Rgb(c[0], c[1], c[2]));
    Palette {
        sky: [at(n / 3), at(n / 2), at(n.saturating_sub(2))],
        light: at(n - 1),
        far: at(1),
        near: at(0),
        accent,
        grain: (look.grain * 0.8).clamp(0.01, 0.12),
        vignette: base.vignette,
        mono: p.iter().all(|c| saturation(c) < 0.06),
    }
}

/// Recolours `p` through a palette ramp ordered by luminance: each pixel takes the ramp's
/// colour at its own luminance, mixed with what it was by `amount`.
fn grade(p: &mut Pixmap, ramp: &[[u8; 3]], amount: f32) {
    if ramp.is_empty() {
        return;
    }
    let last = (ramp.len() - 1) as f32;
    for px in p.pixels_mut() {
        let c = px.demultiply();
        let (r, g, b) = (
            f32::from(c.red()),
            f32::from(c.green()),
            f32::from(c.blue()),
        );
        let l = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255.0;
        let x = l * last;
        let (i, t) = (x.floor() as usize, x.fract());
        let (a, z) = (
            ramp[i.min(ramp.len() - 1)],
            ramp[(i + 1).min(ramp.len() - 1)],
        );
        let mix = |k: usize, own: f32| {
            let target = f32::from(a[k]) * (1.0 - t) + f32::from(z[k]) * t;
            (own * (1.0 - amount) + target * amount)
                .round()
                .clamp(0.0, 255.0) as u8
        };
        *px =
            tiny_skia::ColorU8::from_rgba(mix(0, r), mix(1, g), mix(2, b), c.alpha()).premultiply();
    }
}

/// Start from a picture, offline: the picture at the poster's aspect (cropped about its centre),
/// graded towards the style's palette and finished with its grain and vignette.
fn start_from(picture: &Pixmap, style: Style, aspect: super::Aspect, seed: u32) -> Pixmap {
    let (w, h) = aspect.offline_size();
    let (Some(cropped), Some(mut p)) = (
        super::reference::cover(picture, aspect, u64::from(w) * u64::from(h)),
        Pixmap::new(w, h),
    ) else {
        return render("", style, seed, w, h);
    };
    // The crop at the offline generator's size (the uploaded copy is at most a megapixel).
    let paint = tiny_skia::PixmapPaint {
        quality: tiny_skia::FilterQuality::Bicubic,
        ..tiny_skia::PixmapPaint::default()
    };
    let transform = tiny_skia::Transform::from_scale(
        w as f32 / cropped.width() as f32,
        h as f32 / cropped.height() as f32,
    );
    p.draw_pixmap(0, 0, cropped.as_ref(), &paint, transform, None);
    let pal = style.look().palette;
    let ramp = [pal.near, pal.far, pal.sky[2], pal.sky[1], pal.light].map(|c| [c.0, c.1, c.2]);
    grade(&mut p, &ramp, 0.45);
    finish(&mut p, &pal, u64::from(seed));
    p
}

/// Restyle a take's art like a picture, offline: the art re-graded through the picture's palette
/// and given its grain, its composition (and so where its type sits) untouched.
fn restyle(art: &Pixmap, look: &Look, seed: u32) -> Pixmap {
    let mut p = art.clone();
    grade(&mut p, &look.palette, 0.7);
    let pal = Palette {
        vignette: 0.0,
        mono: false,
        ..palette_of(look, crate::genre::Style::default().look().palette)
    };
    finish(&mut p, &pal, u64::from(seed));
    p
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
    draw_staged(
        seed_text, words, style, seed, variation, width, height, stage, None, None,
    )
}

/// [`draw`] at the canvas's own stage with one element drawn all in one colour (`marker`):
/// the coverage renders of a recolour. Every random draw is the same as [`draw`]'s.
#[allow(clippy::too_many_arguments)]
fn draw_marked(
    seed_text: &str,
    words: &str,
    style: Style,
    seed: u32,
    variation: Option<(u32, Strength)>,
    width: u32,
    height: u32,
    marker: Option<(Element, Rgb)>,
) -> (Pixmap, Scene, crate::genre::Palette) {
    let stage = Stage::Own;
    draw_staged(
        seed_text, words, style, seed, variation, width, height, stage, marker, None,
    )
}

/// The scene stream's generator for `seed_text`, `style` and `seed`.
fn scene_rng(seed_text: &str, style: Style, seed: u32) -> Rng {
    Rng::new(
        fnv1a(seed_text.trim().to_lowercase().as_bytes())
            ^ (u64::from(seed) << 20)
            ^ fnv1a(style.name().as_bytes()),
    )
}

/// The scene [`render`] draws for `prompt`, `style` and `seed`, without drawing it.
fn scene_of(prompt: &str, style: Style, seed: u32) -> Scene {
    Scene::choose(prompt, style, &mut scene_rng(prompt, style, seed))
}

#[allow(clippy::too_many_arguments)]
fn draw_staged(
    seed_text: &str,
    words: &str,
    style: Style,
    seed: u32,
    variation: Option<(u32, Strength)>,
    width: u32,
    height: u32,
    stage: Stage,
    marker: Option<(Element, Rgb)>,
    look: Option<&Look>,
) -> (Pixmap, Scene, crate::genre::Palette) {
    let (w, h) = (width.clamp(1, MAX_SIDE), height.clamp(1, MAX_SIDE));
    let mut p = Pixmap::new(w, h).expect("sides are clamped to 1..=8192, which always allocates");
    let mut rng = scene_rng(seed_text, style, seed);
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
    if let Some(look) = look {
        pal = palette_of(look, pal);
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
        marker,
    };
    c.paint(&scene);
    let grain_seed = c.rng.next_u64();
    finish(&mut p, &pal, grain_seed);
    (p, scene, pal)
}

impl Canvas<'_> {
    /// Paints the layers back to front; the order is the design.
    fn paint(&mut self, s: &Scene) {
        self.as_element(Element::Sky, |c| c.sky(s));
        if s.time == Time::Night || s.land == Land::Space {
            self.as_element(Element::Stars, |c| c.stars(s));
        }
        if s.style == Style::Comedy {
            self.as_element(Element::Light, |c| c.sunburst(s));
        }
        self.as_element(Element::Light, |c| c.light(s));
        if matches!(
            s.style,
            Style::Thriller | Style::Fantasy | Style::SciFi | Style::Documentary
        ) {
            self.as_element(Element::Light, |c| c.beams(s));
        }
        if s.style == Style::Animation {
            self.as_element(Element::Clouds, |c| c.clouds(s));
        }
        let gy = s.horizon * self.h;
        self.as_element(Element::Land, |c| match s.land {
            Land::City => c.city(gy),
            Land::Peaks => c.peaks(s, gy),
            Land::Mesas => c.mesas(gy),
            Land::Forest => c.forest(s, gy),
            Land::Sea => c.sea(s, gy),
            Land::Hills => c.hills(s, gy),
            Land::Dunes => c.dunes(gy),
            Land::Space => c.alien(gy),
        });
        if s.tentacles {
            self.as_element(Element::Kraken, |c| c.tentacles(gy));
        }
        if matches!(
            s.style,
            Style::Horror | Style::Fantasy | Style::Thriller | Style::Noir
        ) {
            self.as_element(Element::Fog, |c| c.fog(s, gy));
        }
        if s.style == Style::Noir {
            self.as_element(Element::Lamp, |c| {
                c.lamp(s);
                c.blinds();
            });
        }
        self.as_element(Element::Hero, |c| c.hero(s));
        if matches!(s.style, Style::Western | Style::Fantasy | Style::Horror)
            && s.land != Land::Space
        {
            self.as_element(Element::Birds, |c| c.birds(s));
        }
        if s.style == Style::Romance {
            self.as_element(Element::Sparkle, |c| c.bokeh());
        }
        if s.style == Style::Comedy {
            self.as_element(Element::Sparkle, |c| c.confetti());
        }
        if s.rain {
            self.as_element(Element::Rain, |c| c.rain());
        }
        self.foot_shade();
    }

    /// Draws one element, in the marker's colour when it is the one marked.
    fn as_element(&mut self, element: Element, draw: impl FnOnce(&mut Self)) {
        let saved = self.pal;
        if let Some((marked, colour)) = self.marker
            && marked == element
        {
            self.pal = recolor::flat(saved, colour);
        }
        draw(self);
        self.pal = saved;
    }
}
