//! Peak memory and time of one print render, the way a worker would do it: decode stored art
//! (a 1024×1536 PNG, or a format's art at its own size), print one sheet or one format, write
//! the files. Each run is its own process, so the peak resident set (VmHWM) belongs to this
//! one print.
//!
//! `cargo run --release --example print_peak -- [one-sheet|a1|<format>] [dpi] [out-dir]`
//! (a format as `marquee formats` names it, e.g. `square`, `story`, `wide`; `one-sheet` is the
//! sheet, `format:one-sheet` the 2:3 format).

use std::time::Instant;

use marquee_core::genre::Style;
use marquee_core::model::image::decode_image;
use marquee_core::model::offline::render;
use marquee_core::poster::{Format, PRINT_DPI, PosterText, Sheet, Typography, print, print_format};

/// What one run prints.
#[derive(Clone, Copy)]
enum Page {
    Sheet(Sheet),
    Format(Format),
}

/// A line of /proc/self/status, in kB (Linux only).
fn status_kb(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let page = match args.next() {
        Some(s) if s.starts_with("format:") => {
            Page::Format(Format::parse(&s["format:".len()..]).ok_or("format:<format>")?)
        }
        Some(s) => match (Sheet::parse(&s), Format::parse(&s)) {
            (Some(sheet), _) => Page::Sheet(sheet),
            (None, Some(format)) => Page::Format(format),
            (None, None) => {
                return Err("a sheet (one-sheet, a1) or a format (square, story, …)".into());
            }
        },
        None => Page::Sheet(Sheet::OneSheet),
    };
    let (name, shown, (art_w, art_h)) = match page {
        Page::Sheet(sheet) => (sheet.name(), sheet.display_name().to_owned(), (1024, 1536)),
        Page::Format(format) => (format.name(), format.to_string(), format.size()),
    };
    let dpi = match args.next() {
        Some(d) => d.parse()?,
        None => PRINT_DPI,
    };
    let out = args.next().map(std::path::PathBuf::from);

    // Stored art as the store would hold it: a PNG. Rendering it is not part of the print.
    let stored = render(
        "a kraken attacks brooklyn at midnight",
        Style::Thriller,
        1977,
        art_w,
        art_h,
    )
    .encode_png()?;
    if let Some(dir) = &out {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("art.png"), &stored)?;
    }
    let text = PosterText {
        title: Some("The Kraken of Brooklyn".into()),
        tagline: Some("The deep has come ashore.".into()),
        credits: Some(
            "a harbor lights production directed by Ada Lovelace starring Grace Hopper \
             Alan Turing and Hedy Lamarr music by Clara Schumann"
                .into(),
        ),
    };
    let before = status_kb("VmHWM:").unwrap_or(0);

    let start = Instant::now();
    let art = decode_image(&stored)?;
    drop(stored);
    let typography = Typography::of(Style::Thriller);
    let printed = match page {
        Page::Sheet(sheet) => print(&art, &text, typography, sheet, dpi)?,
        Page::Format(format) => print_format(&art, &text, typography, format, dpi)?,
    };
    let elapsed = start.elapsed();
    if let Some(dir) = &out {
        std::fs::write(dir.join(format!("kraken-{name}.pdf")), &printed.pdf)?;
        std::fs::write(dir.join(format!("kraken-{name}.png")), &printed.png)?;
    }
    let peak = status_kb("VmHWM:").unwrap_or(0);
    println!(
        "{} at {dpi} dpi: {}×{} px page, PDF {:.1} MB, PNG {:.1} MB, {:.0} ms, peak RSS {:.0} MB \
         (before the print {:.0} MB)",
        shown,
        printed.width,
        printed.height,
        printed.pdf.len() as f64 / 1e6,
        printed.png.len() as f64 / 1e6,
        elapsed.as_secs_f64() * 1e3,
        peak as f64 / 1024.0,
        before as f64 / 1024.0,
    );
    Ok(())
}
