//! Print-ready files: a poster set for a standard sheet at print resolution, as a PDF a print
//! shop can take and a PNG of the same page.
//!
//! The art is resampled to cover the bleed box (one scale factor, cropped centred: see
//! `resample`), the type is laid out again from the fonts for the trim size, exactly as on the
//! screen poster but at full resolution, and trim and bleed marks are drawn in the slug, the
//! paper outside the bleed that is cut away. Geometry is kept in points (1/72 in, the PDF's
//! unit) with the origin at the top-left; pixels follow from the resolution.
//!
//! Only one full-size buffer exists at a time: the bleed-box image. The PDF compresses it as it
//! is written and the PNG is produced row by row, slug and marks included, so a 27×40 in sheet at
//! 150 dpi stays around the image's own 100 MB plus the two encoded files.
//!
//! This module knows sheets, marks and resolutions; Slack, models and storage are not its
//! business.

use std::io::Write;

use tiny_skia::Pixmap;

use super::format::{Format, compose_format};
use super::layout::Prepared;
#[cfg(test)]
use super::layout::{Layout, layout};
use super::pdf::{self, PdfBox, PdfLine, PdfPage};
use super::placement::{self, Zones};
use super::resample::resample_cover;
use super::{PosterError, PosterText, Typography, draw};

/// The resolution prints are made at unless asked otherwise, and the least accepted: at a
/// poster's viewing distance 150 dpi is indistinguishable from more, and it keeps a one-sheet
/// under a few hundred megabytes of memory.
pub const PRINT_DPI: u32 = 150;
/// The most accepted: a one-sheet at 300 dpi is already 8.5k × 12.4k pixels.
pub const MAX_PRINT_DPI: u32 = 300;

const MM: f64 = 72.0 / 25.4;
/// Crop marks are hairlines: 0.25 pt is the usual weight in prepress software.
const MARK_WIDTH: f64 = 0.25;
/// Marks start this far outside the bleed box, so a slightly misregistered cut never shows them.
const MARK_GAP: f64 = 3.0;
/// How long each trim mark is; bleed marks are half as long, to tell them apart.
const MARK_LENGTH: f64 = 18.0;

/// A standard poster sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sheet {
    /// The US theatrical one-sheet, 27 × 40 in.
    OneSheet,
    /// ISO 216 A1, 594 × 841 mm: the common poster size outside North America.
    A1,
}

impl Sheet {
    pub const ALL: [Sheet; 2] = [Sheet::OneSheet, Sheet::A1];

    /// The name used on the command line and in file names.
    pub fn name(self) -> &'static str {
        match self {
            Sheet::OneSheet => "one-sheet",
            Sheet::A1 => "a1",
        }
    }

    /// The name shown to people.
    pub fn display_name(self) -> &'static str {
        match self {
            Sheet::OneSheet => "One-sheet 27×40 in",
            Sheet::A1 => "A1 594×841 mm",
        }
    }

    /// Accepts the name, case-insensitively, with or without the hyphen.
    pub fn parse(text: &str) -> Option<Sheet> {
        let t = text.trim().to_lowercase().replace(['_', ' '], "-");
        let t = if t == "onesheet" { "one-sheet" } else { &t };
        Sheet::ALL.into_iter().find(|s| s.name() == t)
    }

    /// The trim size, the finished sheet, in points (width, height).
    pub(crate) fn trim_pt(self) -> (f64, f64) {
        match self {
            Sheet::OneSheet => (27.0 * 72.0, 40.0 * 72.0),
            Sheet::A1 => (594.0 * MM, 841.0 * MM),
        }
    }

    /// How far the art runs past the trim on every side, in points. Neither size is set by a
    /// standard: 1/8 in is the common trade convention in the US and 3 mm in metric countries,
    /// and they are what printers ask for.
    pub(crate) fn bleed_pt(self) -> f64 {
        match self {
            Sheet::OneSheet => 0.125 * 72.0,
            Sheet::A1 => 3.0 * MM,
        }
    }

    /// The slug beyond the bleed that carries the marks, in points.
    fn slug_pt(self) -> f64 {
        match self {
            Sheet::OneSheet => 0.5 * 72.0,
            Sheet::A1 => 12.0 * MM,
        }
    }
}

/// What a print-ready page is cut to: a standard sheet, or a format at its print size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Page {
    Sheet(Sheet),
    Format(Format),
}

/// The long side of a format's print, in inches: 24 in, the long side of the common 16×24 in
/// (2:3) poster and of the 18×24 in, so each format prints at a size print shops stock
/// paper for (a 24×24 in square, a 13.5×24 in story, a 24×10.3 in wide header), and the
/// largest page (the square, 3,675 px a side with bleed at 150 dpi) stays well under the
/// one-sheet's buffer.
pub const FORMAT_PRINT_LONG_SIDE_IN: f64 = 24.0;

/// A format's print trim size in inches (width, height).
pub fn format_print_in(format: Format) -> (f64, f64) {
    let (w, h) = format_trim_pt(format);
    (w / 72.0, h / 72.0)
}

/// A format's print trim size in points: its aspect at [`FORMAT_PRINT_LONG_SIDE_IN`].
pub(crate) fn format_trim_pt(format: Format) -> (f64, f64) {
    let (w, h) = format.ratio_parts();
    let long = FORMAT_PRINT_LONG_SIDE_IN * 72.0;
    let (w, h) = (f64::from(w), f64::from(h));
    if w >= h {
        (long, long * h / w)
    } else {
        (long * w / h, long)
    }
}

/// A format's print: the one-sheet's trade convention (1/8 in of bleed, a 1/2 in slug).
fn format_geometry(format: Format, dpi: u32) -> Geometry {
    Geometry::of(format_trim_pt(format), 0.125 * 72.0, 0.5 * 72.0, dpi)
}

/// A print-ready poster: the same page as PDF and PNG, at `dpi`, marks included.
pub struct Printed {
    pub(crate) page: Page,
    pub png: Vec<u8>,
    pub pdf: Vec<u8>,
    /// The PNG's size in pixels: the whole page, slug included.
    pub width: u32,
    pub height: u32,
    pub(crate) dpi: u32,
}

impl std::fmt::Debug for Printed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printed")
            .field("page", &self.page)
            .field("png", &format_args!("{} bytes", self.png.len()))
            .field("pdf", &format_args!("{} bytes", self.pdf.len()))
            .field("width", &self.width)
            .field("height", &self.height)
            .field("dpi", &self.dpi)
            .finish()
    }
}

/// A box in points, origin top-left, y down.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PtBox {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl PtBox {
    #[cfg(test)]
    fn inset(self, d: f64) -> PtBox {
        PtBox {
            x0: self.x0 + d,
            y0: self.y0 + d,
            x1: self.x1 - d,
            y1: self.y1 - d,
        }
    }

    /// The same box in PDF user space, whose origin is the page's bottom-left corner.
    fn pdf(self, page_height: f64) -> PdfBox {
        PdfBox {
            llx: self.x0,
            lly: page_height - self.y1,
            urx: self.x1,
            ury: page_height - self.y0,
        }
    }
}

/// Where everything is on the page, in points and in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Geometry {
    dpi: u32,
    media: (f64, f64),
    bleed: PtBox,
    trim: PtBox,
    /// The whole page in pixels.
    page_px: (u32, u32),
    /// The bleed-box image in pixels, and where it sits on the page (the slug's width).
    bleed_px: (u32, u32),
    bleed_at: u32,
    /// The trim box in pixels, and where it sits in the bleed-box image (the bleed's width).
    trim_px: (u32, u32),
    trim_at: u32,
}

impl Geometry {
    fn new(sheet: Sheet, dpi: u32) -> Geometry {
        Geometry::of(sheet.trim_pt(), sheet.bleed_pt(), sheet.slug_pt(), dpi)
    }

    /// A page trimmed to `(tw, th)` points with `b` points of bleed and `s` of slug.
    fn of((tw, th): (f64, f64), b: f64, s: f64, dpi: u32) -> Geometry {
        let media = (tw + 2.0 * (b + s), th + 2.0 * (b + s));
        let px = |pt: f64| (pt * f64::from(dpi) / 72.0).round() as u32;
        // Pixel sizes are built from rounded parts so the parts tile the page exactly.
        let trim_px = (px(tw).max(1), px(th).max(1));
        let trim_at = px(b);
        let bleed_px = (trim_px.0 + 2 * trim_at, trim_px.1 + 2 * trim_at);
        let bleed_at = px(s);
        Geometry {
            dpi,
            media,
            bleed: PtBox {
                x0: s,
                y0: s,
                x1: media.0 - s,
                y1: media.1 - s,
            },
            trim: PtBox {
                x0: s + b,
                y0: s + b,
                x1: media.0 - s - b,
                y1: media.1 - s - b,
            },
            page_px: (bleed_px.0 + 2 * bleed_at, bleed_px.1 + 2 * bleed_at),
            bleed_px,
            bleed_at,
            trim_px,
            trim_at,
        }
    }

    fn scale(&self) -> f64 {
        f64::from(self.dpi) / 72.0
    }
}

/// A mark: a horizontal or vertical line in points, origin top-left.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Mark {
    from: (f64, f64),
    to: (f64, f64),
}

/// Trim marks on the trim lines and bleed marks on the bleed lines, two of each at every
/// corner, all in the slug: they start `MARK_GAP` outside the bleed box and run outwards.
fn marks(g: &Geometry) -> Vec<Mark> {
    let mut out = Vec::with_capacity(16);
    let b = g.bleed;
    for (line, length) in [(g.trim, MARK_LENGTH), (g.bleed, MARK_LENGTH / 2.0)] {
        for x in [line.x0, line.x1] {
            // Above and below the sheet.
            out.push(Mark {
                from: (x, b.y0 - MARK_GAP),
                to: (x, b.y0 - MARK_GAP - length),
            });
            out.push(Mark {
                from: (x, b.y1 + MARK_GAP),
                to: (x, b.y1 + MARK_GAP + length),
            });
        }
        for y in [line.y0, line.y1] {
            // Left and right of the sheet.
            out.push(Mark {
                from: (b.x0 - MARK_GAP, y),
                to: (b.x0 - MARK_GAP - length, y),
            });
            out.push(Mark {
                from: (b.x1 + MARK_GAP, y),
                to: (b.x1 + MARK_GAP + length, y),
            });
        }
    }
    out
}

/// The area a mark's stroke covers, in points: the line widened by the stroke on both sides.
fn mark_area(m: &Mark) -> PtBox {
    let h = MARK_WIDTH / 2.0;
    PtBox {
        x0: m.from.0.min(m.to.0) - h,
        y0: m.from.1.min(m.to.1) - h,
        x1: m.from.0.max(m.to.0) + h,
        y1: m.from.1.max(m.to.1) + h,
    }
}

/// The type laid out for the trim box at full resolution, in the bleed-box image's pixels, in
/// the typography's own arrangement.
#[cfg(test)]
fn print_layout(g: &Geometry, text: &PosterText, typography: Typography) -> Layout {
    let at = g.trim_at as f32;
    layout(g.trim_px.0, g.trim_px.1, text, typography).translate(at, at)
}

/// Sets `text` over `art` for `sheet` at `dpi` (at least [`PRINT_DPI`] at trim size, at most
/// [`MAX_PRINT_DPI`]): the art is resampled with a Lanczos-3 filter to cover the bleed box,
/// cropped centred and never stretched; the type is laid out afresh from the fonts inside the
/// trim box's safe area; trim and bleed marks are drawn in the slug outside the bleed. Returns
/// the page as PDF (TrimBox and BleedBox set, the marks as vector lines) and as PNG (with its
/// resolution recorded in pHYs).
pub fn print(
    art: &Pixmap,
    text: &PosterText,
    typography: Typography,
    sheet: Sheet,
    dpi: u32,
) -> Result<Printed, PosterError> {
    at_print_resolution(dpi)?;
    render(art, text, typography, sheet, dpi)
}

/// Whether a print may be made at `dpi`: [`PRINT_DPI`]..=[`MAX_PRINT_DPI`].
fn at_print_resolution(dpi: u32) -> Result<(), PosterError> {
    if (PRINT_DPI..=MAX_PRINT_DPI).contains(&dpi) {
        Ok(())
    } else {
        Err(PosterError::Resolution { dpi })
    }
}

/// [`print`] at any resolution, so tests can check the whole page cheaply.
fn render(
    art: &Pixmap,
    text: &PosterText,
    typography: Typography,
    sheet: Sheet,
    dpi: u32,
) -> Result<Printed, PosterError> {
    let g = Geometry::new(sheet, dpi);
    let mut image = resample_cover(art, g.bleed_px.0, g.bleed_px.1).ok_or(PosterError::Size {
        width: g.bleed_px.0,
        height: g.bleed_px.1,
    })?;
    // The print takes the screen poster's arrangement and treatments, chosen and measured on
    // the art at its own size, so the sheet reads like the poster it was ordered from.
    let look = typography.resolved_look();
    let mut screen = art.clone();
    let chosen = placement::set(&mut screen, text, typography, Zones::Choose);
    let at = g.trim_at as f32;
    let prepared = Prepared::new(g.trim_px.0, g.trim_px.1, text, typography);
    let laid = prepared
        .place(chosen.arrangement.unwrap_or_else(|| prepared.own()))
        .translate(at, at);
    let mut plans = draw::plan(&image, &laid, &look);
    for p in &mut plans {
        if let Some(s) = chosen.plans.iter().find(|s| s.role == p.role) {
            p.alpha = p.alpha.max(s.alpha);
            p.color = s.color;
            p.dark = s.dark;
        }
    }
    draw::render(&mut image, &laid, &look, &plans);
    page(&image, &g, text, Page::Sheet(sheet))
}

/// The bleed-box `image` on its page `g`: marks in the slug, written as PDF and PNG.
fn page(
    image: &Pixmap,
    g: &Geometry,
    text: &PosterText,
    page: Page,
) -> Result<Printed, PosterError> {
    let marks = marks(g);
    let flip = |p: (f64, f64)| (p.0, g.media.1 - p.1);
    let pdf_marks: Vec<PdfLine> = marks
        .iter()
        .map(|m| PdfLine {
            from: flip(m.from),
            to: flip(m.to),
        })
        .collect();
    let pdf = pdf::write(&PdfPage {
        media: g.media,
        bleed: g.bleed.pdf(g.media.1),
        trim: g.trim.pdf(g.media.1),
        image,
        marks: &pdf_marks,
        mark_width: MARK_WIDTH,
        title: text.title.as_deref(),
    })
    .map_err(PosterError::Pdf)?;
    let png = page_png(image, g, &marks)?;
    Ok(Printed {
        page,
        png,
        pdf,
        width: g.page_px.0,
        height: g.page_px.1,
        dpi: g.dpi,
    })
}

/// Sets `text` over `art` (the take's art at `format`'s aspect: re-composed or outpainted, any
/// size) as a print of `format` at `dpi` ([`PRINT_DPI`]..=[`MAX_PRINT_DPI`]): trimmed to the
/// format's aspect at [`FORMAT_PRINT_LONG_SIDE_IN`], the art resampled (Lanczos-3) to cover
/// the bleed box, the type laid out afresh inside the trim box's safe area by the format's own
/// layout (`compose_format`, as the format's screen file), and trim and bleed marks in the
/// slug. The same PDF (TrimBox, BleedBox, vector marks) and PNG as a sheet's print.
pub fn print_format(
    art: &Pixmap,
    text: &PosterText,
    typography: Typography,
    format: Format,
    dpi: u32,
) -> Result<Printed, PosterError> {
    at_print_resolution(dpi)?;
    render_format(art, text, typography, format, dpi)
}

/// [`print_format`] at any resolution, so tests can check the whole page cheaply.
fn render_format(
    art: &Pixmap,
    text: &PosterText,
    typography: Typography,
    format: Format,
    dpi: u32,
) -> Result<Printed, PosterError> {
    let g = format_geometry(format, dpi);
    let size = PosterError::Size {
        width: g.bleed_px.0,
        height: g.bleed_px.1,
    };
    let mut image = resample_cover(art, g.bleed_px.0, g.bleed_px.1).ok_or(size)?;
    // The type is set on the trim box alone (its safe area is the trim's), then laid back
    // into the bleed-box image: the bleed keeps the art, never the words.
    let at = g.trim_at as i32;
    let mut trim = Pixmap::new(g.trim_px.0, g.trim_px.1).ok_or(PosterError::Size {
        width: g.trim_px.0,
        height: g.trim_px.1,
    })?;
    trim.draw_pixmap(
        -at,
        -at,
        image.as_ref(),
        &tiny_skia::PixmapPaint::default(),
        tiny_skia::Transform::identity(),
        None,
    );
    compose_format(&mut trim, format, text, typography);
    image.draw_pixmap(
        at,
        at,
        trim.as_ref(),
        &tiny_skia::PixmapPaint {
            blend_mode: tiny_skia::BlendMode::Source,
            ..tiny_skia::PixmapPaint::default()
        },
        tiny_skia::Transform::identity(),
        None,
    );
    drop(trim);
    page(&image, &g, text, Page::Format(format))
}

/// How much of the pixel span `[p, p + 1)` the interval `[a, b)` covers.
fn overlap(p: f64, a: f64, b: f64) -> f64 {
    ((p + 1.0).min(b) - p.max(a)).max(0.0)
}

/// Encodes the whole page as an RGB PNG, row by row: white paper, the bleed-box image, and the
/// marks with exact area coverage (they are axis-aligned rectangles). The pHYs chunk carries
/// the resolution so layout and print software read the physical size.
fn page_png(image: &Pixmap, g: &Geometry, marks: &[Mark]) -> Result<Vec<u8>, PosterError> {
    let encode = |e: png::EncodingError| PosterError::Encode(Box::new(e));
    let (pw, ph) = g.page_px;
    let k = g.scale();
    let areas: Vec<PtBox> = marks
        .iter()
        .map(|m| {
            let a = mark_area(m);
            PtBox {
                x0: a.x0 * k,
                y0: a.y0 * k,
                x1: a.x1 * k,
                y1: a.y1 * k,
            }
        })
        .collect();
    // About a byte a pixel is typical for a poster page (grain and all); growing past it is
    // cheap, and untouched capacity is never resident.
    let mut out = Vec::with_capacity(pw as usize * ph as usize);
    let mut encoder = png::Encoder::new(&mut out, pw, ph);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    // Pixels per metre, the only physical unit PNG has.
    let ppm = (f64::from(g.dpi) / 0.0254).round() as u32;
    encoder.set_pixel_dims(Some(png::PixelDimensions {
        xppu: ppm,
        yppu: ppm,
        unit: png::Unit::Meter,
    }));
    let mut writer = encoder.write_header().map_err(encode)?;
    let mut stream = writer.stream_writer().map_err(encode)?;
    let (iw, ih) = (image.width() as usize, image.height() as usize);
    let at = g.bleed_at as usize;
    let mut row = vec![255_u8; pw as usize * 3];
    for y in 0..ph as usize {
        row.fill(255);
        if (at..at + ih).contains(&y) {
            let src = &image.pixels()[(y - at) * iw..(y - at + 1) * iw];
            for (dst, p) in row[at * 3..(at + iw) * 3].chunks_exact_mut(3).zip(src) {
                let c = p.demultiply();
                dst.copy_from_slice(&[c.red(), c.green(), c.blue()]);
            }
        }
        let yf = y as f64;
        for a in &areas {
            let oy = overlap(yf, a.y0, a.y1);
            if oy <= 0.0 {
                continue;
            }
            let x0 = (a.x0.floor().max(0.0)) as usize;
            let x1 = (a.x1.ceil() as usize).min(pw as usize);
            for x in x0..x1 {
                let cover = (overlap(x as f64, a.x0, a.x1) * oy).min(1.0);
                for v in &mut row[x * 3..x * 3 + 3] {
                    *v = (f64::from(*v) * (1.0 - cover)).round() as u8;
                }
            }
        }
        stream
            .write_all(&row)
            .map_err(|e| PosterError::Encode(Box::new(e)))?;
    }
    stream.finish().map_err(encode)?;
    writer.finish().map_err(encode)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::layout::Role;
    use super::*;
    use crate::genre::{Placement, Style};
    use std::io::Read;
    use tiny_skia::Color;

    fn art(w: u32, h: u32, c: Color) -> Pixmap {
        let mut p = Pixmap::new(w, h).expect("non-zero size");
        p.fill(c);
        p
    }

    fn words() -> PosterText {
        PosterText {
            title: Some("The Kraken of Brooklyn".into()),
            tagline: Some("The deep has come ashore.".into()),
            credits: Some("directed by Ada Lovelace starring Grace Hopper".into()),
        }
    }

    fn overlaps(a: &PtBox, b: &PtBox) -> bool {
        a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
    }

    fn inside(outer: &PtBox, inner: &PtBox) -> bool {
        inner.x0 >= outer.x0 && inner.y0 >= outer.y0 && inner.x1 <= outer.x1 && inner.y1 <= outer.y1
    }

    /// Each format prints at its own aspect, 24 in on the long side, with the one-sheet's
    /// bleed and slug: the page is trim + bleed + slug; the art runs edge to edge of the bleed
    /// box; the words are set inside the trim box (the bleed band carries art alone, so a cut
    /// a little off never clips a letter); the slug is paper with the marks; the PDF names its
    /// TrimBox and BleedBox.
    #[test]
    fn each_format_prints_at_its_aspect_with_bleed_and_marks() {
        let dpi = 24;
        let colour = (30, 90, 160);
        for format in Format::ALL {
            let (tw, th) = format_trim_pt(format);
            let (rw, rh) = format.ratio_parts();
            assert!(
                (tw / th - f64::from(rw) / f64::from(rh)).abs() < 1e-9,
                "{format}"
            );
            assert!((tw.max(th) / 72.0 - FORMAT_PRINT_LONG_SIDE_IN).abs() < 1e-9);
            let printed = render_format(
                &art(
                    rw * 40,
                    rh * 40,
                    Color::from_rgba8(colour.0, colour.1, colour.2, 255),
                ),
                &words(),
                Typography::of(Style::Noir),
                format,
                dpi,
            )
            .expect("prints");
            let g = format_geometry(format, dpi);
            assert_eq!(g.bleed.inset(0.125 * 72.0), g.trim, "{format}");
            assert_eq!((printed.width, printed.height), g.page_px, "{format}");
            assert_eq!(printed.page, Page::Format(format));
            let pdf = String::from_utf8_lossy(&printed.pdf);
            assert!(
                pdf.contains("/TrimBox") && pdf.contains("/BleedBox"),
                "{format}"
            );
            let mut reader = png::Decoder::new(std::io::Cursor::new(&printed.png[..]))
                .read_info()
                .expect("a PNG");
            let mut buf = vec![0; reader.output_buffer_size().expect("fits")];
            let info = reader.next_frame(&mut buf).expect("decodes");
            let px = |x: u32, y: u32| {
                let o = (y as usize * info.width as usize + x as usize) * 3;
                (buf[o], buf[o + 1], buf[o + 2])
            };
            let (at, (bw, bh)) = (g.bleed_at, g.bleed_px);
            let trim = (at + g.trim_at, at + g.trim_at, g.trim_px.0, g.trim_px.1);
            let in_trim = |x: u32, y: u32| {
                (trim.0..trim.0 + trim.2).contains(&x) && (trim.1..trim.1 + trim.3).contains(&y)
            };
            let mut words_drawn = 0;
            for y in at..at + bh {
                for x in at..at + bw {
                    if in_trim(x, y) {
                        words_drawn += usize::from(px(x, y) != colour);
                    } else {
                        assert_eq!(px(x, y), colour, "{format}: ({x}, {y}) in the bleed");
                    }
                }
            }
            assert!(words_drawn > 100, "{format}: no type in the trim box");
            // Paper at the page's corners; a trim mark's ink beside the top-left corner.
            assert_eq!(px(0, 0), (255, 255, 255), "{format}");
            let k = g.scale();
            let mark = marks(&g)[0];
            let (mx, my) = (
                (mark.from.0 * k) as u32,
                ((mark.from.1 + mark.to.1) / 2.0 * k) as u32,
            );
            assert!(px(mx, my).0 < 255, "{format}: no mark at ({mx}, {my})");
        }
        assert!(matches!(
            print_format(
                &art(2, 3, Color::BLACK),
                &words(),
                Typography::of(Style::Noir),
                Format::Square,
                72
            ),
            Err(PosterError::Resolution { dpi: 72 })
        ));
    }

    #[test]
    fn sheets_have_their_standard_sizes_and_names() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        let (w, h) = Sheet::OneSheet.trim_pt();
        assert!(close(w / 72.0, 27.0) && close(h / 72.0, 40.0));
        assert!(close(Sheet::OneSheet.bleed_pt() / 72.0, 0.125));
        let (w, h) = Sheet::A1.trim_pt();
        assert!(close(w / MM, 594.0) && close(h / MM, 841.0));
        assert!(close(Sheet::A1.bleed_pt() / MM, 3.0));
        for s in Sheet::ALL {
            assert_eq!(Sheet::parse(s.name()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).expect("serialises"),
                format!("\"{}\"", s.name())
            );
        }
        assert_eq!(Sheet::parse("OneSheet"), Some(Sheet::OneSheet));
        assert_eq!(Sheet::parse("a0"), None);
    }

    #[test]
    fn the_page_is_the_trim_plus_bleed_plus_slug_at_the_resolution() {
        for sheet in Sheet::ALL {
            for dpi in [PRINT_DPI, 200, MAX_PRINT_DPI] {
                let g = Geometry::new(sheet, dpi);
                let (tw, th) = sheet.trim_pt();
                let b = sheet.bleed_pt();
                let k = f64::from(dpi) / 72.0;
                // Boxes nest: trim inside bleed by exactly the bleed, bleed inside the media.
                assert!((g.trim.x1 - g.trim.x0 - tw).abs() < 1e-9);
                assert!((g.trim.y1 - g.trim.y0 - th).abs() < 1e-9);
                assert_eq!(g.bleed.inset(b), g.trim);
                assert!(g.bleed.x0 > 0.0 && g.bleed.y0 > 0.0);
                assert!(g.bleed.x1 < g.media.0 && g.bleed.y1 < g.media.1);
                // Pixels agree with points to within the three roundings that build them.
                assert!(
                    (f64::from(g.page_px.0) - g.media.0 * k).abs() <= 1.5,
                    "{g:?}"
                );
                assert!(
                    (f64::from(g.page_px.1) - g.media.1 * k).abs() <= 1.5,
                    "{g:?}"
                );
                assert!((f64::from(g.trim_px.1) - th * k).abs() <= 0.5);
                // At least the resolution asked for at trim size.
                assert!(f64::from(g.trim_px.0) / (tw / 72.0) >= f64::from(dpi) - 0.5);
            }
        }
        // The one-sheet at 150 dpi: 4050 × 6000 at trim, about 4.2k × 6.2k with the slug.
        let g = Geometry::new(Sheet::OneSheet, 150);
        assert_eq!(g.trim_px, (4050, 6000));
        assert_eq!(g.page_px, (4238, 6188));
    }

    #[test]
    fn marks_sit_in_the_slug_on_the_trim_and_bleed_lines() {
        for sheet in Sheet::ALL {
            let g = Geometry::new(sheet, PRINT_DPI);
            let media = PtBox {
                x0: 0.0,
                y0: 0.0,
                x1: g.media.0,
                y1: g.media.1,
            };
            let ms = marks(&g);
            assert_eq!(ms.len(), 16);
            for m in &ms {
                let a = mark_area(m);
                assert!(!overlaps(&a, &g.bleed), "{m:?} reaches into the bleed");
                assert!(inside(&media, &a), "{m:?} is off the page");
                assert!(
                    m.from.0 == m.to.0 || m.from.1 == m.to.1,
                    "{m:?} is not straight"
                );
            }
            // Two marks on each of the four trim lines and each of the four bleed lines.
            for line in [g.trim, g.bleed] {
                for x in [line.x0, line.x1] {
                    assert_eq!(
                        ms.iter().filter(|m| m.from.0 == x && m.to.0 == x).count(),
                        2
                    );
                }
                for y in [line.y0, line.y1] {
                    assert_eq!(
                        ms.iter().filter(|m| m.from.1 == y && m.to.1 == y).count(),
                        2
                    );
                }
            }
        }
    }

    #[test]
    fn type_is_set_afresh_inside_the_trim_safe_area_in_proportion_to_the_screen() {
        let text = words();
        for sheet in Sheet::ALL {
            for style in Style::ALL {
                for placement in Placement::ALL {
                    let t = Typography {
                        look: style,
                        placement,
                        ink: None,
                    };
                    let g = Geometry::new(sheet, PRINT_DPI);
                    let laid = print_layout(&g, &text, t);
                    let at = g.trim_at as f32;
                    let (tw, th) = (g.trim_px.0 as f32, g.trim_px.1 as f32);
                    // The safe area: 6% inside the trim box, in the bleed-box image's pixels.
                    let safe = (
                        at + (tw * 0.06).ceil(),
                        at + (th * 0.06).ceil(),
                        at + tw - (tw * 0.06).ceil(),
                        at + th - (th * 0.06).ceil(),
                    );
                    assert!(!laid.boxes.is_empty());
                    for b in &laid.boxes {
                        let r = b.rect;
                        assert!(
                            r.x >= safe.0
                                && r.y >= safe.1
                                && r.right() <= safe.2
                                && r.bottom() <= safe.3,
                            "{sheet:?} {style} {placement}: {r:?} outside {safe:?}"
                        );
                    }
                    // Same look as the screen poster, at print scale: the title's size
                    // relative to the sheet's height matches the 1024×1536 poster's.
                    let screen = layout(1024, 1536, &text, t);
                    let size = |l: &Layout| {
                        l.boxes
                            .iter()
                            .find(|b| b.role == Role::Title)
                            .map(|b| b.size)
                            .expect("a title")
                    };
                    let (on_screen, on_paper) = (size(&screen) / 1536.0, size(&laid) / th);
                    assert!(
                        (on_paper / on_screen - 1.0).abs() < 0.08,
                        "{sheet:?} {style}: {on_paper} vs {on_screen}"
                    );
                }
            }
        }
    }

    #[test]
    fn print_refuses_resolutions_outside_the_range() {
        let a = art(8, 12, Color::BLACK);
        for dpi in [0, 72, PRINT_DPI - 1, MAX_PRINT_DPI + 1] {
            assert!(matches!(
                print(&a, &words(), Typography::of(Style::Noir), Sheet::A1, dpi),
                Err(PosterError::Resolution { dpi: d }) if d == dpi
            ));
        }
    }

    fn number_after(s: &str, key: &str) -> Vec<f64> {
        let at = s.find(key).unwrap_or_else(|| panic!("{key} missing")) + key.len();
        let rest = s[at..].trim_start().trim_start_matches('[');
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == ' '))
            .expect("value ends");
        rest[..end]
            .split_whitespace()
            .map(|n| n.parse().expect("a number"))
            .collect()
    }

    #[test]
    fn the_pdf_is_structurally_sound_with_boxes_image_and_marks() {
        let dpi = 24;
        for sheet in Sheet::ALL {
            let printed = render(
                &art(60, 90, Color::from_rgba8(30, 90, 160, 255)),
                &words(),
                Typography::of(Style::Thriller),
                sheet,
                dpi,
            )
            .expect("prints");
            let pdf = &printed.pdf;
            assert!(pdf.starts_with(b"%PDF-1.4\n") && pdf.ends_with(b"%%EOF\n"));
            let offsets = pdf::tests::check_xref(pdf);
            assert_eq!(offsets.len(), 8);
            let text = String::from_utf8_lossy(pdf).to_string();
            let g = Geometry::new(sheet, dpi);
            let close = |a: &[f64], b: &[f64]| {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 0.01)
            };
            let (mw, mh) = g.media;
            assert!(close(
                &number_after(&text, "/MediaBox"),
                &[0.0, 0.0, mw, mh]
            ));
            let (tw, th) = sheet.trim_pt();
            let (b, s) = (sheet.bleed_pt(), sheet.slug_pt());
            let trim = number_after(&text, "/TrimBox");
            assert!(
                close(&trim, &[s + b, s + b, s + b + tw, s + b + th]),
                "{trim:?}"
            );
            let bleed = number_after(&text, "/BleedBox");
            assert!(
                close(&bleed, &[s, s, s + 2.0 * b + tw, s + 2.0 * b + th]),
                "{bleed:?}"
            );
            // The image fills the bleed box at the resolution asked for.
            let (iw, ih) = (
                number_after(&text, "/Width")[0],
                number_after(&text, "/Height")[0],
            );
            assert_eq!((iw as u32, ih as u32), g.bleed_px);
            assert!(((bleed[2] - bleed[0]) / 72.0 * f64::from(dpi) - iw).abs() <= 1.0);
            assert!(
                text.contains("/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode")
            );
            let draw = format!(
                "{} 0 0 {} {} {} cm\n/Im1 Do",
                pdf::num(bleed[2] - bleed[0]),
                pdf::num(bleed[3] - bleed[1]),
                pdf::num(bleed[0]),
                pdf::num(bleed[1])
            );
            assert!(
                text.contains(&draw),
                "the image is drawn over the bleed box"
            );
            // The stream inflates to exactly the image's RGB bytes.
            let length = number_after(&text, "5 0 obj\n")[0] as usize;
            let start = offsets[3]
                + pdf[offsets[3]..]
                    .windows(7)
                    .position(|w| w == b"stream\n")
                    .expect("stream")
                + 7;
            let mut raw = Vec::new();
            flate2::read::ZlibDecoder::new(&pdf[start..start + length])
                .read_to_end(&mut raw)
                .expect("inflates");
            // One filter-type byte per row, then the row's RGB.
            assert_eq!(
                raw.len(),
                (g.bleed_px.0 as usize * 3 + 1) * g.bleed_px.1 as usize
            );
            assert!(pdf[start + length..].starts_with(b"\nendstream"));
            // Every mark is a stroked line in the content stream, in the slug: between the
            // bleed box and the media box's edge, never over the bleed.
            let lines: Vec<Vec<f64>> = text
                .lines()
                .filter(|l| l.ends_with(" l S"))
                .map(|l| {
                    l.split_whitespace()
                        .filter_map(|n| n.parse().ok())
                        .collect()
                })
                .collect();
            assert_eq!(lines.len(), marks(&g).len());
            for l in &lines {
                let (x0, y0, x1, y1) = (l[0], l[1], l[2], l[3]);
                assert!(x0 == x1 || y0 == y1, "{l:?}");
                let w = MARK_WIDTH / 2.0;
                let area = PtBox {
                    x0: x0.min(x1) - w,
                    y0: y0.min(y1) - w,
                    x1: x0.max(x1) + w,
                    y1: y0.max(y1) + w,
                };
                let bleed_box = PtBox {
                    x0: bleed[0],
                    y0: bleed[1],
                    x1: bleed[2],
                    y1: bleed[3],
                };
                let media = PtBox {
                    x0: 0.0,
                    y0: 0.0,
                    x1: mw,
                    y1: mh,
                };
                assert!(!overlaps(&area, &bleed_box), "{l:?} over the bleed");
                assert!(inside(&media, &area), "{l:?} off the page");
            }
        }
    }

    #[test]
    fn the_png_is_the_page_with_its_resolution_art_over_the_bleed_and_marks_in_the_slug() {
        let dpi = 36;
        let colour = (200, 40, 60);
        let printed = render(
            &art(50, 80, Color::from_rgba8(colour.0, colour.1, colour.2, 255)),
            &PosterText::default(),
            Typography::of(Style::Horror),
            Sheet::OneSheet,
            dpi,
        )
        .expect("prints");
        let g = Geometry::new(Sheet::OneSheet, dpi);
        assert_eq!((printed.width, printed.height), g.page_px);
        let decoder = png::Decoder::new(std::io::Cursor::new(&printed.png[..]));
        let mut reader = decoder.read_info().expect("a PNG");
        let phys = reader.info().pixel_dims.expect("pHYs is set");
        assert_eq!(phys.unit, png::Unit::Meter);
        assert!((f64::from(phys.xppu) * 0.0254 - f64::from(dpi)).abs() < 0.05);
        assert_eq!(phys.xppu, phys.yppu);
        let mut buf = vec![0; reader.output_buffer_size().expect("fits")];
        let info = reader.next_frame(&mut buf).expect("decodes");
        assert_eq!((info.width, info.height), g.page_px);
        assert_eq!(info.color_type, png::ColorType::Rgb);
        let px = |x: u32, y: u32| {
            let o = (y as usize * info.width as usize + x as usize) * 3;
            (buf[o], buf[o + 1], buf[o + 2])
        };
        // The art covers the whole bleed box, edge to edge.
        let (at, (bw, bh)) = (g.bleed_at, g.bleed_px);
        for y in at..at + bh {
            for x in at..at + bw {
                assert_eq!(px(x, y), colour, "({x}, {y}) is not art");
            }
        }
        // The slug is paper, except where the marks are.
        let k = g.scale();
        let areas: Vec<PtBox> = marks(&g).iter().map(mark_area).collect();
        let near_mark = |x: u32, y: u32| {
            let (xp, yp) = (f64::from(x) / k, f64::from(y) / k);
            areas.iter().any(|a| {
                overlaps(
                    a,
                    &PtBox {
                        x0: xp - 1.0 / k,
                        y0: yp - 1.0 / k,
                        x1: xp + 2.0 / k,
                        y1: yp + 2.0 / k,
                    },
                )
            })
        };
        let mut dark = 0;
        for y in 0..g.page_px.1 {
            for x in 0..g.page_px.0 {
                let in_bleed = (at..at + bw).contains(&x) && (at..at + bh).contains(&y);
                if in_bleed {
                    continue;
                }
                if near_mark(x, y) {
                    dark += usize::from(px(x, y).0 < 255);
                } else {
                    assert_eq!(px(x, y), (255, 255, 255), "({x}, {y}) in the slug");
                }
            }
        }
        assert!(dark >= 16, "every mark leaves ink: {dark} dark pixels");
        // The top-left trim mark runs down the trim line above the sheet.
        let x = (g.trim.x0 * k).floor() as u32;
        let y = ((g.bleed.y0 - MARK_GAP - MARK_LENGTH / 2.0) * k) as u32;
        assert!(px(x, y).0 < 255 || px(x + 1, y).0 < 255);
    }
}
