//! `marquee formats`: one offline poster in every format (#26) — the one-sheet, square, feed,
//! story, banner and wide — each with its art re-composed at its own aspect by the offline
//! generator and its words laid out afresh in its safe area, written into a directory with a
//! contact sheet. The work is the library's (`model::offline::render_extended`,
//! `poster::render_formats`); this file only parses flags and writes files.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::BoxError;
use marquee_core::genre::Style;
use marquee_core::model::offline::render_extended;
use marquee_core::poster::{
    Format, PosterText, Typography, contact_sheet, default_title, encode_png, render_formats,
};

#[derive(Debug, Clone, Args)]
pub(super) struct FormatsArgs {
    /// What to draw, e.g. "a kraken attacks brooklyn at midnight".
    #[arg(required = true, num_args = 1..)]
    prompt: Vec<String>,
    /// The look: the art's style and its typography (thriller, noir, horror, …).
    #[arg(long, default_value = "thriller")]
    look: String,
    #[arg(long, default_value_t = 1977)]
    seed: u32,
    /// The title (default: from the prompt, as /poster makes it).
    #[arg(long)]
    title: Option<String>,
    #[arg(long)]
    tagline: Option<String>,
    /// The billing block, e.g. "directed by Ada Lovelace starring Grace Hopper".
    #[arg(long)]
    credits: Option<String>,
    /// Only these formats, by name or ratio: one-sheet, square, feed, story, banner, wide
    /// (2:3, 1:1, 4:5, 9:16, 16:9, 21:9), comma-separated.
    #[arg(long, value_name = "LIST")]
    only: Option<String>,
    /// The directory to write `<format>.png` and `contact-sheet.png` into.
    #[arg(short, long, default_value = "formats")]
    out: PathBuf,
}

/// Renders the formats `args` asks for and returns the files written, contact sheet last.
pub(super) fn run(args: &FormatsArgs) -> Result<Vec<PathBuf>, BoxError> {
    let style = Style::parse(&args.look).ok_or_else(|| {
        format!(
            "\"{}\" is not a look; the looks are {}",
            args.look,
            Style::ALL.map(Style::name).join(", ")
        )
    })?;
    let formats = match &args.only {
        Some(list) => Format::parse_list(list)?,
        None => Format::ALL.to_vec(),
    };
    let prompt = args.prompt.join(" ");
    let text = PosterText {
        title: Some(args.title.clone().unwrap_or_else(|| default_title(&prompt))),
        tagline: args.tagline.clone(),
        credits: args.credits.clone(),
    };
    let started = Instant::now();
    let set = render_set(&prompt, style, args.seed, &text, &formats)?;
    let elapsed = started.elapsed();
    std::fs::create_dir_all(&args.out)?;
    let mut written = Vec::new();
    for r in &set {
        let path = args.out.join(format!("{}.png", r.format.name()));
        std::fs::write(&path, &r.png)?;
        written.push(path);
    }
    let posters: Vec<(Format, &tiny_skia::Pixmap)> =
        set.iter().map(|r| (r.format, &r.pixmap)).collect();
    let sheet = contact_sheet(&posters, 360);
    let path = args.out.join("contact-sheet.png");
    std::fs::write(&path, encode_png(&sheet)?)?;
    written.push(path);
    eprintln!(
        "{} formats rendered in {:.0} ms",
        set.len(),
        elapsed.as_secs_f64() * 1e3
    );
    Ok(written)
}

/// One poster at `formats`: the offline art re-composed for each, the words set afresh.
fn render_set(
    prompt: &str,
    style: Style,
    seed: u32,
    text: &PosterText,
    formats: &[Format],
) -> Result<Vec<marquee_core::poster::Rendered>, BoxError> {
    let typography = Typography::for_title(style, text.title.as_deref());
    Ok(render_formats(formats, text, typography, |w, h| {
        render_extended(prompt, style, seed, w, h)
    })?)
}
