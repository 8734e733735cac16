//! `marquee print` and `marquee edit`: new words over existing art, for review (#12). `edit`
//! writes a screen poster; `print` writes print-ready PDF and PNG files per sheet.
//!
//! The art comes from a PNG file (`--art`) or from a take in this machine's store (`--id`, as
//! `marquee demo` and `marquee serve` keep them): then its words and typography are the
//! defaults, and the flags change only what they name. The work is the library's
//! (`poster::compose`, `poster::print`); this file only reads and writes files.

use std::path::{Path, PathBuf};

use clap::Args;

use super::BoxError;
use marquee_core::genre::{Placement, Style};
use marquee_core::model::image::decode_image;
use marquee_core::poster::{self, PRINT_DPI, PosterText, Sheet, Typography};

/// Where the art comes from: exactly one source.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub(super) struct ArtSource {
    /// The art as a PNG file, ideally without words on it.
    #[arg(long, value_name = "ART.png")]
    art: Option<PathBuf>,
    /// A take in this machine's store (the id in its link, `…/files/posters/…/<id>.png`): its
    /// art before typography, with its own words and type unless the flags say otherwise.
    #[arg(long, value_name = "POSTER_ID")]
    pub(super) id: Option<uuid::Uuid>,
}

/// A stored take, read by the caller (it needs the store): its art, words and typography.
pub(super) struct StoredTake {
    pub(super) art: tiny_skia::Pixmap,
    pub(super) text: PosterText,
    pub(super) typography: Typography,
    pub(super) id: uuid::Uuid,
}

impl ArtSource {
    /// The art, and a name for the files made from it.
    fn load(&self, stored: Option<&StoredTake>) -> Result<(tiny_skia::Pixmap, String), BoxError> {
        if let Some(take) = stored {
            return Ok((take.art.clone(), format!("marquee-{}", take.id)));
        }
        let Some(path) = &self.art else {
            return Err("give the art with --art ART.png or a stored take with --id".into());
        };
        let bytes =
            std::fs::read(path).map_err(|e| format!("could not read {}: {e}", path.display()))?;
        let art = decode_image(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "poster".into());
        Ok((art, name))
    }
}

/// The words and how they are set.
#[derive(Debug, Clone, Args)]
pub(super) struct Words {
    #[arg(long)]
    title: Option<String>,
    #[arg(long)]
    tagline: Option<String>,
    #[arg(long)]
    credits: Option<String>,
    /// Whose typography: a style's faces, case, colours and treatment (default: the stored
    /// take's, else thriller).
    #[arg(long, value_parser = parse_style)]
    style: Option<Style>,
    /// Where the title sits: top, center, bottom, or vertical (a CJK title in columns at the
    /// right) (default: where the style puts it).
    #[arg(long, value_parser = parse_placement)]
    placement: Option<Placement>,
}

impl Words {
    /// The words: each flag given, else the stored take's (an empty flag clears a field).
    fn text(&self, stored: Option<&StoredTake>) -> PosterText {
        let base = stored.map(|t| t.text.clone()).unwrap_or_default();
        let pick = |flag: &Option<String>, kept: Option<String>| match flag {
            Some(v) if v.trim().is_empty() => None,
            Some(v) => Some(v.clone()),
            None => kept,
        };
        PosterText {
            title: pick(&self.title, base.title),
            tagline: pick(&self.tagline, base.tagline),
            credits: pick(&self.credits, base.credits),
        }
    }

    /// The typography: `--style` (its own placement), else the stored take's, else thriller;
    /// then `--placement`.
    fn typography(&self, stored: Option<&StoredTake>) -> Typography {
        let mut t = match (self.style, stored) {
            (Some(style), _) => Typography::of(style),
            (None, Some(take)) => take.typography,
            (None, None) => Typography::of(Style::Thriller),
        };
        if let Some(p) = self.placement {
            t.placement = p;
        }
        t
    }

    /// Tells the user about characters the fonts cannot draw.
    fn warn_missing(&self, stored: Option<&StoredTake>) {
        let missing = poster::missing_glyphs(&self.text(stored), self.typography(stored));
        if !missing.is_empty() {
            let chars: String = missing.iter().collect();
            eprintln!(
                "note: the poster fonts cannot draw {chars:?}; those characters were left out"
            );
        }
    }
}

fn parse_style(s: &str) -> Result<Style, String> {
    Style::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Style::ALL.iter().map(|s| s.name()).collect();
        format!("unknown style; choose one of {}", names.join(", "))
    })
}

fn parse_placement(s: &str) -> Result<Placement, String> {
    Placement::parse(s).ok_or_else(|| "choose top, center, bottom or vertical".to_string())
}

/// `--sheet`: one sheet or all of them.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sheets(pub(super) Vec<Sheet>);

fn parse_sheets(s: &str) -> Result<Sheets, String> {
    if s.trim().eq_ignore_ascii_case("all") {
        return Ok(Sheets(Sheet::ALL.to_vec()));
    }
    Sheet::parse(s).map(|s| Sheets(vec![s])).ok_or_else(|| {
        let names: Vec<&str> = Sheet::ALL.iter().map(|s| s.name()).collect();
        format!("choose {} or all", names.join(", "))
    })
}

/// The arguments of `marquee print`.
#[derive(Debug, Clone, Args)]
pub(super) struct PrintArgs {
    #[command(flatten)]
    pub(super) source: ArtSource,
    #[command(flatten)]
    words: Words,
    /// Which sheet: one-sheet (27×40 in), a1 (594×841 mm) or all.
    #[arg(long, default_value = "all", value_parser = parse_sheets)]
    pub(super) sheet: Sheets,
    /// Resolution at trim size.
    #[arg(long, default_value_t = PRINT_DPI)]
    pub(super) dpi: u32,
    /// The directory to write `<name>-<sheet>.pdf` and `.png` into.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// The arguments of `marquee edit`.
#[derive(Debug, Clone, Args)]
pub(super) struct EditArgs {
    #[command(flatten)]
    pub(super) source: ArtSource,
    #[command(flatten)]
    words: Words,
    /// Where to write the poster PNG.
    #[arg(short, long, value_name = "poster.png")]
    out: PathBuf,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), BoxError> {
    std::fs::write(path, bytes)
        .map_err(|e| format!("could not write {}: {e}", path.display()).into())
}

/// Writes a PDF and a PNG per sheet and returns the files written.
pub(super) fn print(
    args: &PrintArgs,
    stored: Option<&StoredTake>,
) -> Result<Vec<PathBuf>, BoxError> {
    let (art, name) = args.source.load(stored)?;
    args.words.warn_missing(stored);
    std::fs::create_dir_all(&args.out)?;
    let mut written = Vec::new();
    for &sheet in &args.sheet.0 {
        // One sheet at a time: each print is a few hundred megabytes until it is written.
        let printed = poster::print(
            &art,
            &args.words.text(stored),
            args.words.typography(stored),
            sheet,
            args.dpi,
        )?;
        for (ext, bytes) in [("pdf", &printed.pdf), ("png", &printed.png)] {
            let path = args.out.join(format!("{name}-{}.{ext}", sheet.name()));
            write(&path, bytes)?;
            written.push(path);
        }
    }
    Ok(written)
}

/// Sets new words over the art and writes the poster.
pub(super) fn edit(args: &EditArgs, stored: Option<&StoredTake>) -> Result<PathBuf, BoxError> {
    let (mut art, _) = args.source.load(stored)?;
    args.words.warn_missing(stored);
    poster::compose(
        &mut art,
        &args.words.text(stored),
        args.words.typography(stored),
    );
    write(&args.out, &poster::encode_png(&art)?)?;
    Ok(args.out.clone())
}
