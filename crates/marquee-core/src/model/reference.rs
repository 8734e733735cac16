//! Pictures people upload as references ("Use a picture…"): what is accepted, and the clean copy
//! Marquee keeps.
//!
//! An upload is hostile until proven otherwise. [`accept`] takes the downloaded bytes and:
//!
//! 1. refuses anything over [`MAX_UPLOAD_BYTES`] (Slack's own cap on a file, 10 MB);
//! 2. decides what the bytes *are* from their first bytes — PNG, JPEG or WebP — never from the
//!    file's name or the `mimetype` Slack reports (a GIF named `.png` is a GIF);
//! 3. reads the width and height from the header alone and refuses more than [`MAX_PIXELS`]
//!    (40 megapixels) before a single pixel is decoded, so a small file declaring a huge canvas
//!    (a decompression bomb: a 20,000 × 20,000 PNG compresses to a few kilobytes) costs nothing;
//!    also refuses pictures smaller than [`MIN_SIDE`] or outside [`MAX_RATIO`], which Stability's
//!    image services refuse;
//! 4. decodes, turns a JPEG the way its EXIF orientation says, and scales it down to at most
//!    [`WORKING_PIXELS`] (one megapixel), straight from the decoded rows;
//! 5. re-encodes the pixels as a fresh PNG: nothing of the original file survives but pixels,
//!    so EXIF (GPS position, camera serial), XMP, ICC profiles and text chunks are gone.
//!
//! Every refusal is a [`RejectReason`] with words for the person who uploaded it
//! ([`RejectReason::friendly`]), shown under the file field of the modal. [`Look`] measures the
//! accepted picture — its palette (median cut), light and grain — for the offline generator.

use std::io::Cursor;

/// Slack caps a file uploaded through `file_input` at 10 MB (Block Kit reference, "File input
/// element"); a larger answer is not a picture a person gave us.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

/// The largest canvas decoded: 40 megapixels, above a 36 MP camera or a 24 MP phone photo. Its
/// decoded RGB buffer is at most 120 MB, the one large allocation of an upload; anything that
/// declares more is refused from its header.
pub const MAX_PIXELS: u64 = 40_000_000;

/// The copy kept and sent to a model: at most one megapixel (Stability's services answer at
/// about one megapixel, and Conservative Upscale takes no more), ratio kept.
pub const WORKING_PIXELS: u64 = 1_048_576;

/// Stability's image services refuse a side under 64 px ("Stability AI Image Services" on
/// Bedrock: every input image at least 64 × 64).
pub const MIN_SIDE: u32 = 64;

/// Stability's image services take aspect ratios from 1:2.5 to 2.5:1 (ASSUMED from Stability's
/// API reference for the same services; the Bedrock page does not restate it).
pub const MAX_RATIO: f64 = 2.5;

/// The formats accepted, by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
    Webp,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
            Format::Webp => "WebP",
        }
    }
}

/// Why an upload was refused. Nothing refused is stored or sent anywhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {bytes} bytes, over the {MAX_UPLOAD_BYTES}-byte limit")]
    TooLarge { bytes: usize },
    /// `found` names what the bytes are, when Marquee recognises them (GIF, HEIC, PDF, …).
    #[error("the file is not a PNG, JPEG or WebP picture ({})", found.unwrap_or("unrecognised"))]
    NotAPicture { found: Option<&'static str> },
    #[error("the picture declares {width}×{height} pixels, over the {MAX_PIXELS}-pixel ceiling")]
    TooManyPixels { width: u32, height: u32 },
    #[error("the picture is {width}×{height}, under {MIN_SIDE} px on a side")]
    TooSmall { width: u32, height: u32 },
    #[error("the picture is {width}×{height}, outside the 1:2.5 to 2.5:1 ratios accepted")]
    TooNarrow { width: u32, height: u32 },
    #[error("the picture is animated")]
    Animated,
    #[error("the {format:?} could not be decoded ({detail})")]
    Corrupt { format: Format, detail: String },
}

impl RejectReason {
    /// What the person who uploaded the file is told, under the file field.
    pub fn friendly(&self) -> String {
        match self {
            RejectReason::Empty => "That file is empty. Please pick a picture.".into(),
            RejectReason::TooLarge { bytes } => format!(
                "That file is {:.1} MB; Marquee takes pictures up to 10 MB.",
                *bytes as f64 / 1_048_576.0
            ),
            RejectReason::NotAPicture { found: Some(what) } => format!(
                "That file is {what}, whatever its name says. Marquee takes PNG, JPEG or WebP pictures."
            ),
            RejectReason::NotAPicture { found: None } => {
                "That file isn't a PNG, JPEG or WebP picture. Please export it as one of those."
                    .into()
            }
            RejectReason::TooManyPixels { width, height } => format!(
                "That picture is {width} × {height} pixels; Marquee takes up to 40 megapixels. Please use a smaller export."
            ),
            RejectReason::TooSmall { width, height } => format!(
                "That picture is only {width} × {height} pixels; it needs at least {MIN_SIDE} on each side."
            ),
            RejectReason::TooNarrow { width, height } => format!(
                "That picture is {width} × {height}: too long and thin. Crop it to between 1:2.5 and 2.5:1."
            ),
            RejectReason::Animated => {
                "That picture moves. Please use a still PNG, JPEG or WebP.".into()
            }
            RejectReason::Corrupt { format, .. } => format!(
                "That {} couldn't be read; it may be damaged. Please export it again.",
                format.name()
            ),
        }
    }
}

/// An accepted picture: a fresh PNG of its pixels (no metadata), at the working size.
#[derive(Clone)]
pub struct Accepted {
    /// What the upload was.
    pub format: Format,
    /// The size the upload declared.
    pub original: (u32, u32),
    /// The clean copy, as stored and sent to models.
    pub png: Vec<u8>,
    pub pixmap: tiny_skia::Pixmap,
}

impl std::fmt::Debug for Accepted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accepted")
            .field("format", &self.format)
            .field("original", &self.original)
            .field("size", &(self.pixmap.width(), self.pixmap.height()))
            .field("png_bytes", &self.png.len())
            .finish()
    }
}

/// What the first bytes say the file is.
pub fn sniff(bytes: &[u8]) -> Result<Format, RejectReason> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Ok(Format::Png);
    }
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Format::Jpeg);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Ok(Format::Webp);
    }
    let found = if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("a GIF")
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        Some("a HEIC/AVIF or video file")
    } else if starts(b"%PDF") {
        Some("a PDF")
    } else if starts(b"BM") {
        Some("a BMP")
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Some("a TIFF")
    } else if starts(b"<") || starts(b"\xEF\xBB\xBF<") {
        Some("text (SVG or HTML)")
    } else {
        None
    };
    Err(RejectReason::NotAPicture { found })
}

/// Checks, decodes, cleans and scales an upload (see the module doc). CPU work: call it off the
/// async executor for large files.
pub fn accept(bytes: &[u8]) -> Result<Accepted, RejectReason> {
    if bytes.is_empty() {
        return Err(RejectReason::Empty);
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(RejectReason::TooLarge { bytes: bytes.len() });
    }
    let format = sniff(bytes)?;
    let corrupt = |detail: String| RejectReason::Corrupt { format, detail };
    let decoded = match format {
        Format::Png => decode_png(bytes).map_err(corrupt_or(format))?,
        Format::Jpeg => decode_jpeg(bytes).map_err(corrupt_or(format))?,
        Format::Webp => decode_webp(bytes).map_err(corrupt_or(format))?,
    };
    let original = (decoded.width, decoded.height);
    let pixmap = decoded.into_working_pixmap().map_err(corrupt)?;
    let png = pixmap
        .encode_png()
        .map_err(|e| corrupt(format!("re-encoding: {e}")))?;
    Ok(Accepted {
        format,
        original,
        png,
        pixmap,
    })
}

/// An error while decoding: a refusal from the header checks, or a decoder's complaint.
enum DecodeFailure {
    Reject(RejectReason),
    Decoder(String),
}

fn corrupt_or(format: Format) -> impl Fn(DecodeFailure) -> RejectReason {
    move |f| match f {
        DecodeFailure::Reject(r) => r,
        DecodeFailure::Decoder(detail) => RejectReason::Corrupt { format, detail },
    }
}

/// The checks every format's header gets before decoding.
fn check_size(width: u32, height: u32) -> Result<(), DecodeFailure> {
    let reject = |r| Err(DecodeFailure::Reject(r));
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return reject(RejectReason::TooManyPixels { width, height });
    }
    if width < MIN_SIDE || height < MIN_SIDE {
        return reject(RejectReason::TooSmall { width, height });
    }
    let ratio = f64::from(width.max(height)) / f64::from(width.min(height));
    if ratio > MAX_RATIO + 1e-9 {
        return reject(RejectReason::TooNarrow { width, height });
    }
    Ok(())
}

/// Decoded pixels: 8-bit RGB or RGBA rows (straight alpha), and how to turn them upright.
struct Decoded {
    width: u32,
    height: u32,
    channels: usize,
    data: Vec<u8>,
    /// EXIF orientation (1 = as stored; 2..=8 the TIFF values).
    orientation: u8,
}

fn decode_png(bytes: &[u8]) -> Result<Decoded, DecodeFailure> {
    let fail = |e: png::DecodingError| DecodeFailure::Decoder(e.to_string());
    // IHDR is the first chunk: read the declared size before the decoder allocates anything.
    if bytes.len() < 24 || &bytes[12..16] != b"IHDR" {
        return Err(DecodeFailure::Decoder("no IHDR chunk".into()));
    }
    let be = |o: usize| u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    check_size(be(16), be(20))?;
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits {
            bytes: (MAX_PIXELS * 8) as usize,
        },
    );
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(fail)?;
    if reader
        .info()
        .animation_control()
        .is_some_and(|a| a.num_frames > 1)
    {
        return Err(DecodeFailure::Reject(RejectReason::Animated));
    }
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| DecodeFailure::Decoder("the PNG's size overflows".into()))?;
    let mut data = vec![0; size];
    let info = reader.next_frame(&mut data).map_err(fail)?;
    data.truncate(info.buffer_size());
    let (data, channels) = match info.color_type {
        png::ColorType::Rgb => (data, 3),
        png::ColorType::Rgba => (data, 4),
        png::ColorType::Grayscale => (data.iter().flat_map(|&g| [g, g, g]).collect(), 3),
        png::ColorType::GrayscaleAlpha => (
            data.chunks_exact(2)
                .flat_map(|c| [c[0], c[0], c[0], c[1]])
                .collect(),
            4,
        ),
        png::ColorType::Indexed => {
            return Err(DecodeFailure::Decoder("palette was not expanded".into()));
        }
    };
    Ok(Decoded {
        width: info.width,
        height: info.height,
        channels,
        data,
        orientation: 1,
    })
}

fn decode_jpeg(bytes: &[u8]) -> Result<Decoded, DecodeFailure> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;
    let fail = |e: zune_jpeg::errors::DecodeErrors| DecodeFailure::Decoder(e.to_string());
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(usize::from(u16::MAX))
        .set_max_height(usize::from(u16::MAX));
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(fail)?;
    let info = decoder
        .info()
        .ok_or_else(|| DecodeFailure::Decoder("no frame header".into()))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    check_size(width, height)?;
    let orientation = decoder
        .exif()
        .and_then(|exif| exif_orientation(exif))
        .unwrap_or(1);
    let data = decoder.decode().map_err(fail)?;
    if data.len() != width as usize * height as usize * 3 {
        return Err(DecodeFailure::Decoder("short pixel data".into()));
    }
    Ok(Decoded {
        width,
        height,
        channels: 3,
        data,
        orientation,
    })
}

fn decode_webp(bytes: &[u8]) -> Result<Decoded, DecodeFailure> {
    let fail = |e: image_webp::DecodingError| DecodeFailure::Decoder(e.to_string());
    let mut decoder = image_webp::WebPDecoder::new(Cursor::new(bytes)).map_err(fail)?;
    let (width, height) = decoder.dimensions();
    check_size(width, height)?;
    if decoder.is_animated() {
        return Err(DecodeFailure::Reject(RejectReason::Animated));
    }
    let size = decoder
        .output_buffer_size()
        .ok_or_else(|| DecodeFailure::Decoder("the WebP's size overflows".into()))?;
    let mut data = vec![0; size];
    decoder.read_image(&mut data).map_err(fail)?;
    let channels = if decoder.has_alpha() { 4 } else { 3 };
    Ok(Decoded {
        width,
        height,
        channels,
        data,
        orientation: 1,
    })
}

/// The orientation tag (0x0112) of an EXIF block as zune-jpeg returns it (starting at the TIFF
/// header, or at `Exif\0\0`), if it has one.
fn exif_orientation(exif: &[u8]) -> Option<u8> {
    let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
    let little = match tiff.get(..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |o: usize| -> Option<u16> {
        let b = tiff.get(o..o + 2)?;
        Some(if little {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b = tiff.get(o..o + 4)?;
        Some(if little {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        } else {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        })
    };
    let ifd = u32_at(4)? as usize;
    let entries = usize::from(u16_at(ifd)?);
    (0..entries.min(256)).find_map(|i| {
        let entry = ifd + 2 + i * 12;
        (u16_at(entry)? == 0x0112)
            .then(|| u16_at(entry + 8))
            .flatten()
            .and_then(|v| u8::try_from(v).ok())
            .filter(|v| (1..=8).contains(v))
    })
}

impl Decoded {
    /// The upright picture scaled (box filter, straight from the decoded rows) to at most
    /// [`WORKING_PIXELS`], as a premultiplied pixmap.
    fn into_working_pixmap(self) -> Result<tiny_skia::Pixmap, String> {
        let swaps = matches!(self.orientation, 5..=8);
        let (uw, uh) = if swaps {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        };
        let pixels = u64::from(uw) * u64::from(uh);
        let scale = if pixels > WORKING_PIXELS {
            (WORKING_PIXELS as f64 / pixels as f64).sqrt()
        } else {
            1.0
        };
        let tw = ((f64::from(uw) * scale).floor() as u32).max(1);
        let th = ((f64::from(uh) * scale).floor() as u32).max(1);
        let mut out =
            tiny_skia::Pixmap::new(tw, th).ok_or_else(|| format!("cannot make {tw}x{th}"))?;
        let (sw, sh) = (self.width as usize, self.height as usize);
        let c = self.channels;
        let dst = out.pixels_mut();
        for ty in 0..th as usize {
            // The upright rows this output row covers.
            let uy0 = ty * uh as usize / th as usize;
            let uy1 = ((ty + 1) * uh as usize / th as usize).max(uy0 + 1);
            for tx in 0..tw as usize {
                let ux0 = tx * uw as usize / tw as usize;
                let ux1 = ((tx + 1) * uw as usize / tw as usize).max(ux0 + 1);
                let mut acc = [0u64; 4];
                for uy in uy0..uy1 {
                    for ux in ux0..ux1 {
                        let (sx, sy) = stored_xy(self.orientation, ux, uy, sw, sh);
                        let o = (sy * sw + sx) * c;
                        let px = &self.data[o..o + c];
                        let a = if c == 4 { u64::from(px[3]) } else { 255 };
                        // Premultiplied sums, so transparent pixels add no colour.
                        acc[0] += u64::from(px[0]) * a;
                        acc[1] += u64::from(px[1]) * a;
                        acc[2] += u64::from(px[2]) * a;
                        acc[3] += a;
                    }
                }
                let n = ((uy1 - uy0) * (ux1 - ux0)) as u64;
                let a = acc[3] / n;
                let ch = |v: u64| (v / (n * 255)).min(a) as u8;
                dst[ty * tw as usize + tx] = tiny_skia::PremultipliedColorU8::from_rgba(
                    ch(acc[0]),
                    ch(acc[1]),
                    ch(acc[2]),
                    a as u8,
                )
                .unwrap_or(tiny_skia::PremultipliedColorU8::TRANSPARENT);
            }
        }
        Ok(out)
    }
}

/// Where the upright pixel (`ux`, `uy`) is stored, for an EXIF orientation (TIFF 6.0: 1 normal,
/// 2 mirrored, 3 rotated 180°, 4 flipped, 5 transposed, 6 rotated 90° clockwise to view, 7
/// transversed, 8 rotated 90° counter-clockwise to view).
fn stored_xy(orientation: u8, ux: usize, uy: usize, sw: usize, sh: usize) -> (usize, usize) {
    match orientation {
        2 => (sw - 1 - ux, uy),
        3 => (sw - 1 - ux, sh - 1 - uy),
        4 => (ux, sh - 1 - uy),
        5 => (uy, ux),
        6 => (uy, sh - 1 - ux),
        7 => (sw - 1 - uy, sh - 1 - ux),
        8 => (sw - 1 - uy, ux),
        _ => (ux, uy),
    }
}

/// `source` cropped about its centre to `aspect` (never stretched), then scaled down to at most
/// `max_pixels`: a picture someone uploaded, made the shape of the poster it starts.
pub(crate) fn cover(
    source: &tiny_skia::Pixmap,
    aspect: super::Aspect,
    max_pixels: u64,
) -> Option<tiny_skia::Pixmap> {
    let (aw, ah) = aspect.offline_size();
    let want = aw as f32 / ah as f32;
    let (sw, sh) = (source.width() as f32, source.height() as f32);
    // The largest centred window of the poster's ratio inside the picture.
    let (cw, ch) = if sw / sh > want {
        (sh * want, sh)
    } else {
        (sw, sw / want)
    };
    let scale = ((max_pixels as f32 / (cw * ch)).sqrt()).min(1.0);
    let (tw, th) = (
        ((cw * scale).floor() as u32).max(1),
        ((ch * scale).floor() as u32).max(1),
    );
    let mut out = tiny_skia::Pixmap::new(tw, th)?;
    let k = tw as f32 / cw;
    let transform =
        tiny_skia::Transform::from_translate(-(sw - cw) / 2.0, -(sh - ch) / 2.0).post_scale(k, k);
    let paint = tiny_skia::PixmapPaint {
        quality: tiny_skia::FilterQuality::Bicubic,
        ..tiny_skia::PixmapPaint::default()
    };
    out.draw_pixmap(0, 0, source.as_ref(), &paint, transform, None);
    Some(out)
}

/// What the offline generator takes from a reference: its colours, its light and its grain.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    /// The dominant colours, by median cut, darkest first.
    pub palette: Vec<[u8; 3]>,
    /// Mean luminance, 0 (black) to 1 (white).
    pub light: f32,
    /// Fine-detail energy: the mean absolute difference between a pixel's luminance and its
    /// right and lower neighbours', 0 (flat) to about 0.2 (film grain, foliage).
    pub grain: f32,
}

/// How many colours [`look`] keeps.
pub const PALETTE_SIZE: usize = 6;

fn luma(p: [u8; 3]) -> f32 {
    (0.2126 * f32::from(p[0]) + 0.7152 * f32::from(p[1]) + 0.0722 * f32::from(p[2])) / 255.0
}

/// Measures `pixmap`'s palette (median cut on up to 16,384 sampled opaque pixels), light and
/// grain. Same pixels, same look.
pub fn look(pixmap: &tiny_skia::Pixmap) -> Look {
    let (w, h) = (pixmap.width() as usize, pixmap.height() as usize);
    let px = pixmap.pixels();
    let rgb = |i: usize| {
        let c = px[i].demultiply();
        [c.red(), c.green(), c.blue()]
    };
    let step = ((w * h) / 16_384).max(1);
    let mut samples: Vec<[u8; 3]> = (0..w * h)
        .step_by(step)
        .filter(|&i| px[i].alpha() > 127)
        .map(rgb)
        .collect();
    if samples.is_empty() {
        samples.push([0, 0, 0]);
    }
    let light = samples.iter().map(|&p| luma(p)).sum::<f32>() / samples.len() as f32;
    let mut palette = median_cut(samples, PALETTE_SIZE);
    palette.sort_by(|a, b| luma(*a).total_cmp(&luma(*b)));
    let (mut diff, mut n) = (0.0f32, 0u32);
    for y in (0..h.saturating_sub(1)).step_by(((h / 128).max(1)).min(h.max(1))) {
        for x in 0..w.saturating_sub(1) {
            let l = luma(rgb(y * w + x));
            diff += (l - luma(rgb(y * w + x + 1))).abs() + (l - luma(rgb((y + 1) * w + x))).abs();
            n += 2;
        }
    }
    let grain = if n == 0 { 0.0 } else { diff / n as f32 };
    Look {
        palette,
        light,
        grain,
    }
}

/// Median cut: split the box with the widest channel range at its median until there are `k`
/// boxes; each box's mean is a colour.
fn median_cut(samples: Vec<[u8; 3]>, k: usize) -> Vec<[u8; 3]> {
    let range = |b: &[[u8; 3]]| -> (usize, u8) {
        (0..3)
            .map(|c| {
                let (lo, hi) = b
                    .iter()
                    .fold((255u8, 0u8), |(lo, hi), p| (lo.min(p[c]), hi.max(p[c])));
                (c, hi.saturating_sub(lo))
            })
            .max_by_key(|&(_, r)| r)
            .unwrap_or((0, 0))
    };
    let mut boxes = vec![samples];
    while boxes.len() < k {
        let Some((i, (channel, spread))) = boxes
            .iter()
            .enumerate()
            .filter(|(_, b)| b.len() > 1)
            .map(|(i, b)| (i, range(b)))
            .max_by_key(|&(_, (_, r))| r)
        else {
            break;
        };
        if spread == 0 {
            break;
        }
        let mut b = boxes.swap_remove(i);
        b.sort_unstable_by_key(|p| p[channel]);
        let upper = b.split_off(b.len() / 2);
        boxes.push(b);
        boxes.push(upper);
    }
    boxes
        .iter()
        .filter(|b| !b.is_empty())
        .map(|b| {
            let mut sum = [0u64; 3];
            for p in b {
                for c in 0..3 {
                    sum[c] += u64::from(p[c]);
                }
            }
            let n = b.len() as u64;
            [(sum[0] / n) as u8, (sum[1] / n) as u8, (sum[2] / n) as u8]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RGB test card: a gradient with a red block top-left, so orientation shows.
    fn card(w: u32, h: u32) -> Vec<u8> {
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                if x < w / 4 && y < h / 4 {
                    rgb.extend_from_slice(&[230, 20, 20]);
                } else {
                    rgb.extend_from_slice(&[(x * 255 / w) as u8, (y * 255 / h) as u8, 120]);
                }
            }
        }
        rgb
    }

    fn png_of(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.add_text_chunk("Comment".into(), "secret location".into())
            .expect("text chunk");
        let mut writer = enc.write_header().expect("header");
        writer.write_image_data(&card(w, h)).expect("data");
        writer.finish().expect("finish");
        out
    }

    /// A TIFF/EXIF block (big-endian) with an orientation and a GPS IFD pointing at 51.5° N.
    fn exif_with_gps(orientation: u16) -> Vec<u8> {
        let mut t = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
        // IFD0: two entries (Orientation, GPSInfo pointer), then no next IFD.
        t.extend_from_slice(&2u16.to_be_bytes());
        t.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
        t.extend_from_slice(&orientation.to_be_bytes());
        t.extend_from_slice(&[0, 0]);
        t.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38]);
        t.extend_from_slice(&[0, 0, 0, 0]);
        // GPS IFD at 38: GPSLatitudeRef "N".
        t.extend_from_slice(&1u16.to_be_bytes());
        t.extend_from_slice(&[0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
        t.extend_from_slice(&[0, 0, 0, 0]);
        t.extend_from_slice(b"GPS 51.5074 N 0.1278 W");
        t
    }

    fn jpeg_of(w: u16, h: u16, exif: Option<Vec<u8>>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
        if let Some(exif) = exif {
            enc.add_app_segment(1, exif).expect("app1");
        }
        enc.encode(
            &card(u32::from(w), u32::from(h)),
            w,
            h,
            jpeg_encoder::ColorType::Rgb,
        )
        .expect("jpeg");
        out
    }

    fn webp_of(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image_webp::WebPEncoder::new(&mut out)
            .encode(&card(w, h), w, h, image_webp::ColorType::Rgb8)
            .expect("webp");
        out
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn png_jpeg_and_webp_are_accepted_by_content_and_come_out_as_clean_pngs() {
        for (bytes, format) in [
            (png_of(300, 200), Format::Png),
            (jpeg_of(300, 200, None), Format::Jpeg),
            (webp_of(300, 200), Format::Webp),
        ] {
            let got = accept(&bytes).expect("accepted");
            assert_eq!(got.format, format);
            assert_eq!(got.original, (300, 200));
            assert_eq!((got.pixmap.width(), got.pixmap.height()), (300, 200));
            assert!(got.png.starts_with(b"\x89PNG\r\n\x1a\n"));
            // Only the chunks a plain encoder writes: no text, EXIF, ICC or time chunks.
            for chunk in [&b"tEXt"[..], b"iTXt", b"zTXt", b"eXIf", b"iCCP", b"tIME"] {
                assert!(!contains(&got.png, chunk), "{format:?} kept {chunk:?}");
            }
            // The red block is still top-left.
            let c = got.pixmap.pixel(5, 5).expect("pixel").demultiply();
            assert!(c.red() > 180 && c.green() < 80, "{format:?}: {c:?}");
        }
    }

    #[test]
    fn a_jpeg_with_gps_exif_is_kept_without_it_and_turned_upright() {
        let bytes = jpeg_of(320, 160, Some(exif_with_gps(6)));
        assert!(
            contains(&bytes, b"GPS 51.5074"),
            "the test file carries GPS"
        );
        let got = accept(&bytes).expect("accepted");
        assert!(!contains(&got.png, b"GPS"), "GPS survived");
        assert!(!contains(&got.png, b"Exif"), "EXIF survived");
        // Orientation 6: shown rotated 90° clockwise, so 320x160 stands up as 160x320 and the
        // stored top-left red block is now top-right.
        assert_eq!((got.pixmap.width(), got.pixmap.height()), (160, 320));
        let c = got.pixmap.pixel(155, 5).expect("pixel").demultiply();
        assert!(c.red() > 180 && c.green() < 80, "{c:?}");
        assert_eq!(exif_orientation(&exif_with_gps(3)), Some(3));
        assert_eq!(exif_orientation(b"Exif\0\0garbage"), None);
    }

    #[test]
    fn what_a_file_is_comes_from_its_bytes_not_its_name() {
        let gif = b"GIF89a\x01\0\x01\0\x80\0\0\xff\xff\xff\0\0\0!\xf9\x04\0\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;";
        let err = accept(gif).expect_err("a GIF named .png is a GIF");
        assert_eq!(
            err,
            RejectReason::NotAPicture {
                found: Some("a GIF")
            }
        );
        assert!(err.friendly().contains("GIF, whatever its name says"));
        assert_eq!(
            accept(b"<svg xmlns='http://www.w3.org/2000/svg'/>").err(),
            Some(RejectReason::NotAPicture {
                found: Some("text (SVG or HTML)")
            })
        );
        assert_eq!(
            accept(b"\0\0\0\x18ftypheic").err(),
            Some(RejectReason::NotAPicture {
                found: Some("a HEIC/AVIF or video file")
            })
        );
        assert_eq!(accept(b"").err(), Some(RejectReason::Empty));
        assert!(matches!(
            accept(&vec![0xFF; MAX_UPLOAD_BYTES + 1]),
            Err(RejectReason::TooLarge { .. })
        ));
    }

    /// A decompression bomb is refused from its header: nothing is decoded (the PNG below has
    /// no image data at all, so decoding would fail differently).
    #[test]
    fn a_huge_canvas_is_refused_before_decoding() {
        let mut bomb = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        bomb.extend_from_slice(&20_000u32.to_be_bytes());
        bomb.extend_from_slice(&20_000u32.to_be_bytes());
        bomb.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        let err = accept(&bomb).expect_err("bomb");
        assert_eq!(
            err,
            RejectReason::TooManyPixels {
                width: 20_000,
                height: 20_000
            }
        );
        assert!(
            err.friendly().contains("40 megapixels"),
            "{}",
            err.friendly()
        );
        // The same for a JPEG's frame header: patch a small JPEG's SOF0 to 20000x20000.
        let mut jpeg = jpeg_of(64, 64, None);
        let sof = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("SOF0");
        jpeg[sof + 5..sof + 7].copy_from_slice(&20_000u16.to_be_bytes());
        jpeg[sof + 7..sof + 9].copy_from_slice(&20_000u16.to_be_bytes());
        assert!(matches!(
            accept(&jpeg),
            Err(RejectReason::TooManyPixels { .. })
        ));
    }

    #[test]
    fn tiny_thin_and_broken_pictures_are_refused_with_words_for_people() {
        assert!(matches!(
            accept(&png_of(40, 40)),
            Err(RejectReason::TooSmall { .. })
        ));
        assert!(matches!(
            accept(&png_of(800, 100)),
            Err(RejectReason::TooNarrow { .. })
        ));
        let good = png_of(100, 100);
        let err = accept(&good[..good.len() / 2]).expect_err("truncated");
        assert!(
            matches!(
                err,
                RejectReason::Corrupt {
                    format: Format::Png,
                    ..
                }
            ),
            "{err:?}"
        );
        // A JPEG cut inside its headers (zune-jpeg, like browsers, shows a JPEG cut in its
        // scan data as far as it goes, which is harmless).
        let jpeg = jpeg_of(100, 100, None);
        assert!(matches!(
            accept(&jpeg[..40]),
            Err(RejectReason::Corrupt { .. })
        ));
        // Every refusal has a sentence for people, naming no internals.
        for r in [
            RejectReason::Empty,
            RejectReason::Animated,
            RejectReason::NotAPicture { found: None },
            RejectReason::TooLarge { bytes: 12_000_000 },
        ] {
            let words = r.friendly();
            assert!(words.ends_with('.') && words.len() < 200, "{words}");
        }
    }

    #[test]
    fn large_pictures_are_scaled_to_the_working_size() {
        let got = accept(&jpeg_of(2400, 1600, None)).expect("accepted");
        let (w, h) = (got.pixmap.width(), got.pixmap.height());
        assert!(u64::from(w) * u64::from(h) <= WORKING_PIXELS, "{w}x{h}");
        assert!((f64::from(w) / f64::from(h) - 1.5).abs() < 0.01, "{w}x{h}");
        assert!(w >= 1200);
    }

    #[test]
    fn a_look_is_the_pictures_palette_light_and_grain() {
        let mut p = tiny_skia::Pixmap::new(200, 100).expect("size");
        for (i, px) in p.pixels_mut().iter_mut().enumerate() {
            let x = i % 200;
            // Left half deep blue, right half orange; a noisy stripe at the bottom.
            let (r, g, b): (u8, u8, u8) = if x < 100 {
                (10, 20, 120)
            } else {
                (240, 140, 20)
            };
            let noise = if i / 200 > 90 {
                ((i * 37) % 60) as u8
            } else {
                0
            };
            *px = tiny_skia::ColorU8::from_rgba(r, g.saturating_add(noise), b, 255).premultiply();
        }
        let look = look(&p);
        assert!(!look.palette.is_empty() && look.palette.len() <= PALETTE_SIZE);
        let darkest = look.palette[0];
        let brightest = look.palette[look.palette.len() - 1];
        assert!(darkest[2] > darkest[0], "blue first: {darkest:?}");
        assert!(brightest[0] > 200, "orange last: {brightest:?}");
        assert!((0.2..0.7).contains(&look.light), "{}", look.light);
        assert!(look.grain > 0.0);
        let flat = tiny_skia::Pixmap::new(64, 64).expect("size");
        assert_eq!(super::look(&flat).grain, 0.0);
    }
}
