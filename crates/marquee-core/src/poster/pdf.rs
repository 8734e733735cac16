//! A one-page PDF for a print shop, written by hand: the poster as one RGB image over the bleed
//! box and the trim and bleed marks as vector lines in registration colour, with the page
//! boxes a prepress tool reads.
//!
//! The file is PDF 1.4 (ISO 32000-1 keeps every construct used here): a header with a binary
//! comment, numbered objects, a cross-reference table with exact byte offsets and a trailer.
//! The image is compressed straight into the output as it is written, and its length follows as
//! an indirect object, so the raw pixels never exist as a second copy.
//!
//! This module knows PDF syntax and nothing of posters, type or sheets.

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use tiny_skia::Pixmap;

/// A box in PDF user space (points, origin bottom-left): lower-left and upper-right corners.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PdfBox {
    pub(crate) llx: f64,
    pub(crate) lly: f64,
    pub(crate) urx: f64,
    pub(crate) ury: f64,
}

/// A straight line in PDF user space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PdfLine {
    pub(crate) from: (f64, f64),
    pub(crate) to: (f64, f64),
}

/// Everything on the page.
pub(crate) struct PdfPage<'a> {
    /// The whole sheet, slug included; its lower-left corner is the origin.
    pub(crate) media: (f64, f64),
    pub(crate) bleed: PdfBox,
    pub(crate) trim: PdfBox,
    /// Drawn to fill the bleed box exactly.
    pub(crate) image: &'a Pixmap,
    pub(crate) marks: &'a [PdfLine],
    /// The marks' stroke width in points.
    pub(crate) mark_width: f64,
    /// The document title for the Info dictionary, if any.
    pub(crate) title: Option<&'a str>,
}

/// A PDF number: fixed-point (PDF has no exponent notation), without trailing zeros.
pub(super) fn num(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

fn rect(b: &PdfBox) -> String {
    format!(
        "[{} {} {} {}]",
        num(b.llx),
        num(b.lly),
        num(b.urx),
        num(b.ury)
    )
}

/// A text string as UTF-16BE with a byte-order mark, in hex: any title, no escaping rules.
fn text_string(s: &str) -> String {
    let mut out = String::from("<FEFF");
    for unit in s.encode_utf16() {
        out.push_str(&format!("{unit:04X}"));
    }
    out.push('>');
    out
}

/// PNG's Paeth predictor of `c`'s neighbours: left `a`, above `b`, above-left `c`.
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// One RGB row filtered with Paeth (filter type 4) against the row above, type byte first.
fn paeth_row(row: &[u8], above: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.push(4);
    for i in 0..row.len() {
        let a = if i >= 3 { row[i - 3] } else { 0 };
        let c = if i >= 3 { above[i - 3] } else { 0 };
        out.push(row[i].wrapping_sub(paeth(a, above[i], c)));
    }
}

/// Collects objects and their offsets as they are written.
struct Writer {
    out: Vec<u8>,
    offsets: Vec<usize>,
}

impl Writer {
    fn begin(&mut self, id: usize) {
        debug_assert_eq!(id, self.offsets.len() + 1, "objects are written in order");
        self.offsets.push(self.out.len());
        self.out
            .extend_from_slice(format!("{id} 0 obj\n").as_bytes());
    }

    fn object(&mut self, id: usize, body: &str) {
        self.begin(id);
        self.out.extend_from_slice(body.as_bytes());
        self.out.extend_from_slice(b"\nendobj\n");
    }
}

/// Writes `page` as a complete PDF file.
pub(crate) fn write(page: &PdfPage<'_>) -> std::io::Result<Vec<u8>> {
    let (iw, ih) = (page.image.width() as usize, page.image.height() as usize);
    // About a byte a pixel once predicted and deflated, as for the PNG.
    let mut w = Writer {
        out: Vec::with_capacity(iw * ih + 4096),
        offsets: Vec::new(),
    };
    // The binary comment tells transfer tools the file is binary (ISO 32000-1 §7.5.2).
    w.out.extend_from_slice(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n");

    w.object(1, "<< /Type /Catalog /Pages 2 0 R >>");
    w.object(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    // TrimBox: the finished sheet; BleedBox: where the art runs to, clipped after trimming
    // (ISO 32000-1 §14.11.2). Both lie inside the MediaBox, whose slug carries the marks.
    w.object(
        3,
        &format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /BleedBox {} /TrimBox {} \
             /Resources << /XObject << /Im1 4 0 R >> /ColorSpace << /Reg [/Separation /All \
             /DeviceCMYK 7 0 R] >> >> /Contents 6 0 R >>",
            num(page.media.0),
            num(page.media.1),
            rect(&page.bleed),
            rect(&page.trim)
        ),
    );

    w.begin(4);
    w.out.extend_from_slice(
        format!(
            "<< /Type /XObject /Subtype /Image /Width {iw} /Height {ih} /ColorSpace /DeviceRGB \
             /BitsPerComponent 8 /Filter /FlateDecode /DecodeParms << /Predictor 15 /Colors 3 \
             /BitsPerComponent 8 /Columns {iw} >> /Length 5 0 R >>\nstream\n"
        )
        .as_bytes(),
    );
    let start = w.out.len();
    {
        // Rows go through PNG's Paeth predictor first (Predictor 15, ISO 32000-1 §7.4.4.4):
        // resampled art is smooth, and its differences compress far better than its values.
        let mut z = ZlibEncoder::new(&mut w.out, Compression::fast());
        let mut prev = vec![0_u8; iw * 3];
        let mut row = Vec::with_capacity(iw * 3);
        let mut filtered = Vec::with_capacity(iw * 3 + 1);
        for line in page.image.pixels().chunks_exact(iw) {
            row.clear();
            for p in line {
                let c = p.demultiply();
                row.extend_from_slice(&[c.red(), c.green(), c.blue()]);
            }
            paeth_row(&row, &prev, &mut filtered);
            z.write_all(&filtered)?;
            std::mem::swap(&mut row, &mut prev);
        }
        z.finish()?;
    }
    let length = w.out.len() - start;
    w.out.extend_from_slice(b"\nendstream\nendobj\n");
    w.object(5, &length.to_string());

    let b = &page.bleed;
    let mut content = format!(
        "q\n{} 0 0 {} {} {} cm\n/Im1 Do\nQ\n/Reg CS 1 SCN\n{} w 0 J\n",
        num(b.urx - b.llx),
        num(b.ury - b.lly),
        num(b.llx),
        num(b.lly),
        num(page.mark_width)
    );
    for m in page.marks {
        content.push_str(&format!(
            "{} {} m {} {} l S\n",
            num(m.from.0),
            num(m.from.1),
            num(m.to.0),
            num(m.to.1)
        ));
    }
    w.object(
        6,
        &format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ),
    );
    // Registration colour: the colorant name All paints every separation (ISO 32000-1
    // §8.6.6.4), so the marks appear on each plate; shown as rich black on screen.
    w.object(
        7,
        "<< /FunctionType 2 /Domain [0 1] /C0 [0 0 0 0] /C1 [1 1 1 1] /N 1 >>",
    );
    let info = match page.title {
        Some(t) => format!("<< /Producer (Marquee) /Title {} >>", text_string(t)),
        None => "<< /Producer (Marquee) >>".to_string(),
    };
    w.object(8, &info);

    let xref = w.out.len();
    let count = w.offsets.len() + 1;
    w.out
        .extend_from_slice(format!("xref\n0 {count}\n0000000000 65535 f \n").as_bytes());
    for off in &w.offsets {
        // Every entry is exactly 20 bytes, end of line included (§7.5.4).
        w.out
            .extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    w.out.extend_from_slice(
        format!("trailer\n<< /Size {count} /Root 1 0 R /Info 8 0 R >>\nstartxref\n{xref}\n%%EOF\n")
            .as_bytes(),
    );
    Ok(w.out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The byte offset of every object, as the xref table states it, checked against "N 0 obj"
    /// where it points. Panics on any inconsistency.
    pub(crate) fn check_xref(pdf: &[u8]) -> Vec<usize> {
        let tail = String::from_utf8_lossy(&pdf[pdf.len().saturating_sub(64)..]).to_string();
        let after = tail.rsplit_once("startxref\n").expect("startxref").1;
        let xref: usize = after
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .expect("xref offset");
        assert!(
            pdf[xref..].starts_with(b"xref\n0 "),
            "startxref points at xref"
        );
        let table = String::from_utf8_lossy(&pdf[xref..]).to_string();
        let mut lines = table.split('\n').skip(1);
        let count: usize = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|n| n.parse().ok())
            .expect("xref count");
        let mut offsets = Vec::new();
        for (i, line) in lines.take(count).enumerate() {
            assert_eq!(line.len(), 19, "entry {i} is 20 bytes with its newline");
            if i == 0 {
                assert!(line.ends_with(" f "), "{line}");
                continue;
            }
            let off: usize = line[..10].parse().expect("offset");
            assert!(line.ends_with(" n "), "{line}");
            assert!(
                pdf[off..].starts_with(format!("{i} 0 obj").as_bytes()),
                "object {i} is not at {off}"
            );
            offsets.push(off);
        }
        assert!(table.contains(&format!("/Size {count}")));
        offsets
    }

    /// Undoes [`paeth_row`], as a reader does.
    fn unpaeth(filtered: &[u8], above: &[u8]) -> Vec<u8> {
        assert_eq!(filtered[0], 4);
        let mut row: Vec<u8> = Vec::with_capacity(filtered.len() - 1);
        for (i, f) in filtered[1..].iter().enumerate() {
            let a = if i >= 3 { row[i - 3] } else { 0 };
            let c = if i >= 3 { above[i - 3] } else { 0 };
            row.push(f.wrapping_add(paeth(a, above[i], c)));
        }
        row
    }

    #[test]
    fn the_paeth_predictor_round_trips() {
        let above: Vec<u8> = (0..30).map(|i| (i * 37 % 256) as u8).collect();
        let row: Vec<u8> = (0..30).map(|i| (i * 91 % 256) as u8).collect();
        let mut out = Vec::new();
        paeth_row(&row, &above, &mut out);
        assert_eq!(out.len(), row.len() + 1);
        assert_eq!(unpaeth(&out, &above), row);
    }

    #[test]
    fn numbers_are_plain_decimals() {
        assert_eq!(num(1944.0), "1944");
        assert_eq!(num(8.503_937), "8.5039");
        assert_eq!(num(-0.00001), "0");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(text_string("Été"), "<FEFF00C9007400E9>");
    }

    #[test]
    fn a_small_page_has_consistent_offsets() {
        let mut image = Pixmap::new(3, 2).expect("non-zero size");
        image.fill(tiny_skia::Color::from_rgba8(10, 20, 30, 255));
        let page = PdfPage {
            media: (100.0, 200.0),
            bleed: PdfBox {
                llx: 10.0,
                lly: 10.0,
                urx: 90.0,
                ury: 190.0,
            },
            trim: PdfBox {
                llx: 12.0,
                lly: 12.0,
                urx: 88.0,
                ury: 188.0,
            },
            image: &image,
            marks: &[PdfLine {
                from: (0.0, 12.0),
                to: (8.0, 12.0),
            }],
            mark_width: 0.25,
            title: Some("Kraken (the) \\ sequel"),
        };
        let pdf = write(&page).expect("writes");
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        assert_eq!(check_xref(&pdf).len(), 8);
    }
}
