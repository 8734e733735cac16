//! Same inputs, same pixels: the renderer is a pure function of prompt, style, seed and size,
//! and each of those visibly changes the picture.

use tiny_skia::Pixmap;

use super::render;
use crate::genre::Style;

/// Prompts that between them reach every ground, hero, landmark and genre detail.
const PROMPTS: [&str; 6] = [
    "a kraken attacks brooklyn at midnight",
    "the lighthouse keeper in the rain",
    "a lone cowboy in the desert canyon",
    "astronaut on mars",
    "haunted forest cabin",
    "two lovers in a meadow at sunset",
];

#[test]
fn same_inputs_give_identical_pixels() {
    for style in Style::ALL {
        for prompt in PROMPTS {
            let a = render(prompt, style, 7, 120, 180);
            let b = render(prompt, style, 7, 120, 180);
            assert!(
                a.data() == b.data(),
                "{style} {prompt:?} rendered twice differs"
            );
        }
    }
}

#[test]
fn different_seeds_give_different_pixels() {
    for style in Style::ALL {
        for prompt in PROMPTS {
            let a = render(prompt, style, 1, 120, 180);
            let b = render(prompt, style, 2, 120, 180);
            assert!(
                a.data() != b.data(),
                "{style} {prompt:?}: seeds 1 and 2 agree"
            );
        }
    }
}

fn difference(a: &Pixmap, b: &Pixmap) -> f64 {
    let sum: u64 = a
        .data()
        .iter()
        .zip(b.data())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.data().len() as f64
}

#[test]
fn seeds_and_styles_change_the_picture_clearly() {
    let base = render("a lone cowboy", Style::Western, 1, 160, 240);
    let other_seed = render("a lone cowboy", Style::Western, 2, 160, 240);
    // Mean absolute channel difference: grain alone would be a couple of levels; a
    // different picture is tens of levels apart.
    assert!(
        difference(&base, &other_seed) > 6.0,
        "{}",
        difference(&base, &other_seed)
    );
    for s in Style::ALL {
        for t in Style::ALL {
            if s != t {
                let a = render("a lone cowboy", s, 1, 96, 144);
                let b = render("a lone cowboy", t, 1, 96, 144);
                assert!(
                    difference(&a, &b) > 8.0,
                    "{s} vs {t}: {}",
                    difference(&a, &b)
                );
            }
        }
    }
}

#[test]
fn prompts_change_the_picture() {
    let a = render("a quiet afternoon", Style::Thriller, 1, 160, 240);
    let b = render("a quiet evening", Style::Thriller, 1, 160, 240);
    assert!(difference(&a, &b) > 4.0);
}

#[test]
fn odd_sizes_render_without_panicking() {
    for (w, h) in [(1, 1), (0, 0), (3, 500), (500, 3), (1536, 656)] {
        let p = render("x", Style::SciFi, 0, w, h);
        assert_eq!((p.width(), p.height()), (w.max(1), h.max(1)));
        assert!(p.pixels().iter().all(|c| c.alpha() == 255), "art is opaque");
    }
}
