//! The readability report of #27: PosterLayout's metrics and the WCAG contrast pass rate on
//! the fixed corpus, before and after, and the contact sheet `docs/readability-sheet.png`.
//! Run with `cargo run --release --example readability`; with `--speed`, times compose on
//! 1024×1536 art before and after instead.

use std::path::Path;

use marquee_core::genre::Style;
use marquee_core::model::offline::render;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if std::env::args().any(|a| a == "--speed") {
        println!("{}", marquee_core::poster::readability::SPEED_HEADER);
        let arts: Vec<(Style, _)> = [Style::Thriller, Style::Noir, Style::Comedy]
            .into_iter()
            .map(|s| (s, render("a kraken attacks brooklyn", s, 5, 1024, 1536)))
            .collect();
        print!("{}", marquee_core::poster::readability::speed(&arts, 15));
        return;
    }
    let mut offline = Vec::new();
    for (i, style) in Style::ALL.into_iter().enumerate() {
        for (w, h) in [(512, 768), (576, 576), (768, 432)] {
            let prompt = "a lighthouse keeper fights a kraken, 1950s pulp";
            let art = render(prompt, style, 7 + i as u32, w, h);
            offline.push((format!("{w}x{h}"), art, style));
        }
    }
    match marquee_core::poster::readability::run(
        &root.join("assets/corpus"),
        offline,
        &root.join("docs/readability-sheet.png"),
    ) {
        Ok(table) => println!("{table}"),
        Err(e) => {
            eprintln!("readability report failed: {e}");
            std::process::exit(1);
        }
    }
}
