//! Times the break opportunities of poster titles three ways, in one process, round robin:
//! `unicode-linebreak` plus the Thai syllable rule Marquee used before #27, and ICU4X's
//! `icu_segmenter` with its Thai/Lao/Khmer/Myanmar dictionaries (what Marquee uses now) and
//! with its LSTM models. Prints the median time per title set and each method's Thai breaks.
//! Run: `cargo run --release` in this directory.

use std::hint::black_box;
use std::time::{Duration, Instant};

use icu_segmenter::LineSegmenter;
use icu_segmenter::options::{LineBreakOptions, LineBreakStrictness};

/// The gallery's titles (README, "Fonts for every script") and the scripts #27 adds.
const TITLES: &[&str] = &[
    "DESERT CARAVAN",
    "Joseph Gordon-Levitt and/or Ada Lovelace",
    "東京の夜",
    "「砂漠のキャラバン」、夜明けー。",
    "서울의 밤",
    "قافلة الصحراء 2024",
    "रेगिस्तान का कारवां",
    "กองคาราวานทะเลทราย",
    "ไก่ได้ทำน้ำใจ",
    "ເມືອງແມ່ນ້ຳ",
    "ក្រុងទន្លេ",
    "ရန်ကုန်မြို့",
    "நதி நகரம்",
    "নদীর শহর",
];

/// The rule Marquee used for Thai before ICU4X (src/poster/layout.rs at 71150e6).
fn thai_breaks(text: &str) -> Vec<usize> {
    let starts_syllable = |c: char| matches!(c, '\u{0E01}'..='\u{0E2E}' | '\u{0E40}'..='\u{0E44}');
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    for pair in chars.windows(2) {
        let ((_, prev), (i, c)) = (pair[0], pair[1]);
        if !matches!(prev, '\u{0E01}'..='\u{0E5B}') || !starts_syllable(c) {
            continue;
        }
        let before_leading_vowel =
            matches!(c, '\u{0E40}'..='\u{0E44}') && !matches!(prev, '\u{0E40}'..='\u{0E44}');
        let after_final = matches!(prev, '\u{0E30}' | '\u{0E33}' | '\u{0E46}' | '\u{0E2F}');
        if before_leading_vowel || after_final {
            out.push(i);
        }
    }
    out
}

fn old(text: &str) -> Vec<usize> {
    let mut v: Vec<usize> = unicode_linebreak::linebreaks(text).map(|(i, _)| i).collect();
    v.extend(thai_breaks(text));
    v.sort_unstable();
    v.dedup();
    v
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut options = LineBreakOptions::default();
    options.strictness = Some(LineBreakStrictness::Strict);
    let dictionary = LineSegmenter::new_dictionary(options);
    let lstm = LineSegmenter::new_lstm(options);
    let dict = |t: &str| dictionary.segment_str(t).filter(|&i| i > 0).collect::<Vec<usize>>();
    let lstm = |t: &str| lstm.segment_str(t).filter(|&i| i > 0).collect::<Vec<usize>>();
    let methods: [(&str, &dyn Fn(&str) -> Vec<usize>); 3] = [
        ("unicode-linebreak + Thai rule", &old),
        ("icu_segmenter, dictionary", &dict),
        ("icu_segmenter, LSTM", &lstm),
    ];
    for t in ["กองคาราวานทะเลทราย", "ក្រុងទន្លេ"] {
        for (name, f) in &methods {
            let cuts = f(t);
            let mut at = 0;
            let parts: Vec<&str> = cuts.iter().map(|&c| { let p = &t[at..c]; at = c; p }).collect();
            println!("{t}  {name:<30} {}", parts.join("|"));
        }
    }
    const ROUNDS: usize = 2000;
    let mut samples = vec![Vec::with_capacity(ROUNDS); methods.len()];
    for _ in 0..ROUNDS {
        for (k, (_, f)) in methods.iter().enumerate() {
            let start = Instant::now();
            for t in TITLES {
                black_box(f(black_box(t)));
            }
            samples[k].push(start.elapsed());
        }
    }
    println!("all {} titles once, median of {ROUNDS} rounds:", TITLES.len());
    let base = median(samples[0].clone()).as_secs_f64();
    for ((name, _), s) in methods.iter().zip(samples) {
        let m = median(s).as_secs_f64();
        println!("  {name:<30} {:>8.1} µs  ×{:.1}", m * 1e6, m / base);
    }
}
