//! Poster benchmarks with plain `Instant` timing (no criterion): the offline 1024×1536 poster
//! (render + compose) and compose alone on an 832×1216 image, as median and p95 over 30 runs;
//! the review paths of #12: the "edit words" round trip (decode stored 1024×1536 art, compose
//! new words, encode PNG) and a print render per sheet at 150 dpi (fewer runs: each is
//! seconds); the same poster titled in other scripts (#14), against its Latin title, with the
//! first use of each script font timed on its own; then the process's peak resident memory.
//! Run with `cargo bench --bench poster` (the script fonts come from `scripts/fonts.sh`).
//! The peak of one print alone is measured in a process of its own by
//! `cargo run --release --example print_peak`.

use std::time::{Duration, Instant};

use marquee_core::genre::Placement;
use marquee_core::genre::Style;
use marquee_core::model::image::decode_image;
use marquee_core::model::offline::render;
use marquee_core::poster::{
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

/// The scripts of #14: the same poster's title and tagline in each, and the placement.
const SCRIPTS: [(&str, &str, &str, Placement); 8] = [
    (
        "Latin",
        "Desert Caravan",
        "Across the sand, the long way home.",
        Placement::Top,
    ),
    (
        "Japanese",
        "砂漠のキャラバン",
        "砂の向こうへ、長い帰り道。",
        Placement::Top,
    ),
    (
        "Japanese vertical",
        "砂漠のキャラバン",
        "砂の向こうへ、長い帰り道。",
        Placement::Vertical,
    ),
    (
        "Chinese",
        "沙漠商队",
        "穿越黄沙，踏上归途。",
        Placement::Top,
    ),
    (
        "Arabic",
        "قافلة الصحراء",
        "عبر الرمال منذ 1926",
        Placement::Top,
    ),
    (
        "Hindi",
        "रेगिस्तान का कारवां",
        "रेत के पार, घर का लंबा रास्ता।",
        Placement::Top,
    ),
    (
        "Thai",
        "กองคาราวานทะเลทราย",
        "ข้ามผืนทราย กลับบ้าน",
        Placement::Top,
    ),
    (
        "Emoji",
        "🐪 Desert Caravan 🌵",
        "Across the sand 🏜️",
        Placement::Top,
    ),
];

fn median_ms(samples: &[Duration]) -> f64 {
    stats(samples.to_vec()).0.as_secs_f64() * 1e3
}

/// #14: each script's poster against the Latin one, in one run so the ratios compare like
/// with like on a noisy machine. The first compose of each script reads its font.
fn scripts() {
    let prompt = "a camel caravan crossing dunes at dusk";
    let credits = "directed by Ada Lovelace starring Grace Hopper";
    let poster = |title: &str, tagline: &str| PosterText {
        title: Some(title.into()),
        tagline: Some(tagline.into()),
        credits: Some(credits.into()),
    };
    let typography = |placement| Typography {
        look: Style::Noir,
        placement,
        ink: None,
    };
    let art = render(prompt, Style::Noir, 11, 1024, 1536);
    for (name, title, tagline, placement) in SCRIPTS {
        let mut copy = art.clone();
        let start = Instant::now();
        compose(&mut copy, &poster(title, tagline), typography(placement));
        println!(
            "{:<44} {:>8.2} ms",
            format!("first compose, {name} (reads its fonts)"),
            start.elapsed().as_secs_f64() * 1e3
        );
    }
    // Round robin: every script once per round, so drift in the machine's load falls on all
    // of them alike.
    let mut samples = vec![(Vec::new(), Vec::new()); SCRIPTS.len()];
    for i in 0..RUNS {
        for (k, (_, title, tagline, placement)) in SCRIPTS.iter().enumerate() {
            let text = poster(title, tagline);
            let start = Instant::now();
            let mut art = render(prompt, Style::Noir, i as u32, 1024, 1536);
            let composing = Instant::now();
            compose(&mut art, &text, typography(*placement));
            samples[k].1.push(composing.elapsed());
            samples[k].0.push(start.elapsed());
            std::hint::black_box(&art);
        }
    }
    let latin = (median_ms(&samples[0].0), median_ms(&samples[0].1));
    for ((name, ..), (full, alone)) in SCRIPTS.iter().zip(&samples) {
        let (f, a) = (median_ms(full), median_ms(alone));
        println!(
            "{:<44} median {f:>8.2} ms (x{:.2})   compose {a:>7.2} ms (x{:.2})",
            format!("scripts: render+compose 1024x1536, {name}"),
            f / latin.0,
            a / latin.1,
        );
    }
}

fn main() {
    marquee_core::poster::use_fonts_dir(marquee_service::config::fonts_dir());
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

    // #27: compose 1024×1536 as before (fixed zones, estimated treatment) against compose
    // with the art analysed, the zones chosen and every line measured, round robin on the same
    // art so the machine's load falls on both alike; and the analysis alone.
    for style in [Style::Thriller, Style::Noir, Style::Comedy] {
        let art = render(prompt, style, 5, 1024, 1536);
        let t = text(prompt);
        let (mut before, mut after, mut extra) = (Vec::new(), Vec::new(), Vec::new());
        let mut rounds = 0;
        for _ in 0..RUNS {
            let mut a = art.clone();
            let start = Instant::now();
            marquee_core::poster::readability::compose_before(&mut a, &t, Typography::of(style));
            let b = start.elapsed();
            before.push(b);
            std::hint::black_box(&a);
            let mut a = art.clone();
            let start = Instant::now();
            let c = compose(&mut a, &t, Typography::of(style));
            let e = start.elapsed();
            after.push(e);
            extra.push(e.saturating_sub(b));
            rounds = rounds.max(c.rounds());
            std::hint::black_box(&a);
        }
        report(&format!("compose 1024x1536 before #27 ({style})"), before);
        report(&format!("compose 1024x1536 after #27 ({style})"), after);
        report(
            &format!("  added by #27, paired ({style}, max {rounds} rounds)"),
            extra,
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
        ink: None,
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

    scripts();

    println!(
        "peak RSS (VmHWM): {}",
        peak_rss().unwrap_or_else(|| "unavailable".into())
    );
}
