//! Formats: one poster, every deliverable. A [`Format`] is a named aspect with its pixel size,
//! its safe area and its floor for the billing block; [`compose_format`] sets a poster's words
//! afresh for it with the same layout engine as the poster itself (title, tagline and billing
//! block re-fitted to that safe area, vertical titles where the look and script call for
//! them), and [`render_formats`] does so for a set of formats over art drawn for each one.
//! Letters are never scaled or cropped pictures: every format's type is shaped and laid out at
//! the format's own size.
//!
//! It knows nothing of models: the caller draws the art for each size (the offline
//! generator re-composes its scene, `model::offline::render_extended`), nor of Slack or
//! storage.
//!
//! Sizes: every format is 1080 px on its short side, the width Meta documents for feed (1:1,
//! 4:5) and Stories (9:16) images; the one-sheet, banner and wide follow the same short side so
//! a set reads as one family (1080×1620, 1920×1080 — HD — and 2520×1080, exactly 21:9, where
//! the 2560×1080 "ultra-wide" screens are 64:27). Safe areas: 6 % on every side (64 px at 1080,
//! the feed margin ad guides give), except the story, which keeps its top 14 % (250 px of 1920:
//! the profile and timestamp) and bottom 20 % (the reply bar and an ad's button) clear.

use std::fmt;

use tiny_skia::{FillRule, FilterQuality, Paint, PathBuilder, Pixmap, PixmapPaint, Transform};

use super::fonts::{self, Face, Setting};
use super::layout::{Frame, Rect};
use super::placement::{self, Composition, Zones};
use super::{PosterError, PosterText, Typography, encode_png};

/// The smallest glyph of any format's billing block, in pixels at the format's size: the
/// block's small words ("directed by", "a film"), set at 0.62 of its names, which are then at
/// least 22.6 px. 14 px on a 1080 px side is 1.3 % of it — on a phone showing the 1080 px
/// side across 6.5 cm, about the 6.5-point type the smallest print billing blocks use.
pub const BILLING_FLOOR_PX: f32 = 14.0;

/// A deliverable: an aspect at a pixel size with its own safe area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// 2:3, the theatrical one-sheet.
    OneSheet,
    /// 1:1, the square social post.
    Square,
    /// 4:5, the portrait feed post.
    Feed,
    /// 9:16, the full-screen story.
    Story,
    /// 16:9, the banner and video thumbnail.
    Banner,
    /// 21:9, the wide header.
    Wide,
}

impl Format {
    /// Every format, the default set of deliverables, in the order a contact sheet shows them.
    pub const ALL: [Format; 6] = [
        Format::OneSheet,
        Format::Square,
        Format::Feed,
        Format::Story,
        Format::Banner,
        Format::Wide,
    ];

    /// The name people use for it, also its file name.
    pub fn name(self) -> &'static str {
        match self {
            Format::OneSheet => "one-sheet",
            Format::Square => "square",
            Format::Feed => "feed",
            Format::Story => "story",
            Format::Banner => "banner",
            Format::Wide => "wide",
        }
    }

    /// The aspect ratio, width to height.
    pub fn ratio(self) -> &'static str {
        match self {
            Format::OneSheet => "2:3",
            Format::Square => "1:1",
            Format::Feed => "4:5",
            Format::Story => "9:16",
            Format::Banner => "16:9",
            Format::Wide => "21:9",
        }
    }

    /// The aspect ratio as (width, height) parts: `(2, 3)` for the one-sheet.
    pub fn ratio_parts(self) -> (u32, u32) {
        match self {
            Format::OneSheet => (2, 3),
            Format::Square => (1, 1),
            Format::Feed => (4, 5),
            Format::Story => (9, 16),
            Format::Banner => (16, 9),
            Format::Wide => (21, 9),
        }
    }

    /// Width and height in pixels (see the module's doc for how they were chosen).
    pub fn size(self) -> (u32, u32) {
        match self {
            Format::OneSheet => (1080, 1620),
            Format::Square => (1080, 1080),
            Format::Feed => (1080, 1350),
            Format::Story => (1080, 1920),
            Format::Banner => (1920, 1080),
            Format::Wide => (2520, 1080),
        }
    }

    /// Parses a name (`square`, `one-sheet`, `onesheet`) or a ratio (`1:1`, `9x16`).
    pub fn parse(text: &str) -> Option<Format> {
        let t = text.trim().to_lowercase();
        let ratio = t.replace(['x', '/', '×'], ":");
        let name = t.replace(['_', ' '], "-");
        Format::ALL
            .into_iter()
            .find(|f| f.ratio() == ratio || f.name() == name || f.name().replace('-', "") == name)
    }

    /// Parses a comma-separated list (`square,story`), each format once, in the order given.
    pub fn parse_list(text: &str) -> Result<Vec<Format>, String> {
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let f = Format::parse(part).ok_or_else(|| {
                format!(
                    "\"{part}\" is not a format; the formats are {}",
                    Format::ALL
                        .map(|f| format!("{} ({})", f.name(), f.ratio()))
                        .join(", ")
                )
            })?;
            if !out.contains(&f) {
                out.push(f);
            }
        }
        if out.is_empty() {
            return Err("no format named".into());
        }
        Ok(out)
    }

    /// Margins of the safe area: left and right, top, bottom, as shares of the side.
    fn margins(self) -> (f32, f32, f32) {
        match self {
            Format::Story => (0.06, 0.14, 0.20),
            _ => (0.06, 0.06, 0.06),
        }
    }

    /// The safe area of a `width` × `height` sheet of this format, in pixels: whole pixels in
    /// from each edge.
    fn safe(self, width: u32, height: u32) -> Rect {
        let (w, h) = (width as f32, height as f32);
        let (side, top, bottom) = self.margins();
        let (x, y) = ((w * side).ceil(), (h * top).ceil());
        Rect {
            x,
            y,
            w: w - 2.0 * x,
            h: h - y - (h * bottom).ceil(),
        }
    }

    /// Where the type is set on a `width` × `height` sheet of this format. Sizes are shares of
    /// the shorter side, or of 1.5 widths on a sheet taller than 2:3 (the story), as on the
    /// poster itself; the billing block keeps [`BILLING_FLOOR_PX`].
    fn frame(self, width: u32, height: u32) -> Frame {
        Frame {
            safe: self.safe(width, height),
            base: (height as f32).min(width as f32 * 1.5),
            billing_floor: BILLING_FLOOR_PX,
        }
    }

    /// The safe area at the format's size as (x, y, width, height), for callers that check
    /// where the type went.
    pub fn safe_area(self) -> (f32, f32, f32, f32) {
        let (w, h) = self.size();
        let r = self.safe(w, h);
        (r.x, r.y, r.w, r.h)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name(), self.ratio())
    }
}

/// Sets `text` over `art` (drawn for `format`, at any size of its aspect) in `typography`,
/// laid out afresh inside the format's safe area, every line at its WCAG floor as on the
/// poster itself.
pub fn compose_format(
    art: &mut Pixmap,
    format: Format,
    text: &PosterText,
    typography: Typography,
) -> Composition {
    let frame = format.frame(art.width(), art.height());
    placement::set_in(art, text, typography, Zones::Choose, frame)
}

/// `art` scaled by one factor (never stretched) to cover a `width` × `height` sheet, centred,
/// with tiny-skia's bicubic filter: how art already at (or within a few per cent of) a
/// format's aspect is brought to the format's size. Art grown to a format by Outpaint differs
/// from it by at most its rounding and a size change of a few tens of per cent either way,
/// where bicubic is as good as Lanczos and several times faster (print's enlargements use
/// `resample_cover`).
pub fn fit_cover(art: &Pixmap, width: u32, height: u32) -> Option<Pixmap> {
    let mut out = Pixmap::new(width, height)?;
    let (sw, sh) = (art.width() as f32, art.height() as f32);
    let scale = (width as f32 / sw).max(height as f32 / sh);
    let (dx, dy) = (
        (width as f32 - sw * scale) / 2.0,
        (height as f32 - sh * scale) / 2.0,
    );
    let paint = PixmapPaint {
        quality: FilterQuality::Bicubic,
        ..PixmapPaint::default()
    };
    out.draw_pixmap(
        0,
        0,
        art.as_ref(),
        &paint,
        Transform::from_row(scale, 0.0, 0.0, scale, dx, dy),
        None,
    );
    Some(out)
}

/// One format of a set: its finished pixels and PNG bytes, and what setting the words decided.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub format: Format,
    pub pixmap: Pixmap,
    pub png: Vec<u8>,
    pub composition: Composition,
}

/// Renders `formats`: for each, `art(format)` draws its art at the format's size, the
/// words are set afresh ([`compose_format`]) and the poster is encoded as PNG. The formats are
/// shared among the machine's cores (at most one per format); the result is in the order given
/// and the same whatever the number of cores.
pub fn render_formats<F>(
    formats: &[Format],
    text: &PosterText,
    typography: Typography,
    art: F,
) -> Result<Vec<Rendered>, PosterError>
where
    F: Fn(Format) -> Pixmap + Sync,
{
    let one = |format: Format| -> Result<Rendered, PosterError> {
        let mut pixmap = art(format);
        let composition = compose_format(&mut pixmap, format, text, typography);
        let png = encode_png(&pixmap)?;
        Ok(Rendered {
            format,
            pixmap,
            png,
            composition,
        })
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(formats.len())
        .max(1);
    if workers == 1 {
        return formats.iter().map(|f| one(*f)).collect();
    }
    // Largest first, so the last format to start is a small one.
    let mut order: Vec<usize> = (0..formats.len()).collect();
    order.sort_by_key(|&i| {
        let (w, h) = formats[i].size();
        std::cmp::Reverse(u64::from(w) * u64::from(h))
    });
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, Result<Rendered, PosterError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&i) = order.get(k) else { break };
                        out.push((i, one(formats[i])));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(out) => out,
                // A panic in a render is a bug: carry it to the caller's thread.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// A contact sheet of `posters`, each labelled (name, ratio and size) underneath, all shown
/// at one height `row` pixels tall, in one row. A preview: the files themselves are never
/// scaled.
pub fn contact_sheet(posters: &[(Format, &Pixmap)], row: u32) -> Pixmap {
    const PAD: u32 = 16;
    const LABEL: u32 = 30;
    let row = row.max(1);
    let widths: Vec<u32> = posters
        .iter()
        .map(|(_, p)| {
            ((p.width() as f32 * row as f32 / p.height().max(1) as f32).round() as u32).max(1)
        })
        .collect();
    let w = widths.iter().map(|w| w + PAD).sum::<u32>() + PAD;
    let h = row + LABEL + 2 * PAD;
    let mut sheet = Pixmap::new(w.max(1), h)
        .unwrap_or_else(|| Pixmap::new(1, 1).expect("a 1×1 pixmap always allocates"));
    sheet.fill(tiny_skia::Color::from_rgba8(18, 18, 20, 255));
    let paint = PixmapPaint {
        quality: FilterQuality::Bicubic,
        ..PixmapPaint::default()
    };
    let mut x = PAD;
    for ((format, p), tw) in posters.iter().zip(&widths) {
        let s = row as f32 / p.height().max(1) as f32;
        let t = Transform::from_row(s, 0.0, 0.0, s, x as f32, PAD as f32);
        sheet.draw_pixmap(0, 0, p.as_ref(), &paint, t, None);
        let label = format!(
            "{} · {} · {}×{}",
            format.name(),
            format.ratio(),
            p.width(),
            p.height()
        );
        label_at(&mut sheet, &label, x as f32, (PAD + row + 22) as f32, 15.0);
        x += tw + PAD;
    }
    sheet
}

/// Stacks contact sheets (one per look) into one, each row starting at the left.
pub fn stack(sheets: &[Pixmap]) -> Pixmap {
    let w = sheets.iter().map(Pixmap::width).max().unwrap_or(1).max(1);
    let h = sheets.iter().map(Pixmap::height).sum::<u32>().max(1);
    let mut out = Pixmap::new(w, h)
        .unwrap_or_else(|| Pixmap::new(1, 1).expect("a 1×1 pixmap always allocates"));
    out.fill(tiny_skia::Color::from_rgba8(18, 18, 20, 255));
    let mut y = 0;
    for s in sheets {
        out.draw_pixmap(
            0,
            y as i32,
            s.as_ref(),
            &PixmapPaint::default(),
            Transform::identity(),
            None,
        );
        y += s.height();
    }
    out
}

/// A contact sheet's caption: `text` in light grey sans at `size` px, its baseline at
/// `baseline`, from `x` (the formats sheet and `marquee gallery` label their tiles with it).
pub fn label_at(p: &mut Pixmap, text: &str, x: f32, baseline: f32, size: f32) {
    let shaped = fonts::shape(text, Setting::new(Face::Sans, 0.02));
    let mut pb = PathBuilder::new();
    for g in &shaped.glyphs {
        fonts::append_outline(
            &mut pb,
            g.font,
            g.id,
            x + g.x * size,
            baseline + g.y * size,
            size,
        );
    }
    if let Some(path) = pb.finish() {
        let mut paint = Paint::default();
        paint.set_color_rgba8(220, 220, 224, 255);
        paint.anti_alias = true;
        p.fill_path(
            &path,
            &paint,
            FillRule::Winding,
            Transform::identity(),
            None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genre::Style;
    use crate::poster::layout::{Prepared, Role};

    fn words(title: &str) -> PosterText {
        PosterText {
            title: Some(title.into()),
            tagline: Some("The deep has come ashore, and nobody is leaving tonight.".into()),
            credits: Some(
                "a harbor lights production directed by Ada Lovelace starring Grace Hopper \
                 Alan Turing and Hedy Lamarr music by Clara Schumann edited by Margaret \
                 Hamilton produced by Katherine Johnson and Dorothy Vaughan"
                    .into(),
            ),
        }
    }

    /// A billing block far longer than any zone holds at a readable size: without a floor it
    /// would shrink to the layout's own minimum (1.1 % of the type base, its small words 0.7 %).
    const CAST_OF_THOUSANDS: &str = "a harbor lights production in association with deep water \
        pictures and kraken films a film by Ada Lovelace starring Grace Hopper Alan Turing Hedy \
        Lamarr Katherine Johnson Dorothy Vaughan Mary Jackson Margaret Hamilton Annie Easley \
        Radia Perlman Barbara Liskov Frances Allen Jean Sammet Adele Goldberg Karen Sparck Jones \
        music by Clara Schumann edited by Thelma Schoonmaker cinematography by Agnès Varda \
        produced by Kathleen Kennedy Gale Anne Hurd and Debra Hill written by Nora Ephron";

    /// Every format's layout, for every look, a Latin, a long and a Japanese title and a usual
    /// and an overlong billing block, in every arrangement the look allows.
    fn layouts(mut check: impl FnMut(Format, Style, &str, &super::super::layout::Layout)) {
        for format in Format::ALL {
            let (w, h) = format.size();
            for style in Style::ALL {
                for title in [
                    "Kraken",
                    "The Unbearable Lightness of Being Somewhere Else Tonight",
                    "砂漠のキャラバン",
                ] {
                    for credits in [None, Some(CAST_OF_THOUSANDS)] {
                        let mut text = words(title);
                        if let Some(c) = credits {
                            text.credits = Some(c.into());
                        }
                        let t = Typography::for_title(style, Some(title));
                        let prepared = Prepared::framed(h, format.frame(w, h), &text, t);
                        for a in prepared.candidates(t) {
                            check(format, style, title, &prepared.place(a));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_formats_billing_block_keeps_the_floor() {
        let mut smallest = std::collections::BTreeMap::new();
        layouts(|format, style, title, l| {
            let mut credits = 0;
            for b in l.boxes.iter().filter(|b| b.role == Role::Credits) {
                for g in &b.glyphs {
                    credits += 1;
                    assert!(
                        g.size >= BILLING_FLOOR_PX - 1e-3,
                        "{format} {style} {title:?}: a billing glyph at {:.1} px",
                        g.size
                    );
                    let e = smallest.entry(format.name()).or_insert(f32::MAX);
                    *e = e.min(g.size);
                }
            }
            assert!(credits > 0, "{format} {style}: no billing block");
        });
        assert_eq!(smallest.len(), Format::ALL.len());
    }

    #[test]
    fn every_line_of_every_format_is_inside_its_safe_area() {
        let mut laid = 0;
        layouts(|format, style, title, l| {
            let (x, y, w, h) = format.safe_area();
            let roles: Vec<Role> = l.boxes.iter().map(|b| b.role).collect();
            for role in [Role::Title, Role::Tagline, Role::Credits] {
                assert!(
                    roles.contains(&role),
                    "{format} {style} {title:?}: no {role:?}"
                );
            }
            for b in &l.boxes {
                let r = b.rect;
                assert!(
                    r.x >= x && r.y >= y && r.right() <= x + w && r.bottom() <= y + h,
                    "{format} {style} {title:?}: {:?} {r:?} outside {:?}",
                    b.role,
                    (x, y, w, h)
                );
                laid += 1;
            }
        });
        assert!(laid > 2000, "{laid}");
    }

    #[test]
    fn a_vertical_title_stands_in_every_format_whose_look_sets_one() {
        let style = Style::ALL
            .into_iter()
            .find(|s| s.look().vertical_cjk)
            .expect("a look sets CJK titles vertically");
        let title = "砂漠のキャラバン";
        let t = Typography::for_title(style, Some(title));
        for format in Format::ALL {
            let (w, h) = format.size();
            let p = Prepared::framed(h, format.frame(w, h), &words(title), t);
            let l = p.place(p.own());
            let r = l.block(Role::Title).expect("a title");
            assert!(r.h > r.w, "{format}: the title is not a column: {r:?}");
        }
    }

    /// Art a little off a format's aspect covers it whole, centred, never stretched.
    #[test]
    fn fitted_art_covers_its_format_centred() {
        let mut art = Pixmap::new(973, 1216).unwrap();
        art.fill(tiny_skia::Color::from_rgba8(10, 200, 30, 255));
        let out = fit_cover(&art, 1080, 1350).unwrap();
        assert_eq!((out.width(), out.height()), (1080, 1350));
        // Opaque to every edge: no uncovered border.
        for (x, y) in [(0, 0), (1079, 0), (0, 1349), (1079, 1349), (540, 675)] {
            let p = out.pixel(x, y).unwrap();
            assert_eq!(p.alpha(), 255, "({x}, {y})");
            assert!(p.green() > 190, "({x}, {y}): {p:?}");
        }
        assert!(fit_cover(&art, 0, 10).is_none());
    }

    #[test]
    fn formats_parse_by_name_and_ratio() {
        assert_eq!(Format::parse("square"), Some(Format::Square));
        assert_eq!(Format::parse("9x16"), Some(Format::Story));
        assert_eq!(Format::parse("OneSheet"), Some(Format::OneSheet));
        assert_eq!(Format::parse("one-sheet"), Some(Format::OneSheet));
        assert_eq!(Format::parse("3:2"), None);
        assert_eq!(
            Format::parse_list("square, story,square"),
            Ok(vec![Format::Square, Format::Story])
        );
        assert!(Format::parse_list("square,poster").is_err());
        for f in Format::ALL {
            let (w, h) = f.size();
            let (a, b) = f
                .ratio()
                .split_once(':')
                .map(|(a, b)| (a.parse::<u32>().expect("a"), b.parse::<u32>().expect("b")))
                .expect("a ratio");
            assert_eq!(w * b, h * a, "{f}: {w}×{h} is not {a}:{b}");
            assert_eq!(w.min(h), 1080, "{f}");
        }
    }

    #[test]
    fn a_set_is_the_same_bytes_however_many_cores_render_it() {
        // Small flat art keeps the test quick; the pipeline is the real one.
        let art = |f: Format| {
            let (w, h) = f.size();
            let mut p = Pixmap::new(w, h).expect("non-zero size");
            p.fill(tiny_skia::Color::from_rgba8(40, 60, 90, 255));
            p
        };
        let t = Typography::of(Style::Thriller);
        let text = words("Kraken");
        let formats = [Format::Square, Format::Banner];
        let a = render_formats(&formats, &text, t, art).expect("renders");
        let b: Vec<Rendered> = formats
            .iter()
            .map(|f| {
                render_formats(&[*f], &text, t, art)
                    .expect("renders")
                    .remove(0)
            })
            .collect();
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.format, y.format);
            assert_eq!((x.pixmap.width(), x.pixmap.height()), x.format.size());
            assert!(x.png == y.png, "{}", x.format);
        }
    }
}
