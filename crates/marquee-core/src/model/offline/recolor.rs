//! Recolouring one element of the offline art, as Stability's Search and Recolor does for a
//! model's: find what the words name, change its colour, leave every other pixel alone.
//!
//! The offline generator knows its elements (the sky, the light, the ground, the hero, the
//! kraken…), so "finding" is exact: the source's scene is drawn twice with that element's
//! colours forced to black and then to white, on the same random stream, so the two renders
//! differ only where the element shows, by as much as it shows (anti-aliased edges, fog over
//! it, the foot shade). That difference is the element's coverage. Each covered pixel of the
//! source takes the new colour's hue, keeping its own light and shade halfway between its
//! lightness and the new colour's, so a dark silhouette turned red reads as a dark red
//! silhouette and a pale sky turned red as a pale red one. Nothing else changes.

use tiny_skia::Pixmap;

use super::scene::{Hero, Land, Scene, Time};
use crate::genre::{Palette, Rgb, Style};

/// What of the art can be recoloured, in the order names are matched (a cowboy in the desert
/// is the cowboy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Element {
    Hero,
    Kraken,
    Birds,
    Lamp,
    Sparkle,
    Rain,
    Fog,
    Clouds,
    Stars,
    Light,
    Land,
    Sky,
}

impl Element {
    const ALL: [Element; 12] = [
        Element::Hero,
        Element::Kraken,
        Element::Birds,
        Element::Lamp,
        Element::Sparkle,
        Element::Rain,
        Element::Fog,
        Element::Clouds,
        Element::Stars,
        Element::Light,
        Element::Land,
        Element::Sky,
    ];

    /// The words that name the element in `scene`; none when the scene does not show it.
    fn names(self, s: &Scene) -> &'static [&'static str] {
        let shown = match self {
            Element::Hero => s.hero != Hero::None,
            Element::Kraken => s.tentacles,
            Element::Birds => {
                matches!(s.style, Style::Western | Style::Fantasy | Style::Horror)
                    && s.land != Land::Space
            }
            Element::Lamp => s.style == Style::Noir,
            Element::Sparkle => matches!(s.style, Style::Romance | Style::Comedy),
            Element::Rain => s.rain,
            Element::Fog => matches!(
                s.style,
                Style::Horror | Style::Fantasy | Style::Thriller | Style::Noir
            ),
            Element::Clouds => s.style == Style::Animation,
            Element::Stars => s.time == Time::Night || s.land == Land::Space,
            Element::Light | Element::Land | Element::Sky => true,
        };
        if !shown {
            return &[];
        }
        match self {
            Element::Hero => &[
                "hero",
                "figure",
                "person",
                "man",
                "woman",
                "silhouette",
                "character",
                "stranger",
                "cowboy",
                "sheriff",
                "outlaw",
                "detective",
                "astronaut",
                "couple",
                "lovers",
                "wanderer",
                "agent",
                "kid",
            ],
            Element::Kraken => &[
                "kraken",
                "tentacle",
                "tentacles",
                "octopus",
                "squid",
                "monster",
                "creature",
            ],
            Element::Birds => &["birds", "bird", "crows", "ravens"],
            Element::Lamp => &["lamp", "streetlight", "blinds"],
            Element::Sparkle => &["confetti", "bokeh", "sparkles"],
            Element::Rain => &["rain", "raindrops"],
            Element::Fog => &["fog", "mist", "haze"],
            Element::Clouds => &["clouds", "cloud"],
            Element::Stars => &["stars", "star"],
            Element::Light => &[
                "sun", "moon", "planet", "light", "glow", "rays", "beams", "sunburst",
            ],
            Element::Land => match s.land {
                Land::City => &["city", "skyline", "buildings", "towers", "town", "ground"],
                Land::Peaks => &["mountains", "mountain", "peaks", "castle", "ground"],
                Land::Mesas => &["mesas", "canyon", "desert", "cactus", "rocks", "ground"],
                Land::Forest => &["forest", "trees", "woods", "tree", "ground"],
                Land::Sea => &["sea", "ocean", "water", "waves", "lighthouse", "ground"],
                Land::Hills => &["hills", "meadow", "village", "houses", "fields", "ground"],
                Land::Dunes => &["dunes", "desert", "sand", "ground"],
                Land::Space => &["surface", "craters", "rocks", "ground"],
            },
            Element::Sky => &["sky", "heavens"],
        }
    }
}

/// The element of `scene` that `select` names ("the kraken", "The Sky"), by its words.
pub(super) fn element(select: &str, scene: &Scene) -> Option<Element> {
    let words = words(select);
    Element::ALL
        .into_iter()
        .find(|e| e.names(scene).iter().any(|n| words.iter().any(|w| w == n)))
}

/// What can be recoloured in `scene`, for people: "the hero, the sun, the sky".
pub(super) fn elements_in(scene: &Scene) -> String {
    Element::ALL
        .into_iter()
        .filter_map(|e| e.names(scene).first())
        .map(|n| format!("the {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Colour names the offline generator understands (CSS's basic and common named colours).
const COLOURS: [(&str, Rgb); 34] = [
    ("red", Rgb(220, 30, 30)),
    ("crimson", Rgb(220, 20, 60)),
    ("scarlet", Rgb(255, 36, 0)),
    ("maroon", Rgb(128, 0, 0)),
    ("orange", Rgb(255, 140, 0)),
    ("amber", Rgb(255, 191, 0)),
    ("gold", Rgb(255, 200, 40)),
    ("golden", Rgb(255, 200, 40)),
    ("yellow", Rgb(255, 225, 40)),
    ("lime", Rgb(150, 230, 40)),
    ("green", Rgb(40, 160, 60)),
    ("emerald", Rgb(20, 170, 110)),
    ("olive", Rgb(128, 128, 0)),
    ("teal", Rgb(0, 128, 128)),
    ("cyan", Rgb(0, 210, 230)),
    ("turquoise", Rgb(64, 224, 208)),
    ("blue", Rgb(40, 90, 220)),
    ("navy", Rgb(0, 0, 128)),
    ("azure", Rgb(0, 127, 255)),
    ("indigo", Rgb(75, 0, 130)),
    ("violet", Rgb(143, 0, 255)),
    ("purple", Rgb(128, 40, 170)),
    ("magenta", Rgb(255, 0, 255)),
    ("pink", Rgb(255, 120, 180)),
    ("rose", Rgb(255, 0, 127)),
    ("brown", Rgb(130, 80, 40)),
    ("bronze", Rgb(205, 127, 50)),
    ("copper", Rgb(184, 115, 51)),
    ("silver", Rgb(192, 192, 200)),
    ("grey", Rgb(128, 128, 128)),
    ("gray", Rgb(128, 128, 128)),
    ("black", Rgb(20, 20, 20)),
    ("white", Rgb(245, 245, 245)),
    ("ivory", Rgb(255, 250, 230)),
];

/// The colour `text` names: a `#rrggbb` code, or a colour name with an optional shade
/// ("dark red", "pale blue"); the last colour word counts. `None` when none is named.
pub(super) fn colour(text: &str) -> Option<Rgb> {
    let words = words(text);
    if let Some(hex) = text.trim().strip_prefix('#').filter(|h| h.len() == 6) {
        let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        return Some(Rgb(byte(0)?, byte(2)?, byte(4)?));
    }
    let base = words
        .iter()
        .rev()
        .find_map(|w| COLOURS.iter().find(|(n, _)| n == w).map(|(_, c)| *c))?;
    let has = |shade: &[&str]| words.iter().any(|w| shade.contains(&w.as_str()));
    Some(if has(&["dark", "deep"]) {
        base.mix(Rgb(0, 0, 0), 0.4)
    } else if has(&["light", "pale", "pastel"]) {
        base.mix(Rgb(255, 255, 255), 0.45)
    } else {
        base
    })
}

/// Some colour names, for people who named none.
pub(super) const COLOUR_EXAMPLES: &str = "red, gold, teal, deep blue or #ff8800";

/// `pal` with every colour `c`: what an element is drawn in for its coverage renders.
pub(super) fn flat(pal: Palette, c: Rgb) -> Palette {
    Palette {
        sky: [c; 3],
        light: c,
        far: c,
        near: c,
        accent: c,
        ..pal
    }
}

/// `source` with the pixels the element covers recoloured to `to`: `black` and `white` are the
/// scene drawn with the element in black and in white (same size as `source`).
pub(super) fn apply(source: &Pixmap, black: &Pixmap, white: &Pixmap, to: Rgb) -> Pixmap {
    let mut out = source.clone();
    let lum = |r: f32, g: f32, b: f32| (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255.0;
    let (tr, tg, tb) = (f32::from(to.0), f32::from(to.1), f32::from(to.2));
    let target = lum(tr, tg, tb);
    let pixels = out.data_mut().chunks_exact_mut(4).zip(
        black
            .data()
            .chunks_exact(4)
            .zip(white.data().chunks_exact(4)),
    );
    for (px, (b, w)) in pixels {
        // The element's coverage: full coverage differs by about 160..255 (the vignette and the
        // foot shade dim it), none by 0.
        let diff = (0..3).map(|i| w[i].abs_diff(b[i])).max().unwrap_or(0);
        let cover = (f32::from(diff) / 160.0).min(1.0);
        if cover <= 0.0 {
            continue;
        }
        let (r, g, bl) = (f32::from(px[0]), f32::from(px[1]), f32::from(px[2]));
        let l = (lum(r, g, bl) + target) / 2.0;
        // The new colour at lightness `l`: toward black below its own, toward white above.
        let shade = |c: f32| {
            if l <= target {
                c * l / target.max(1e-3)
            } else {
                c + (255.0 - c) * (l - target) / (1.0 - target).max(1e-3)
            }
        };
        let new = [shade(tr), shade(tg), shade(tb)];
        for (i, n) in new.into_iter().enumerate() {
            let old = f32::from(px[i]);
            px[i] = (old + (n - old) * cover).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}
