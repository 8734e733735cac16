//! Reading the request into choices: which ground, hero and time of day the prompt's words
//! (or, failing them, the style) call for, where the horizon and the light sit, and the
//! palette's per-seed hue jitter. Everything random about the composition is decided here,
//! before anything is drawn; nothing here touches pixels.

use super::rng::Rng;
use crate::genre::{Palette, Rgb, Style};

/// The ground the scene stands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Land {
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
pub(super) enum Hero {
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
pub(super) enum Time {
    Day,
    Dusk,
    Night,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Scene {
    pub(super) style: Style,
    pub(super) land: Land,
    pub(super) hero: Hero,
    pub(super) time: Time,
    /// The horizon as a fraction of the height.
    pub(super) horizon: f32,
    /// The light source's centre (fractions) and radius (fraction of the shorter side).
    pub(super) light: (f32, f32, f32),
    pub(super) tentacles: bool,
    pub(super) castle: bool,
    pub(super) lighthouse: bool,
    pub(super) rain: bool,
}

fn has_any(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| text.contains(w))
}

impl Scene {
    pub(super) fn choose(prompt: &str, style: Style, rng: &mut Rng) -> Scene {
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
pub(super) fn jitter(p: Palette, rng: &mut Rng) -> Palette {
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
