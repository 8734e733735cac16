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
    Ok(render_formats(formats, text, typography, |format| {
        let (w, h) = format.size();
        render_extended(prompt, style, seed, w, h)
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use marquee_core::model::image::decode_image;

    fn words() -> PosterText {
        PosterText {
            title: Some("A Lone Cowboy Rides".into()),
            tagline: Some("Some debts are paid in dust.".into()),
            credits: Some(
                "directed by Sergio Leone written by Luciano Vincenzoni starring Eli Wallach \
                 Clint Eastwood and Lee Van Cleef music by Ennio Morricone"
                    .into(),
            ),
        }
    }

    /// Each format's PNG is its size and aspect, every line of type inside its safe area, and
    /// the same inputs give the same bytes.
    #[test]
    fn every_format_is_its_own_size_with_its_type_inside_and_the_same_bytes_twice() {
        let prompt = "a lone cowboy rides into a dusty town";
        let a = render_set(prompt, Style::Western, 7, &words(), &Format::ALL).expect("renders");
        let b = render_set(prompt, Style::Western, 7, &words(), &Format::ALL).expect("renders");
        assert_eq!(a.len(), Format::ALL.len());
        for (r, again) in a.iter().zip(&b) {
            let f = r.format;
            assert!(r.png == again.png, "{f}: two renders differ");
            let png = decode_image(&r.png).expect("a PNG");
            let (w, h) = (png.width(), png.height());
            assert_eq!((w, h), f.size(), "{f}");
            let (rw, rh) = f
                .ratio()
                .split_once(':')
                .and_then(|(x, y)| Some((x.parse::<u32>().ok()?, y.parse::<u32>().ok()?)))
                .expect("a ratio");
            assert_eq!(w * rh, h * rw, "{f}: {w}×{h} is not {}", f.ratio());
            let (sx, sy, sw, sh) = f.safe_area();
            let lines = r.composition.line_boxes();
            assert!(lines.len() >= 3, "{f}: {} lines", lines.len());
            for [x, y, bw, bh] in lines {
                assert!(
                    x >= sx && y >= sy && x + bw <= sx + sw && y + bh <= sy + sh,
                    "{f}: a line at {:?} leaves the safe area {:?}",
                    (x, y, bw, bh),
                    (sx, sy, sw, sh)
                );
            }
            assert_eq!(r.composition.lines_below_floor(), 0, "{f}");
        }
    }

    #[test]
    fn only_the_formats_asked_for_are_written_with_a_contact_sheet() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let args = FormatsArgs {
            prompt: vec!["a kraken attacks brooklyn".into()],
            look: "noir".into(),
            seed: 3,
            title: None,
            tagline: None,
            credits: Some("directed by Ada Lovelace".into()),
            only: Some("1:1,story".into()),
            out: dir.path().to_path_buf(),
        };
        let files = run(&args).expect("writes");
        let names: Vec<String> = files
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        assert_eq!(names, ["square.png", "story.png", "contact-sheet.png"]);
        let bad = FormatsArgs {
            only: Some("square,poster".into()),
            ..args.clone()
        };
        assert!(run(&bad).is_err());
        let bad = FormatsArgs {
            look: "opera".into(),
            ..args
        };
        assert!(run(&bad).is_err());
    }
}
