//! Genres: the vocabulary every part of Marquee shares — a [`Style`] a user picks, the
//! words it adds to a model's prompt, its `Palette` of colours and where its title sits.
//!
//! A leaf module. Models read the palette and the title's place to draw art that leaves room
//! for the type; the composer (`poster`) adds typography per genre; Slack lists the names.
//! None of them owns the vocabulary, so none has to import another for it.

use std::fmt;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rgb(pub(crate) u8, pub(crate) u8, pub(crate) u8);

impl Rgb {
    pub(crate) fn color(self, alpha: f32) -> tiny_skia::Color {
        tiny_skia::Color::from_rgba8(
            self.0,
            self.1,
            self.2,
            (alpha.clamp(0.0, 1.0) * 255.0).round() as u8,
        )
    }

    /// Relative luminance (WCAG), 0 for black to 1 for white.
    pub(crate) fn luminance(self) -> f32 {
        luminance(self.0, self.1, self.2)
    }

    /// The colour `t` of the way from `self` to `o`.
    pub(crate) fn mix(self, o: Rgb, t: f32) -> Rgb {
        let t = t.clamp(0.0, 1.0);
        let m = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * t).round() as u8;
        Rgb(m(self.0, o.0), m(self.1, o.1), m(self.2, o.2))
    }
}

/// WCAG relative luminance of an sRGB triple.
pub(crate) fn luminance(r: u8, g: u8, b: u8) -> f32 {
    fn lin(c: u8) -> f32 {
        let c = f32::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    }
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

/// Where the title sits on the sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    Top,
    Center,
    Bottom,
    /// Japanese, Chinese or Korean titles set in columns, top to bottom, at the right of the
    /// sheet (tategaki). A title without CJK in it is set where its look puts it.
    Vertical,
}

impl Placement {
    pub const ALL: [Placement; 4] = [
        Placement::Top,
        Placement::Center,
        Placement::Bottom,
        Placement::Vertical,
    ];

    /// The name users type after `--placement`.
    pub fn name(self) -> &'static str {
        match self {
            Placement::Top => "top",
            Placement::Center => "center",
            Placement::Bottom => "bottom",
            Placement::Vertical => "vertical",
        }
    }

    /// Accepts the name, case-insensitively, and the British "centre".
    pub fn parse(text: &str) -> Option<Placement> {
        let t = text.trim().to_lowercase();
        let t = if t == "centre" { "center" } else { t.as_str() };
        Placement::ALL.into_iter().find(|p| p.name() == t)
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The colours of the offline key art, from the top of the sky down to the nearest silhouette.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Palette {
    /// Sky gradient: zenith, middle, horizon.
    pub(crate) sky: [Rgb; 3],
    /// The light source: sun, moon, planet or lamp, and its glow.
    pub(crate) light: Rgb,
    /// The farthest silhouette layer; nearer layers blend from this towards `near`.
    pub(crate) far: Rgb,
    /// The nearest silhouettes and figures.
    pub(crate) near: Rgb,
    /// Small bright details: windows, stars, bokeh, confetti.
    pub(crate) accent: Rgb,
    /// Film grain strength, 0 to about 0.1.
    pub(crate) grain: f32,
    /// Vignette strength at the corners, 0 to 1.
    pub(crate) vignette: f32,
    /// Render in monochrome (noir).
    pub(crate) mono: bool,
}

/// A genre look. Every preset works with every model.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Style {
    #[default]
    Thriller,
    Noir,
    SciFi,
    Horror,
    Western,
    Romance,
    Fantasy,
    Animation,
    Documentary,
    Comedy,
}

impl Style {
    pub(crate) const ALL: [Style; 10] = [
        Style::Noir,
        Style::SciFi,
        Style::Horror,
        Style::Western,
        Style::Romance,
        Style::Thriller,
        Style::Fantasy,
        Style::Animation,
        Style::Documentary,
        Style::Comedy,
    ];

    /// The name users type after `--style`.
    pub fn name(self) -> &'static str {
        match self {
            Style::Noir => "noir",
            Style::SciFi => "sci-fi",
            Style::Horror => "horror",
            Style::Western => "western",
            Style::Romance => "romance",
            Style::Thriller => "thriller",
            Style::Fantasy => "fantasy",
            Style::Animation => "animation",
            Style::Documentary => "documentary",
            Style::Comedy => "comedy",
        }
    }

    /// Accepts the name, case-insensitively, with a few common spellings.
    pub fn parse(text: &str) -> Option<Style> {
        let t = text.trim().to_lowercase();
        let t = match t.as_str() {
            "scifi" | "sci_fi" | "science-fiction" | "sf" => "sci-fi",
            "animated" | "cartoon" => "animation",
            "doc" => "documentary",
            other => other,
        };
        Style::ALL.into_iter().find(|s| s.name() == t)
    }

    /// Picks a style from the description's words when the user names none.
    pub(crate) fn guess(description: &str) -> Style {
        let text = description.to_lowercase();
        let cues: &[(Style, &[&str])] = &[
            (
                Style::Noir,
                &[
                    "noir",
                    "detective",
                    "1940s",
                    "fedora",
                    "femme fatale",
                    "gangster",
                ],
            ),
            (
                Style::SciFi,
                &[
                    "space", "robot", "alien", "cyber", "galaxy", "planet", "starship", "future",
                    "android", "mars",
                ],
            ),
            (
                Style::Horror,
                &[
                    "horror", "ghost", "haunted", "zombie", "vampire", "demon", "blood", "kraken",
                    "monster", "witch",
                ],
            ),
            (
                Style::Western,
                &[
                    "western", "cowboy", "sheriff", "outlaw", "desert", "frontier", "saloon",
                ],
            ),
            (
                Style::Romance,
                &["love", "romance", "wedding", "kiss", "heart", "paris"],
            ),
            (
                Style::Fantasy,
                &[
                    "dragon", "wizard", "castle", "elf", "quest", "magic", "kingdom", "sword",
                ],
            ),
            (
                Style::Animation,
                &["cartoon", "animated", "pixar", "talking", "cute", "kids"],
            ),
            (
                Style::Documentary,
                &[
                    "documentary",
                    "true story",
                    "real life",
                    "nature",
                    "history of",
                ],
            ),
            (
                Style::Comedy,
                &[
                    "comedy",
                    "funny",
                    "hilarious",
                    "wacky",
                    "mishap",
                    "office party",
                ],
            ),
            (
                Style::Thriller,
                &["thriller", "heist", "spy", "conspiracy", "chase", "hostage"],
            ),
        ];
        cues.iter()
            .map(|(style, words)| (*style, words.iter().filter(|w| text.contains(*w)).count()))
            .filter(|(_, n)| *n > 0)
            .max_by_key(|(_, n)| *n)
            .map(|(s, _)| s)
            .unwrap_or_default()
    }

    /// Words added to the prompt for the AI models.
    pub(crate) fn prompt_suffix(self) -> &'static str {
        match self {
            Style::Noir => {
                "film noir movie poster, high-contrast black and white, hard shadows, venetian blinds, 1940s"
            }
            Style::SciFi => {
                "science fiction movie poster, cinematic lighting, vast scale, neon and chrome"
            }
            Style::Horror => "horror movie poster, dread, fog, low key lighting, desaturated",
            Style::Western => "western movie poster, dusty golden hour, wide desert vista, painted",
            Style::Romance => "romantic movie poster, warm soft light, bokeh, tender",
            Style::Thriller => {
                "thriller movie poster, tense, teal and orange grade, dramatic silhouette"
            }
            Style::Fantasy => {
                "epic fantasy movie poster, painterly, luminous sky, sweeping landscape"
            }
            Style::Animation => {
                "animated feature poster, vibrant colours, stylised 3D characters, playful"
            }
            Style::Documentary => {
                "documentary poster, photographic, natural light, honest, minimal"
            }
            Style::Comedy => "comedy movie poster, bright, saturated, expressive characters, fun",
        }
    }

    /// Things the AI models should avoid for this look, beyond the defaults.
    pub(crate) fn negative_suffix(self) -> &'static str {
        match self {
            Style::Noir => "colour, saturated",
            Style::Animation => "photorealistic, gore",
            Style::Documentary => "cartoon, fantasy",
            _ => "",
        }
    }
}

impl Style {
    /// The colours of this genre's offline key art (the composer also takes its scrim from
    /// them).
    pub(crate) fn palette(self) -> Palette {
        match self {
            Style::Thriller => Palette {
                sky: [Rgb(6, 24, 34), Rgb(22, 78, 92), Rgb(236, 128, 52)],
                light: Rgb(255, 176, 92),
                far: Rgb(24, 60, 72),
                near: Rgb(4, 10, 14),
                accent: Rgb(255, 196, 120),
                grain: 0.05,
                vignette: 0.55,
                mono: false,
            },
            Style::Noir => Palette {
                sky: [Rgb(6, 6, 8), Rgb(40, 40, 44), Rgb(120, 118, 112)],
                light: Rgb(255, 246, 220),
                far: Rgb(52, 52, 56),
                near: Rgb(4, 4, 5),
                accent: Rgb(255, 236, 180),
                grain: 0.09,
                vignette: 0.75,
                mono: true,
            },
            Style::SciFi => Palette {
                sky: [Rgb(4, 2, 22), Rgb(44, 14, 92), Rgb(236, 70, 160)],
                light: Rgb(120, 230, 255),
                far: Rgb(70, 30, 120),
                near: Rgb(6, 4, 20),
                accent: Rgb(140, 250, 255),
                grain: 0.04,
                vignette: 0.5,
                mono: false,
            },
            Style::Horror => Palette {
                sky: [Rgb(4, 8, 8), Rgb(30, 44, 40), Rgb(120, 136, 120)],
                light: Rgb(236, 240, 214),
                far: Rgb(44, 58, 54),
                near: Rgb(2, 4, 4),
                accent: Rgb(200, 30, 24),
                grain: 0.08,
                vignette: 0.8,
                mono: false,
            },
            Style::Western => Palette {
                sky: [Rgb(70, 40, 90), Rgb(226, 104, 52), Rgb(255, 206, 110)],
                light: Rgb(255, 236, 160),
                far: Rgb(196, 92, 60),
                near: Rgb(40, 14, 10),
                accent: Rgb(255, 220, 140),
                grain: 0.07,
                vignette: 0.6,
                mono: false,
            },
            Style::Romance => Palette {
                sky: [Rgb(70, 40, 110), Rgb(226, 110, 140), Rgb(255, 196, 150)],
                light: Rgb(255, 236, 200),
                far: Rgb(180, 90, 130),
                near: Rgb(52, 16, 44),
                accent: Rgb(255, 220, 200),
                grain: 0.035,
                vignette: 0.45,
                mono: false,
            },
            Style::Fantasy => Palette {
                sky: [Rgb(20, 18, 60), Rgb(90, 60, 130), Rgb(255, 190, 120)],
                light: Rgb(255, 230, 170),
                far: Rgb(110, 90, 150),
                near: Rgb(14, 10, 30),
                accent: Rgb(255, 220, 150),
                grain: 0.04,
                vignette: 0.55,
                mono: false,
            },
            Style::Animation => Palette {
                sky: [Rgb(40, 140, 240), Rgb(110, 200, 255), Rgb(200, 240, 255)],
                light: Rgb(255, 226, 80),
                far: Rgb(120, 210, 120),
                near: Rgb(40, 150, 70),
                accent: Rgb(255, 255, 255),
                grain: 0.0,
                vignette: 0.2,
                mono: false,
            },
            Style::Documentary => Palette {
                sky: [Rgb(120, 140, 150), Rgb(180, 186, 180), Rgb(226, 214, 188)],
                light: Rgb(255, 246, 226),
                far: Rgb(120, 130, 128),
                near: Rgb(34, 38, 36),
                accent: Rgb(255, 246, 226),
                grain: 0.06,
                vignette: 0.45,
                mono: false,
            },
            Style::Comedy => Palette {
                sky: [Rgb(255, 190, 30), Rgb(255, 220, 70), Rgb(255, 246, 170)],
                light: Rgb(255, 255, 230),
                far: Rgb(255, 150, 40),
                near: Rgb(60, 30, 90),
                accent: Rgb(230, 40, 90),
                grain: 0.0,
                vignette: 0.15,
                mono: false,
            },
        }
    }

    /// Where this genre sets its title: the art keeps that part of the sheet quiet.
    pub(crate) fn title_placement(self) -> Placement {
        match self {
            Style::Thriller => Placement::Bottom,
            Style::Noir => Placement::Top,
            Style::SciFi => Placement::Bottom,
            Style::Horror => Placement::Top,
            Style::Western => Placement::Top,
            Style::Romance => Placement::Bottom,
            Style::Fantasy => Placement::Center,
            Style::Animation => Placement::Top,
            Style::Documentary => Placement::Bottom,
            Style::Comedy => Placement::Top,
        }
    }
}

impl fmt::Display for Style {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Style::ALL {
            assert_eq!(Style::parse(s.name()), Some(s));
        }
        assert_eq!(Style::parse("SciFi"), Some(Style::SciFi));
        assert_eq!(Style::parse("musical"), None);
        for p in Placement::ALL {
            assert_eq!(Placement::parse(p.name()), Some(p));
            let json = serde_json::to_string(&p).expect("serialises");
            assert_eq!(json, format!("\"{}\"", p.name()));
        }
        assert_eq!(Placement::parse(" Centre "), Some(Placement::Center));
        assert_eq!(Placement::parse("middle"), None);
    }

    #[test]
    fn guesses_follow_the_words() {
        assert_eq!(
            Style::guess("a lone cowboy rides into a dusty town"),
            Style::Western
        );
        assert_eq!(Style::guess("robots on a starship"), Style::SciFi);
        assert_eq!(Style::guess("a quiet afternoon"), Style::default());
    }
}
