//! Poster composition: sets the title, tagline and billing block in real type over the art.
//!
//! The composer takes art from any model (a `tiny_skia::Pixmap`) and the words a user asked
//! for, and lays them out inside the safe area with a legibility treatment chosen from the art
//! under the text. Fonts are embedded in the binary (see `assets/fonts/`, with their licences).
//! Submodules: `style` (genre looks), `fonts` (faces and shaping), `layout` (geometry), `draw`
//! (pixels), and for print-ready files `print` (sheets, bleed, marks), `resample` (Lanczos-3
//! scaling of the art) and `pdf` (the one-page PDF).
//!
//! This module knows nothing of Slack, models' wire formats or storage.
//!
//! Typography and composition: `Typography` (whose look sets the words and where the title sits,
//! apart from the art's style), `style` (each genre's typography: face, case, title colours),
//! `case` (capitals by the language's rules, ICU4X's `icu_casemap`: Greek drops its accents,
//! Turkish keeps the dot on `İ`), `fonts` (the four Latin faces embedded from `assets/fonts/`;
//! Noto script fonts — CJK, Arabic, Hebrew, the Indic scripts, Thai, Lao, Khmer, Myanmar,
//! Georgian, Armenian, Ethiopic, colour emoji — read on first use from the fonts directory, the
//! `FontsLayer` Lambda layer at `/opt/fonts` built by `scripts/fonts.sh`; the fallback chain per
//! look; bidi runs and rustybuzz shaping), `layout` (safe area, fitting, right-to-left lines in
//! visual order; `layout::breaking`: ICU4X's UAX #14 with strict kinsoku and the Thai, Lao,
//! Khmer and Myanmar dictionaries, balancing and ellipsis; `layout::vertical`: vertical CJK
//! columns), `draw` (scrims,
//! shadows, glyphs, colour emoji bitmaps), `print` (print-ready sheets: one-sheet and A1, bleed,
//! trim and bleed marks, type set afresh at full resolution), `resample` (Lanczos-3, a few rows at
//! a time) and `pdf` (a hand-written PDF 1.4 page with TrimBox and BleedBox). Where the words go
//! (#27): `saliency` (frequency-tuned saliency, Achanta et al. CVPR 2009, spectral residual, Hou
//! & Zhang CVPR 2007, a Sobel gradient map and a skin map, Chai & Ngan 1999 with Kovač et al.
//! 2003, of the art at 128 px), `layout::zones` (the zones' proportions, named; the
//! `Arrangement`s each look allows, its own first: bands across the sheet and, in most looks,
//! side-set blocks flush left or right), `placement` (scores each arrangement by saliency,
//! gradient and skin under the blocks, the room they use and the scrim they would need; then
//! draws, measures and raises scrims or shifts colour within the look's palette until
//! every line is at its WCAG floor), `contrast` (WCAG ratios on the finished pixels), `metrics`
//! (PosterLayout's Val, Ove, Ali, Und, Uti, Occ, Rea) and `readability` (the before/after report
//! and `docs/readability-sheet.png`). The chosen arrangement is kept in the take's record.

mod case;
mod contrast;
mod draw;
pub mod fonts;
mod format;
mod layout;
pub(crate) mod metrics;
mod pdf;
mod placement;
mod print;
pub mod readability;
mod resample;
mod saliency;
mod style;

use crate::genre::{Placement, Style};
pub use fonts::use_fonts_dir;
pub use format::{
    BILLING_FLOOR_PX, Format, Rendered, compose_format, contact_sheet, fit_cover, label_at,
    render_formats, stack,
};
#[cfg(test)]
pub(crate) use layout::layout;
pub use layout::{Arrangement, TaglineAt};
pub use placement::{Composition, Zones};
pub use print::{
    FORMAT_PRINT_LONG_SIDE_IN, MAX_PRINT_DPI, PRINT_DPI, Printed, Sheet, format_print_in, print,
    print_format,
};
pub use resample::resample_cover;

/// How the words are set: whose typography (a style's look: faces, case, colours, treatment)
/// and where the title sits. Reviewers change it independently of the art's style, which only
/// decides how the art was drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Typography {
    pub look: Style,
    pub placement: Placement,
    /// House colours for the letters (a workspace's brand kit), in place of the look's own;
    /// `None`: the look's. Scrims and halos still bring every line to its contrast floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ink: Option<Ink>,
}

/// House colours for a poster's letters: the title's, and the tagline's and credits'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ink {
    pub title: [u8; 3],
    pub text: [u8; 3],
}

impl Ink {
    /// Ink from a house palette of `#RRGGBB` colours: the first for the title, the second (or
    /// the first) for the smaller lines; `None` when there is no colour to read.
    pub fn from_palette(palette: &[String]) -> Option<Ink> {
        let rgb = |text: &String| -> Option<[u8; 3]> {
            let hex = text.trim().trim_start_matches('#');
            if hex.len() != 6 {
                return None;
            }
            let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
            Some([byte(0)?, byte(2)?, byte(4)?])
        };
        let colours: Vec<[u8; 3]> = palette.iter().filter_map(rgb).collect();
        let title = *colours.first()?;
        Some(Ink {
            title,
            text: colours.get(1).copied().unwrap_or(title),
        })
    }
}

impl Typography {
    /// The look the words are set in: the style's, with the house ink when there is one.
    pub(crate) fn resolved_look(&self) -> style::Look {
        let mut look = self.look.look();
        if let Some(ink) = self.ink {
            let [r, g, b] = ink.title;
            let title = crate::genre::Rgb(r, g, b);
            let [r, g, b] = ink.text;
            let text = crate::genre::Rgb(r, g, b);
            look.title_fill = (title, title);
            look.tagline_color = text;
            look.credits_color = text;
        }
        look
    }
    /// The style's own look with the title where the style puts it (and where its art leaves
    /// room).
    pub fn of(style: Style) -> Self {
        Typography {
            look: style,
            placement: style.title_placement(),
            ink: None,
        }
    }

    /// The style's own look for a poster titled `title`: looks whose posters set a Japanese,
    /// Chinese or Korean title in vertical columns do so (see `Look::vertical_cjk`).
    pub fn for_title(style: Style, title: Option<&str>) -> Self {
        let mut t = Typography::of(style);
        if style.look().vertical_cjk && title.is_some_and(fonts::is_cjk) {
            t.placement = Placement::Vertical;
        }
        t
    }
}

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
    #[error("a print is made at {PRINT_DPI} to {MAX_PRINT_DPI} dpi, not {dpi}")]
    Resolution { dpi: u32 },
    #[error("could not allocate a {width}×{height} print")]
    Size { width: u32, height: u32 },
    #[error("could not write the print PDF")]
    Pdf(#[source] std::io::Error),
}

/// Sets `text` over `art` in `typography`, where the art leaves room for it (see
/// `placement`), every line at its WCAG contrast floor. The art keeps its size and is never
/// stretched; text that no embedded face can draw is dropped (see `missing_glyphs`).
pub fn compose(
    art: &mut tiny_skia::Pixmap,
    text: &PosterText,
    typography: Typography,
) -> Composition {
    compose_in(art, text, typography, Zones::Choose)
}

/// [`compose`] with the zones chosen from the art ([`Zones::Choose`]) or fixed where the
/// typography puts them ([`Zones::Own`]: a reviewer's explicit placement).
pub fn compose_in(
    art: &mut tiny_skia::Pixmap,
    text: &PosterText,
    typography: Typography,
    zones: Zones,
) -> Composition {
    placement::set(art, text, typography, zones)
}

/// The grapheme clusters of `text` (letters with their marks, conjuncts, emoji sequences) that
/// hold characters `typography`'s faces cannot draw and that [`compose`] will leave out, so
/// callers can tell the user (e.g. CJK or emoji in a title), each as a reader would see it.
pub fn missing_glyphs(text: &PosterText, typography: Typography) -> Vec<String> {
    let look = typography.resolved_look();
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
    fn compose_keeps_the_size_and_draws_something() {
        let mut p = tiny_skia::Pixmap::new(400, 600).expect("non-zero size");
        p.fill(tiny_skia::Color::from_rgba8(120, 120, 120, 255));
        let before = p.clone();
        let text = PosterText {
            title: Some("Kraken".into()),
            ..Default::default()
        };
        compose(&mut p, &text, Typography::of(Style::Thriller));
        assert_eq!((p.width(), p.height()), (400, 600));
        assert_ne!(p.data(), before.data());
        // Empty text leaves the art untouched.
        let mut q = before.clone();
        compose(
            &mut q,
            &PosterText::default(),
            Typography::of(Style::Thriller),
        );
        assert_eq!(q.data(), before.data());
    }

    #[test]
    fn missing_glyphs_are_reported() {
        let t = PosterText {
            // Old Italic and the private use area are in no font Marquee ships.
            title: Some("𐌀𐌁 Story \u{E000}".into()),
            tagline: Some("Ça va".into()),
            credits: None,
        };
        assert_eq!(
            missing_glyphs(&t, Typography::of(Style::Noir)),
            vec!["𐌀", "𐌁", "\u{E000}"]
        );
        // The typography's look decides the faces, whatever the art's style: no face or
        // script font of a romance look has them either.
        let romance = Typography {
            look: Style::Romance,
            placement: Placement::Top,
            ink: None,
        };
        assert_eq!(missing_glyphs(&t, romance), vec!["𐌀", "𐌁", "\u{E000}"]);
    }

    #[test]
    fn typography_of_a_style_is_its_own_look_and_placement() {
        for style in Style::ALL {
            let t = Typography::of(style);
            assert_eq!(t.look, style);
            assert_eq!(t.placement, style.look().placement);
        }
        let t = Typography {
            look: Style::Noir,
            placement: Placement::Bottom,
            ink: None,
        };
        let json = serde_json::to_string(&t).expect("serialises");
        assert_eq!(json, r#"{"look":"noir","placement":"bottom"}"#);
        assert_eq!(
            serde_json::from_str::<Typography>(&json).expect("parses"),
            t
        );
    }

    #[test]
    fn cjk_titles_stand_vertically_in_the_looks_that_set_them_so() {
        let vertical = |style, title| Typography::for_title(style, title).placement;
        for style in Style::ALL {
            let v = vertical(style, Some("砂漠のキャラバン"));
            assert_eq!(
                v == Placement::Vertical,
                style.look().vertical_cjk,
                "{style}"
            );
            assert_eq!(
                vertical(style, Some("Desert Caravan")),
                style.title_placement()
            );
            assert_eq!(vertical(style, None), style.title_placement());
        }
        assert_eq!(
            vertical(Style::Noir, Some("사막의 대상")),
            Placement::Vertical
        );
        assert_eq!(
            vertical(Style::Thriller, Some("沙漠商队")),
            Style::Thriller.title_placement()
        );
    }

    #[test]
    fn the_placement_override_moves_the_title() {
        let text = PosterText {
            title: Some("Kraken".into()),
            ..Default::default()
        };
        let title_y = |placement| {
            let t = Typography {
                look: Style::Noir,
                placement,
                ink: None,
            };
            layout(1024, 1536, &text, t)
                .block(layout::Role::Title)
                .map(|r| r.y + r.h / 2.0)
                .expect("a title is set")
        };
        let (top, center, bottom) = (
            title_y(Placement::Top),
            title_y(Placement::Center),
            title_y(Placement::Bottom),
        );
        assert!(top < 1536.0 / 3.0, "{top}");
        assert!(
            center > 1536.0 / 3.0 && center < 1536.0 * 2.0 / 3.0,
            "{center}"
        );
        assert!(bottom > 1536.0 * 2.0 / 3.0, "{bottom}");
    }
}
