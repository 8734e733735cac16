//! Style presets: the complete look of a genre, for the AI models (prompt and negative-prompt
//! additions) and for the composer (palette, typeface, title placement and case).
//!
//! This module knows nothing of Slack or storage.

use std::fmt;

/// A genre look. Every preset works with every model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
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
    pub const ALL: [Style; 10] = [
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
    pub fn guess(description: &str) -> Style {
        let text = description.to_lowercase();
        let cues: &[(Style, &[&str])] = &[
            (Style::Noir, &["noir", "detective", "1940s", "fedora", "femme fatale", "gangster"]),
            (Style::SciFi, &["space", "robot", "alien", "cyber", "galaxy", "planet", "starship", "future", "android", "mars"]),
            (Style::Horror, &["horror", "ghost", "haunted", "zombie", "vampire", "demon", "blood", "kraken", "monster", "witch"]),
            (Style::Western, &["western", "cowboy", "sheriff", "outlaw", "desert", "frontier", "saloon"]),
            (Style::Romance, &["love", "romance", "wedding", "kiss", "heart", "paris"]),
            (Style::Fantasy, &["dragon", "wizard", "castle", "elf", "quest", "magic", "kingdom", "sword"]),
            (Style::Animation, &["cartoon", "animated", "pixar", "talking", "cute", "kids"]),
            (Style::Documentary, &["documentary", "true story", "real life", "nature", "history of"]),
            (Style::Comedy, &["comedy", "funny", "hilarious", "wacky", "mishap", "office party"]),
            (Style::Thriller, &["thriller", "heist", "spy", "conspiracy", "chase", "hostage"]),
        ];
        cues.iter()
            .map(|(style, words)| (*style, words.iter().filter(|w| text.contains(*w)).count()))
            .filter(|(_, n)| *n > 0)
            .max_by_key(|(_, n)| *n)
            .map(|(s, _)| s)
            .unwrap_or_default()
    }

    /// Words added to the prompt for the AI models.
    pub fn prompt_suffix(self) -> &'static str {
        match self {
            Style::Noir => "film noir movie poster, high-contrast black and white, hard shadows, venetian blinds, 1940s",
            Style::SciFi => "science fiction movie poster, cinematic lighting, vast scale, neon and chrome",
            Style::Horror => "horror movie poster, dread, fog, low key lighting, desaturated",
            Style::Western => "western movie poster, dusty golden hour, wide desert vista, painted",
            Style::Romance => "romantic movie poster, warm soft light, bokeh, tender",
            Style::Thriller => "thriller movie poster, tense, teal and orange grade, dramatic silhouette",
            Style::Fantasy => "epic fantasy movie poster, painterly, luminous sky, sweeping landscape",
            Style::Animation => "animated feature poster, vibrant colours, stylised 3D characters, playful",
            Style::Documentary => "documentary poster, photographic, natural light, honest, minimal",
            Style::Comedy => "comedy movie poster, bright, saturated, expressive characters, fun",
        }
    }

    /// Things the AI models should avoid for this look, beyond the defaults.
    pub fn negative_suffix(self) -> &'static str {
        match self {
            Style::Noir => "colour, saturated",
            Style::Animation => "photorealistic, gore",
            Style::Documentary => "cartoon, fantasy",
            _ => "",
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
    }

    #[test]
    fn guesses_follow_the_words() {
        assert_eq!(Style::guess("a lone cowboy rides into a dusty town"), Style::Western);
        assert_eq!(Style::guess("robots on a starship"), Style::SciFi);
        assert_eq!(Style::guess("a quiet afternoon"), Style::default());
    }
}
