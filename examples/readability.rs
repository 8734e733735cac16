//! The readability report of #27: PosterLayout's metrics and the WCAG contrast pass rate on
//! the fixed corpus, before and after, and the contact sheet `docs/readability-sheet.png`.
//! Run with `cargo run --release --example readability`.

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    match marquee::poster::readability::run(
        &root.join("assets/corpus"),
        &root.join("docs/readability-sheet.png"),
    ) {
        Ok(table) => println!("{table}"),
        Err(e) => {
            eprintln!("readability report failed: {e}");
            std::process::exit(1);
        }
    }
}
