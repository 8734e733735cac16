//! Poster composition: sets the title, tagline and billing block in real type over the art.
//!
//! The composer takes art from any model (a `tiny_skia::Pixmap`) and the words a user asked
//! for, and lays them out inside the safe area with a legibility treatment chosen from the art
//! under the text. Fonts are embedded in the binary (see `assets/fonts/`, with their licences).
//! Submodules: [`style`] (genre looks), [`fonts`] (faces and shaping), [`layout`] (geometry),
//! [`draw`] (pixels).
//!
//! This module knows nothing of Slack, models' wire formats or storage.

pub mod draw;
pub mod fonts;
pub mod layout;
pub mod style;

pub use layout::{Layout, Rect, Role, TextBox, layout, safe_area};
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

/// Why an image could not be decoded, beyond what the PNG decoder itself reports.
#[derive(Debug, thiserror::Error)]
pub enum ImageFormatError {
    #[error("the image is a JPEG; only PNG is supported, so ask the model for PNG output")]
    Jpeg,
    #[error("the image is not a PNG")]
    NotPng,
    #[error("the image is {width}×{height}, larger than the {MAX_SIDE} px per side accepted")]
    TooLarge { width: u32, height: u32 },
}

/// The largest side accepted from a model: well above any model's output, well below sizes
/// whose decoding would exhaust memory.
pub const MAX_SIDE: u32 = 8192;

/// Sets `text` over `art` in the look of `style`. The art keeps its size and is never
/// stretched; text that no embedded face can draw is dropped (see [`missing_glyphs`]).
pub fn compose(art: &mut tiny_skia::Pixmap, text: &PosterText, style: Style) {
    let laid = layout(art.width(), art.height(), text, style);
    draw::draw(art, &laid, &style.look());
}

/// Characters of `text` that `style`'s faces cannot draw and that [`compose`] will leave out,
/// so callers can tell the user (e.g. CJK or emoji in a title).
pub fn missing_glyphs(text: &PosterText, style: Style) -> Vec<char> {
    let look = style.look();
    let mut out = Vec::new();
    for (field, face) in [
        (&text.title, look.title_face),
        (&text.tagline, fonts::Face::Sans),
        (&text.credits, fonts::Face::Display),
    ] {
        if let Some(t) = field {
            for c in fonts::missing_chars(t, face) {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// Leading phrases that describe the request rather than the film.
const PREAMBLES: &[&str] = &[
    "a movie poster of ",
    "a movie poster for ",
    "a poster of ",
    "a poster for ",
    "movie poster of ",
    "movie poster for ",
    "poster of ",
    "poster for ",
    "a movie about ",
    "a film about ",
    "movie about ",
    "film about ",
];

/// Words that do not end a title and stay lower case inside one.
const MINOR: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "of", "in", "into", "on", "onto", "at", "to", "by",
    "for", "from", "with", "as", "who", "that", "while", "is", "are", "à", "de", "du", "des", "la",
    "le", "les", "et", "y", "el",
];

/// A title for posters whose user gave none: the description's first clause, in title case,
/// cut to at most six words without ending on a dangling "of" or "the".
pub fn default_title(description: &str) -> String {
    let mut clause = description
        .split([',', '.', ';', ':', '—', '–', '\n', '!', '?', '(', ')'])
        .map(|s| s.replace(['"', '“', '”', '«', '»'], "").trim().to_string())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "Untitled".to_string());
    for p in PREAMBLES {
        if clause.len() > p.len() && clause.to_lowercase().starts_with(p) {
            // Byte length is safe here: the preamble is ASCII and matched case-insensitively,
            // and ASCII lower-casing does not change byte lengths.
            clause = clause[p.len()..].to_string();
            break;
        }
    }
    let mut words: Vec<&str> = clause.split_whitespace().take(6).collect();
    while words.len() > 1
        && words
            .last()
            .is_some_and(|w| MINOR.contains(&w.to_lowercase().as_str()))
    {
        words.pop();
    }
    if words.is_empty() {
        return "Untitled".to_string();
    }
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let lower = w.to_lowercase();
            if i > 0 && MINOR.contains(&lower.as_str()) {
                return lower;
            }
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Encodes a finished poster as PNG: RGB when every pixel is opaque (posters always are),
/// RGBA otherwise, with the png crate's fast fdeflate path. Film grain makes posters nearly
/// incompressible, and the default zlib level spends several times longer for a few percent.
pub fn encode_png(pixmap: &tiny_skia::Pixmap) -> Result<Vec<u8>, PosterError> {
    let opaque = pixmap.pixels().iter().all(|p| p.alpha() == 255);
    let channels = if opaque { 3 } else { 4 };
    let mut data = Vec::with_capacity(pixmap.pixels().len() * channels);
    for p in pixmap.pixels() {
        let c = p.demultiply();
        data.extend_from_slice(&[c.red(), c.green(), c.blue()]);
        if !opaque {
            data.push(c.alpha());
        }
    }
    let mut out = Vec::with_capacity(data.len() / 2);
    let mut encoder = png::Encoder::new(&mut out, pixmap.width(), pixmap.height());
    encoder.set_color(if opaque {
        png::ColorType::Rgb
    } else {
        png::ColorType::Rgba
    });
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder
        .write_header()
        .map_err(|e| PosterError::Encode(Box::new(e)))?;
    writer
        .write_image_data(&data)
        .map_err(|e| PosterError::Encode(Box::new(e)))?;
    writer
        .finish()
        .map_err(|e| PosterError::Encode(Box::new(e)))?;
    Ok(out)
}

/// Decodes a model's PNG output. JPEG is recognised and refused with a clear error rather than
/// decoded: no model Marquee calls needs it, and a decoder would be the largest dependency here.
pub fn decode_image(bytes: &[u8]) -> Result<tiny_skia::Pixmap, PosterError> {
    const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(PosterError::Decode(Box::new(ImageFormatError::Jpeg)));
    }
    if !bytes.starts_with(PNG_MAGIC) || bytes.len() < 24 {
        return Err(PosterError::Decode(Box::new(ImageFormatError::NotPng)));
    }
    // The IHDR chunk always comes first: check the size before allocating for it.
    let be = |o: usize| u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    let (width, height) = (be(16), be(20));
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(PosterError::Decode(Box::new(ImageFormatError::TooLarge {
            width,
            height,
        })));
    }
    tiny_skia::Pixmap::decode_png(bytes).map_err(|e| PosterError::Decode(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_titles_read_like_titles() {
        assert_eq!(
            default_title("a lone cowboy rides into a dusty town"),
            "A Lone Cowboy Rides"
        );
        assert_eq!(
            default_title("kraken attacks brooklyn, at night"),
            "Kraken Attacks Brooklyn"
        );
        assert_eq!(
            default_title("a movie about the last days of NASA"),
            "The Last Days of NASA"
        );
        assert_eq!(default_title("the fall of"), "The Fall");
        assert_eq!(default_title(""), "Untitled");
        assert_eq!(default_title(" ,,, . "), "Untitled");
        assert_eq!(default_title("été à paris"), "Été à Paris");
        assert_eq!(default_title("\"quoted\" heist"), "Quoted Heist");
        assert_eq!(default_title("東京物語"), "東京物語");
    }

    #[test]
    fn png_round_trips_pixel_for_pixel() {
        let mut p = tiny_skia::Pixmap::new(33, 17).expect("non-zero size");
        for (i, px) in p.pixels_mut().iter_mut().enumerate() {
            let v = (i * 7 % 256) as u8;
            *px = tiny_skia::ColorU8::from_rgba(v, 255 - v, v / 2, 255).premultiply();
        }
        let png = encode_png(&p).expect("encodes");
        let back = decode_image(&png).expect("decodes");
        assert_eq!(back.data(), p.data());
    }

    #[test]
    fn decode_refuses_what_it_cannot_take() {
        assert!(matches!(
            decode_image(b"\xFF\xD8\xFF\xE0 jfif"),
            Err(PosterError::Decode(_))
        ));
        assert!(matches!(
            decode_image(b"hello"),
            Err(PosterError::Decode(_))
        ));
        let mut huge = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        huge.extend_from_slice(&100_000_u32.to_be_bytes());
        huge.extend_from_slice(&10_u32.to_be_bytes());
        let err = decode_image(&huge).expect_err("too large");
        let source = std::error::Error::source(&err)
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(source.contains("larger than"), "{source}");
        // A truncated PNG is an error, not a panic.
        let good =
            encode_png(&tiny_skia::Pixmap::new(4, 4).expect("non-zero size")).expect("encodes");
        assert!(decode_image(&good[..good.len() / 2]).is_err());
    }

    #[test]
    fn compose_keeps_the_size_and_draws_something() {
        let mut p = tiny_skia::Pixmap::new(400, 600).expect("non-zero size");
        p.fill(tiny_skia::Color::from_rgba8(120, 120, 120, 255));
        let before = p.clone();
        let text = PosterText {
            title: Some("Kraken".into()),
            ..Default::default()
        };
        compose(&mut p, &text, Style::Thriller);
        assert_eq!((p.width(), p.height()), (400, 600));
        assert_ne!(p.data(), before.data());
        // Empty text leaves the art untouched.
        let mut q = before.clone();
        compose(&mut q, &PosterText::default(), Style::Thriller);
        assert_eq!(q.data(), before.data());
    }

    #[test]
    fn missing_glyphs_are_reported() {
        let t = PosterText {
            title: Some("東京 Story 🎬".into()),
            tagline: Some("Ça va".into()),
            credits: None,
        };
        assert_eq!(missing_glyphs(&t, Style::Noir), vec!['東', '京', '🎬']);
    }
}
