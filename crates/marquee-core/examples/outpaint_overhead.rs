//! The time a Bedrock take's formats set spends beyond the model's own calls: everything
//! `pipeline::formats` does around its Outpaint calls, with Outpaint replaced by an in-process
//! stand-in whose own time is measured apart and left out. Per set: decode the stored art (an
//! 832×1216 PNG, SD3.5's 2:3), plan each format's call (`model::outpaint::plan`), send the art
//! as PNG and read the answer's PNG (what the Bedrock client encodes and decodes per call),
//! store each grown art as PNG (kept so an interrupted set never pays twice), fit each to its
//! format's size (on the rendering threads), set the type afresh, encode the six files and the contact sheet. Network,
//! S3 and the state store are not included.
//!
//! `cargo run --release -p marquee-core --example outpaint_overhead -- [sets]`

use std::time::{Duration, Instant};

use marquee_core::genre::Style;
use marquee_core::model::image::decode_image;
use marquee_core::model::offline::render;
use marquee_core::model::outpaint;
use marquee_core::poster::{
    Format, PosterText, Typography, contact_sheet, encode_png, fit_cover, render_formats,
};
use tiny_skia::{Pixmap, PixmapPaint, Transform};

/// Outpaint in-process: the source on a larger canvas (its own time is the model's).
fn grow(source: &Pixmap, plan: &outpaint::Plan) -> Pixmap {
    let (w, h) = plan.output();
    let mut out = Pixmap::new(w, h).expect("a canvas");
    out.fill(tiny_skia::Color::from_rgba8(30, 40, 60, 255));
    out.draw_pixmap(
        plan.left as i32,
        plan.up as i32,
        source.as_ref(),
        &PixmapPaint::default(),
        Transform::identity(),
        None,
    );
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sets: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(5);
    let stored = render(
        "a kraken attacks brooklyn at midnight",
        Style::Thriller,
        1977,
        832,
        1216,
    )
    .encode_png()?;
    let text = PosterText {
        title: Some("The Kraken of Brooklyn".into()),
        tagline: Some("The deep has come ashore.".into()),
        credits: Some(
            "a harbor lights production directed by Ada Lovelace starring Grace Hopper \
             Alan Turing and Hedy Lamarr music by Clara Schumann"
                .into(),
        ),
    };
    let typography = Typography::for_title(Style::Thriller, text.title.as_deref());
    let mut overheads = Vec::new();
    for run in 0..=sets {
        let started = Instant::now();
        let mut model = Duration::ZERO;
        let art = decode_image(&stored)?;
        let mut grown = Vec::new();
        for format in Format::ALL {
            let plan = outpaint::plan(art.width(), art.height(), format.ratio_parts())?;
            let Some(plan) = plan else {
                grown.push((format, art.clone()));
                continue;
            };
            // The request's PNG, the model, the answer's PNG decoded, the copy kept.
            let sent = encode_png(&art)?;
            let called = Instant::now();
            let answer = encode_png(&grow(&decode_image(&sent)?, &plan))?;
            model += called.elapsed();
            let pixmap = decode_image(&answer)?;
            let _kept = encode_png(&pixmap)?;
            grown.push((format, pixmap));
        }
        let io = started.elapsed() - model;
        let type_started = Instant::now();
        // As `pipeline::formats` does: each format's art fitted on the rendering threads.
        let set = render_formats(&Format::ALL, &text, typography, |format| {
            let (w, h) = format.size();
            grown
                .iter()
                .find(|(f, _)| *f == format)
                .and_then(|(_, a)| fit_cover(a, w, h))
                .expect("every format fitted")
        })?;
        let set_ms = type_started.elapsed();
        let posters: Vec<_> = set.iter().map(|r| (r.format, &r.pixmap)).collect();
        let _sheet = encode_png(&contact_sheet(&posters, 360))?;
        let overhead = started.elapsed() - model;
        println!(
            "set {run}: {} ms beyond the model (PNGs in and out {} ms; fitting, type and files {} ms; {} ms in the stand-in model){}",
            overhead.as_millis(),
            io.as_millis(),
            set_ms.as_millis(),
            model.as_millis(),
            if run == 0 { " cold" } else { "" }
        );
        if run > 0 {
            overheads.push(overhead);
        }
    }
    overheads.sort();
    if let Some(median) = overheads.get(overheads.len() / 2) {
        println!(
            "warm median {} ms beyond the model's calls over {} sets (min {} ms, max {} ms)",
            median.as_millis(),
            overheads.len(),
            overheads.first().map_or(0, |d| d.as_millis()),
            overheads.last().map_or(0, |d| d.as_millis()),
        );
    }
    Ok(())
}
