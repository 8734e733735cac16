//! The added cost of #27's layout on a 1024×1536 compose: compose as it was before (the look's
//! fixed zones, `readability::compose_before`) and as it is (`compose`: the art analysed, every
//! arrangement scored, every line drawn and measured until it reaches its floor), round robin
//! on the same offline art, medians. Built in marquee-core alone so an optimised build does not
//! compile the service's dependencies:
//! `cargo run --profile profiling -p marquee-core --example layout_speed` (see BENCHMARKS.md
//! for the settings the numbers there were measured with).

use marquee_core::genre::Style;
use marquee_core::model::offline::render;

fn main() {
    let runs = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(31);
    let arts: Vec<(Style, _)> = [Style::Thriller, Style::Noir, Style::Comedy]
        .into_iter()
        .map(|s| (s, render("a kraken attacks brooklyn", s, 5, 1024, 1536)))
        .collect();
    println!("{}", marquee_core::poster::readability::SPEED_HEADER);
    print!("{}", marquee_core::poster::readability::speed(&arts, runs));
}
