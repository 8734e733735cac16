//! The style gallery: every style on a fixed set of prompts, rendered offline with fixed seeds,
//! plus a labelled contact sheet — the page to look at when changing a look.
//!
//! It uses the offline generator and the composer exactly as the pipeline does, and knows
//! nothing of Slack or storage beyond writing PNG files into a directory. It lives with the
//! command line because it is the one place that puts a model and the composer together
//! outside the pipeline.

use std::path::{Path, PathBuf};

use tiny_skia::{FilterQuality, Pixmap, PixmapPaint, Transform};

use marquee_core::genre::{Placement, Style};
use marquee_core::model::offline::render;
use marquee_core::poster::{
    PosterText, Typography, compose, default_title, encode_png, label_at, missing_glyphs,
};

/// The gallery's prompts, with the text each poster carries.
const PROMPTS: [(&str, &str, &str); 3] = [
    (
        "a kraken attacks brooklyn at midnight",
        "The deep has come ashore.",
        "a harbor lights production directed by Ada Lovelace starring Grace Hopper Alan Turing and Hedy Lamarr music by Clara Schumann",
    ),
    (
        "a lone cowboy rides into a dusty town",
        "Some debts are paid in dust.",
        "directed by Sergio Leone written by Luciano Vincenzoni starring Eli Wallach",
    ),
    (
        "the last lighthouse keeper at the end of the world",
        "",
        "a film by Agnès Varda",
    ),
];

const WIDTH: u32 = 1024;
const HEIGHT: u32 = 1536;
const SEED: u32 = 1977;

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// Renders the gallery into `dir` and returns the files written, contact sheet last.
pub(crate) fn write_gallery(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let mut thumbs = Vec::new();
    for (i, (prompt, tagline, credits)) in PROMPTS.iter().enumerate() {
        for style in Style::ALL {
            let mut art = render(prompt, style, SEED + i as u32, WIDTH, HEIGHT);
            let text = PosterText {
                title: Some(default_title(prompt)),
                tagline: (!tagline.is_empty()).then(|| tagline.to_string()),
                credits: Some(credits.to_string()),
            };
            compose(&mut art, &text, Typography::of(style));
            let path = dir.join(format!("{}-{}.png", i + 1, style.name()));
            std::fs::write(&path, encode_png(&art).map_err(io_err)?)?;
            written.push(path);
            thumbs.push((art, format!("{} · {}", style.name(), i + 1)));
        }
    }
    let sheet = contact_sheet(&thumbs, Style::ALL.len());
    let path = dir.join("contact-sheet.png");
    std::fs::write(&path, encode_png(&sheet).map_err(io_err)?)?;
    written.push(path);
    Ok(written)
}

/// The scripts sheet's titles: the same poster in every script Marquee sets, with a tagline
/// in the same language (a year in the Arabic one, for mixed direction).
const SCRIPTS: [(&str, &str, &str, Option<Placement>); 13] = [
    (
        "Latin",
        "Desert Caravan",
        "Across the sand, the long way home.",
        None,
    ),
    (
        "Japanese",
        "砂漠のキャラバン",
        "砂の向こうへ、長い帰り道。",
        Some(Placement::Top),
    ),
    (
        "Japanese, vertical",
        "砂漠のキャラバン",
        "砂の向こうへ、長い帰り道。",
        Some(Placement::Vertical),
    ),
    (
        "Chinese",
        "沙漠商队",
        "穿越黄沙，踏上归途。",
        Some(Placement::Top),
    ),
    (
        "Korean",
        "사막의 대상",
        "모래를 건너, 먼 귀향길.",
        Some(Placement::Top),
    ),
    ("Arabic", "قافلة الصحراء", "عبر الرمال منذ 1926", None),
    ("Hebrew", "שיירת המדבר", "דרך החול, הביתה.", None),
    (
        "Hindi",
        "रेगिस्तान का कारवां",
        "रेत के पार, घर का लंबा रास्ता।",
        None,
    ),
    ("Thai", "กองคาราวานทะเลทราย", "ข้ามผืนทราย กลับบ้าน", None),
    (
        "Russian",
        "Караван пустыни",
        "Через пески — долгая дорога домой.",
        None,
    ),
    (
        "Greek",
        "Το καραβάνι της ερήμου",
        "Μέσα από την άμμο, ο δρόμος για το σπίτι.",
        None,
    ),
    (
        "Emoji",
        "🐪 Desert Caravan 🌵",
        "Across the sand 🏜️ the long way home",
        None,
    ),
    (
        "Mixed",
        "Caravan キャラバン قافلة",
        "One road, three scripts.",
        None,
    ),
];

/// The looks of the scripts sheet: a display sans, a slab serif and a script face, so each
/// fallback family is seen in each weight and feel.
const SCRIPT_LOOKS: [Style; 3] = [Style::Thriller, Style::Noir, Style::Romance];

/// Renders the scripts sheet into `dir`: every title in every look of [`SCRIPT_LOOKS`] over
/// the same art, and the contact sheet (`scripts-contact-sheet.png`), returned last.
pub(crate) fn write_scripts(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let mut thumbs = Vec::new();
    let prompt = "a camel caravan crossing dunes at dusk";
    for style in SCRIPT_LOOKS {
        let art = render(prompt, style, SEED, WIDTH, HEIGHT);
        for (k, (label, title, tagline, placement)) in SCRIPTS.iter().enumerate() {
            let mut poster = art.clone();
            let text = PosterText {
                title: Some(title.to_string()),
                tagline: Some(tagline.to_string()),
                credits: Some("directed by Ada Lovelace starring Grace Hopper".to_string()),
            };
            let mut typography = Typography::of(style);
            if let Some(p) = placement {
                typography.placement = *p;
            }
            // A sheet with blank titles would look like a layout bug: say what is missing.
            let missing = missing_glyphs(&text, typography);
            if !missing.is_empty() {
                return Err(io_err(format!(
                    "no font for {} ({label}): build the script fonts with scripts/fonts.sh \
                     and point MARQUEE_FONTS_DIR at build/fonts-layer/fonts (cargo run does)",
                    missing.join(" ")
                )));
            }
            compose(&mut poster, &text, typography);
            let path = dir.join(format!("scripts-{}-{:02}.png", style.name(), k + 1));
            std::fs::write(&path, encode_png(&poster).map_err(io_err)?)?;
            written.push(path);
            thumbs.push((poster, format!("{label} · {}", style.name())));
        }
    }
    let sheet = contact_sheet(&thumbs, SCRIPTS.len());
    let path = dir.join("scripts-contact-sheet.png");
    std::fs::write(&path, encode_png(&sheet).map_err(io_err)?)?;
    written.push(path);
    Ok(written)
}

/// Lays `images` out in rows of `cols` thumbnails, each labelled underneath.
fn contact_sheet(images: &[(Pixmap, String)], cols: usize) -> Pixmap {
    const TW: u32 = 200;
    const TH: u32 = 300;
    const PAD: u32 = 12;
    const LABEL: u32 = 26;
    let cols = cols.max(1);
    let rows = images.len().div_ceil(cols).max(1);
    let w = cols as u32 * (TW + PAD) + PAD;
    let h = rows as u32 * (TH + LABEL + PAD) + PAD;
    let mut sheet =
        Pixmap::new(w, h).expect("the contact sheet's size is a small non-zero constant product");
    sheet.fill(tiny_skia::Color::from_rgba8(18, 18, 20, 255));
    let paint = PixmapPaint {
        quality: FilterQuality::Bicubic,
        ..PixmapPaint::default()
    };
    for (k, (img, label)) in images.iter().enumerate() {
        let (c, r) = ((k % cols) as u32, (k / cols) as u32);
        let (x, y) = (PAD + c * (TW + PAD), PAD + r * (TH + LABEL + PAD));
        // Fit inside the cell keeping the aspect ratio: thumbnails are never stretched.
        let s = (TW as f32 / img.width() as f32).min(TH as f32 / img.height() as f32);
        let t = Transform::from_row(s, 0.0, 0.0, s, x as f32, y as f32);
        sheet.draw_pixmap(0, 0, img.as_ref(), &paint, t, None);
        label_at(
            &mut sheet,
            label,
            x as f32 + 2.0,
            (y + TH + 18) as f32,
            14.0,
        );
    }
    sheet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_sheet_grid_has_the_expected_size() {
        let img = Pixmap::new(20, 30).expect("non-zero size");
        let sheet = contact_sheet(
            &[
                (img.clone(), "a".into()),
                (img.clone(), "b".into()),
                (img, "c".into()),
            ],
            2,
        );
        assert_eq!(
            (sheet.width(), sheet.height()),
            (2 * 212 + 12, 2 * 338 + 12)
        );
    }
}
