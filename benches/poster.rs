//! Poster benchmarks with plain `Instant` timing (no criterion): the offline 1024×1536 poster
//! (render + compose) and compose alone on an 832×1216 image, as median and p95 over 30 runs,
//! then the process's peak resident memory. Run with `cargo bench --bench poster`.

use std::time::{Duration, Instant};

use marquee::genre::Style;
use marquee::model::offline::render;
use marquee::poster::{PosterText, Typography, compose, default_title};

const RUNS: usize = 30;

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

    println!(
        "peak RSS (VmHWM): {}",
        peak_rss().unwrap_or_else(|| "unavailable".into())
    );
}
