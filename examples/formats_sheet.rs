//! `docs/formats-contact-sheet.png` (#26): one poster in every format — one-sheet, square,
//! feed, story, banner, wide — in three looks, a row per look. The art of each format is the
//! offline generator's scene re-composed at its aspect (`model::offline::render_extended`) and
//! the words are laid out afresh in its safe area (`poster::render_formats`): what
//! `marquee formats` writes, one look at a time. The third row is a Japanese title in noir,
//! whose look stands CJK titles in vertical columns; it needs the script fonts
//! (`scripts/fonts.sh`; `MARQUEE_FONTS_DIR`, default `build/fonts-layer/fonts`).
//! Run with `cargo run --release --example formats_sheet`; `--out DIR` also writes each file.
//! With `--bench N`, instead renders the first poster's six formats N times in one process and
//! prints each set's time (art, type and PNG encoding; the first is cold), the warm median and
//! the process's peak resident memory.

use std::path::{Path, PathBuf};

use marquee_core::genre::Style;
use marquee_core::model::offline::render_extended;
use marquee_core::poster::{
    Format, PosterText, Typography, contact_sheet, encode_png, missing_glyphs, render_formats,
    stack,
};

/// The three posters: prompt, look, seed and words.
const POSTERS: [(&str, Style, u32, &str, &str, &str); 3] = [
    (
        "a kraken attacks brooklyn at midnight",
        Style::Thriller,
        1977,
        "Kraken Attacks Brooklyn",
        "The deep has come ashore.",
        "a harbor lights production directed by Ada Lovelace starring Grace Hopper Alan Turing and Hedy Lamarr music by Clara Schumann",
    ),
    (
        "a lone cowboy rides into a dusty town",
        Style::Western,
        1978,
        "A Lone Cowboy Rides",
        "Some debts are paid in dust.",
        "directed by Sergio Leone written by Luciano Vincenzoni starring Eli Wallach",
    ),
    (
        "a detective in the rain, city at night",
        Style::Noir,
        1979,
        "雨の探偵",
        "夜の街で、真実を追う。",
        "監督 小津安二郎 主演 原節子 笠智衆",
    ),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fonts = std::env::var_os("MARQUEE_FONTS_DIR")
        .map_or_else(|| root.join("build/fonts-layer/fonts"), PathBuf::from);
    marquee_core::poster::use_fonts_dir(fonts);
    let args: Vec<String> = std::env::args().collect();
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    if let Some(n) = args
        .iter()
        .position(|a| a == "--bench")
        .and_then(|i| args.get(i + 1))
    {
        return bench(n.parse()?);
    }
    let mut rows = Vec::new();
    println!(
        "| poster | format | title | tagline | billing (smallest glyph) |\n|---|---|---:|---:|---:|"
    );
    for (prompt, style, seed, title, tagline, credits) in POSTERS {
        let text = PosterText {
            title: Some(title.into()),
            tagline: Some(tagline.into()),
            credits: Some(credits.into()),
        };
        let typography = Typography::for_title(style, Some(title));
        let missing = missing_glyphs(&text, typography);
        if !missing.is_empty() {
            return Err(format!(
                "no font for {}: build the script fonts with scripts/fonts.sh",
                missing.join(" ")
            )
            .into());
        }
        let set = render_formats(&Format::ALL, &text, typography, |format| {
            let (w, h) = format.size();
            render_extended(prompt, style, seed, w, h)
        })?;
        if let Some(dir) = &out {
            std::fs::create_dir_all(dir)?;
            for r in &set {
                let name = format!("{}-{}.png", style.name(), r.format.name());
                std::fs::write(dir.join(name), &r.png)?;
            }
        }
        for r in &set {
            let px = |s: Option<f32>| s.map_or("—".to_owned(), |s| format!("{s:.1} px"));
            let [t, g, b] = r.composition.smallest_type();
            println!(
                "| {} | {} | {} | {} | {} |",
                style.name(),
                r.format,
                px(t),
                px(g),
                px(b)
            );
        }
        let posters: Vec<_> = set.iter().map(|r| (r.format, &r.pixmap)).collect();
        rows.push(contact_sheet(&posters, 300));
    }
    let path = root.join("docs/formats-contact-sheet.png");
    std::fs::write(&path, encode_png(&stack(&rows))?)?;
    println!("{}", path.display());
    Ok(())
}

/// Renders the first poster's six formats `runs` times and reports the times and peak memory.
fn bench(runs: usize) -> Result<(), Box<dyn std::error::Error>> {
    let (prompt, style, seed, title, tagline, credits) = POSTERS[0];
    let text = PosterText {
        title: Some(title.into()),
        tagline: Some(tagline.into()),
        credits: Some(credits.into()),
    };
    let typography = Typography::for_title(style, Some(title));
    let mut warm = Vec::new();
    for run in 0..runs.max(2) {
        let started = std::time::Instant::now();
        let set = render_formats(&Format::ALL, &text, typography, |format| {
            let (w, h) = format.size();
            render_extended(prompt, style, seed, w, h)
        })?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let bytes: usize = set.iter().map(|r| r.png.len()).sum();
        println!(
            "set {run}: {ms:.0} ms, {} files, {bytes} bytes of PNG",
            set.len()
        );
        if run > 0 {
            warm.push(ms);
        }
    }
    warm.sort_by(f64::total_cmp);
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_default();
    println!(
        "warm median {:.0} ms (min {:.0}, max {:.0}) over {} sets; peak RSS {peak}",
        warm[warm.len() / 2],
        warm[0],
        warm[warm.len() - 1],
        warm.len()
    );
    Ok(())
}
