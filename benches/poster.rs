//! Poster benchmarks with plain `Instant` timing (no criterion): the offline 1024×1536 poster
//! (render + compose) and compose alone on an 832×1216 image, as median and p95 over 30 runs;
//! the review paths of #12: the "edit words" round trip (decode stored 1024×1536 art, compose
//! new words, encode PNG) and a print render per sheet at 150 dpi (fewer runs: each is
//! seconds); then the process's peak resident memory. Run with `cargo bench --bench poster`.
//! The peak of one print alone is measured in a process of its own by
//! `cargo run --release --example print_peak`.

use std::time::{Duration, Instant};

use marquee::genre::Placement;
use marquee::genre::Style;
use marquee::model::image::decode_image;
use marquee::model::offline::render;
use marquee::poster::{
    PRINT_DPI, PosterText, Sheet, Typography, compose, default_title, encode_png, print,
};

const RUNS: usize = 30;
const PRINT_RUNS: usize = 5;

fn stats(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let p95 = samples[((samples.len() as f64 * 0.95).ceil() as usize).min(samples.len()) - 1];
    (median, p95)
}

fn report(name: &str, samples: Vec<Duration>) {
    let (median, p95) = stats(samples);
    println!(
        "{name:<44} median {:>8.2} ms   p95 {:>8.2} ms",
        median.as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3
    );
}

/// Peak resident set size from /proc (Linux only).
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
}

fn text(prompt: &str) -> PosterText {
    PosterText {
        title: Some(default_title(prompt)),
        tagline: Some("The deep has come ashore.".into()),
        credits: Some("directed by Ada Lovelace starring Grace Hopper Alan Turing and Hedy Lamarr music by Clara Schumann".into()),
    }
}

fn main() {
    let prompt = "a kraken attacks brooklyn at midnight";
    // Warm up: the first call parses the embedded fonts.
    let mut warm = render(prompt, Style::Thriller, 0, 1024, 1536);
    compose(&mut warm, &text(prompt), Typography::of(Style::Thriller));

    for style in [Style::Thriller, Style::Noir, Style::Horror] {
        let t = text(prompt);
        let samples = (0..RUNS)
            .map(|i| {
                let start = Instant::now();
                let mut art = render(prompt, style, i as u32, 1024, 1536);
                compose(&mut art, &t, Typography::of(style));
                std::hint::black_box(&art);
                start.elapsed()
            })
            .collect();
        report(
            &format!("offline 1024x1536 render+compose ({style})"),
            samples,
        );
    }

    let art = render(prompt, Style::Fantasy, 3, 832, 1216);
    let t = text(prompt);
    let samples = (0..RUNS)
        .map(|_| {
            let mut copy = art.clone();
            let start = Instant::now();
            compose(&mut copy, &t, Typography::of(Style::Fantasy));
            let e = start.elapsed();
            std::hint::black_box(&copy);
            e
        })
        .collect();
    report("compose alone 832x1216 (fantasy)", samples);

    // Review (#12): new words over stored art. The store keeps the art as a PNG.
    let stored = render(prompt, Style::Noir, 7, 1024, 1536)
        .encode_png()
        .expect("encodes");
    let edited = PosterText {
        title: Some("The Kraken Returns".into()),
        ..text(prompt)
    };
    let moved = Typography {
        look: Style::Horror,
        placement: Placement::Center,
    };
    let samples = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let mut art = decode_image(&stored).expect("decodes");
            compose(&mut art, &edited, moved);
            let png = encode_png(&art).expect("encodes");
            let e = start.elapsed();
            std::hint::black_box(png);
            e
        })
        .collect();
    report("edit words: decode+compose+encode 1024x1536", samples);

    let art = decode_image(&stored).expect("decodes");
    for sheet in Sheet::ALL {
        let samples = (0..PRINT_RUNS)
            .map(|_| {
                let start = Instant::now();
                let printed = print(&art, &edited, moved, sheet, PRINT_DPI).expect("prints");
                let e = start.elapsed();
                std::hint::black_box(printed);
                e
            })
            .collect();
        report(
            &format!("print {} at {PRINT_DPI} dpi (PDF+PNG)", sheet.name()),
            samples,
        );
    }

    println!(
        "peak RSS (VmHWM): {}",
        peak_rss().unwrap_or_else(|| "unavailable".into())
    );
}
