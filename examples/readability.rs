//! The readability report of #27: PosterLayout's metrics and the WCAG contrast pass rate on
//! the fixed corpus, before and after, and the contact sheet `docs/readability-sheet.png`.
//! Run with `cargo run --release --example readability`; with `--speed`, times compose on
//! 1024×1536 art before and after instead.

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if std::env::args().any(|a| a == "--speed") {
        println!("| look | before | after | added (paired) | rounds |\n|---|---|---|---|---|");
        print!("{}", marquee_core::poster::readability::speed(15));
        return;
    }
    match marquee_core::poster::readability::run(
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
