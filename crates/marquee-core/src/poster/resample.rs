//! High-quality resampling for print: scales art to cover a target box, cropped centred, with a
//! separable Lanczos-3 filter.
//!
//! The art is scaled by one factor on both axes (never stretched) so that it covers the target,
//! and the overflow is cropped equally from both sides. The filter runs horizontally on each
//! source row once, keeping only the few rows the vertical pass needs in a ring buffer, so the
//! only full-size buffer is the output itself. Pixels are premultiplied RGBA, which is the right
//! space to filter alpha in; art from the models is opaque anyway.
//!
//! This module knows nothing of posters, type or paper: only pixels.

use tiny_skia::Pixmap;

/// Lanczos-3: a windowed sinc, the usual choice for enlarging photographs with little ringing.
const LOBES: f32 = 3.0;

fn lanczos3(x: f32) -> f32 {
    let x = x.abs();
    if x < 1e-6 {
        1.0
    } else if x < LOBES {
        let px = std::f32::consts::PI * x;
        LOBES * px.sin() * (px / LOBES).sin() / (px * px)
    } else {
        0.0
    }
}

/// Which part of the source is kept, in source pixels: the scale factor (the same on both axes)
/// and the cropped box's top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cover {
    pub(crate) scale: f64,
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) w: f64,
    pub(crate) h: f64,
}

/// The crop of a `sw` × `sh` source that, scaled by one factor, exactly covers `dw` × `dh`:
/// the full width or the full height, whichever is the tighter fit, centred on the other axis.
pub(crate) fn cover(sw: u32, sh: u32, dw: u32, dh: u32) -> Cover {
    let (sw, sh, dw, dh) = (f64::from(sw), f64::from(sh), f64::from(dw), f64::from(dh));
    let scale = (dw / sw).max(dh / sh);
    let (w, h) = (dw / scale, dh / scale);
    Cover {
        scale,
        x: (sw - w) / 2.0,
        y: (sh - h) / 2.0,
        w,
        h,
    }
}

/// The filter taps of every output pixel along one axis: a contiguous source window each,
/// normalised to sum to one, with samples past the edge folded onto the edge pixel.
struct Taps {
    /// First source index and number of taps, per output pixel.
    windows: Vec<(usize, usize)>,
    /// `stride` weights per output pixel, the first `windows[i].1` of them used.
    weights: Vec<f32>,
    stride: usize,
}

impl Taps {
    fn new(src_len: usize, offset: f64, span: f64, dst_len: usize) -> Taps {
        let scale = dst_len as f64 / span;
        // Shrinking widens the filter so every source pixel contributes (no aliasing).
        let widen = (1.0 / scale).max(1.0);
        let support = f64::from(LOBES) * widen;
        // Enough for the widest window, whatever the phase of its centre.
        let stride = (2.0 * support).ceil() as usize + 3;
        let last = src_len as i64 - 1;
        let mut windows = Vec::with_capacity(dst_len);
        let mut weights = vec![0.0_f32; dst_len * stride];
        let mut raw = Vec::with_capacity(stride + 2);
        for i in 0..dst_len {
            // Pixel centres sit at half-integers on both sides.
            let centre = offset + (i as f64 + 0.5) / scale;
            let lo = (centre - support).floor() as i64;
            let hi = (centre + support).ceil() as i64;
            raw.clear();
            for j in lo..=hi {
                let w = lanczos3(((j as f64 + 0.5 - centre) / widen) as f32);
                if w != 0.0 {
                    raw.push((j.clamp(0, last) as usize, w));
                }
            }
            let start = raw.iter().map(|r| r.0).min().unwrap_or(0);
            let end = raw.iter().map(|r| r.0).max().unwrap_or(0);
            let count = (end - start + 1).min(stride);
            let sum: f32 = raw.iter().map(|r| r.1).sum();
            let row = &mut weights[i * stride..(i + 1) * stride];
            for (j, w) in &raw {
                if let Some(slot) = row.get_mut(j - start) {
                    *slot += w / sum;
                }
            }
            windows.push((start, count));
        }
        Taps {
            windows,
            weights,
            stride,
        }
    }

    fn of(&self, i: usize) -> (usize, &[f32]) {
        let (start, count) = self.windows[i];
        (
            start,
            &self.weights[i * self.stride..i * self.stride + count],
        )
    }
}

/// Resamples one source row (premultiplied RGBA bytes) onto `out` (RGBA floats).
fn horizontal(src_row: &[u8], taps: &Taps, out: &mut [f32]) {
    for (x, px) in out.chunks_exact_mut(4).enumerate() {
        let (start, w) = taps.of(x);
        let mut acc = [0.0_f32; 4];
        for (k, wk) in w.iter().enumerate() {
            let s = &src_row[(start + k) * 4..(start + k) * 4 + 4];
            for c in 0..4 {
                acc[c] += wk * f32::from(s[c]);
            }
        }
        px.copy_from_slice(&acc);
    }
}

/// Scales `src` to cover a new `width` × `height` pixmap, cropped centred, never stretched.
/// Returns `None` only for a zero-sized target.
pub fn resample_cover(src: &Pixmap, width: u32, height: u32) -> Option<Pixmap> {
    let mut out = Pixmap::new(width, height)?;
    let (sw, sh) = (src.width() as usize, src.height() as usize);
    let (dw, dh) = (width as usize, height as usize);
    let c = cover(src.width(), src.height(), width, height);
    let htaps = Taps::new(sw, c.x, c.w, dw);
    let vtaps = Taps::new(sh, c.y, c.h, dh);

    // Horizontally resampled source rows, one slot per row a vertical window can span. Windows
    // only move down, and never span more than `stride` rows, so a row is computed once and
    // its slot is free again by the time another row maps onto it.
    let slots = vtaps.stride;
    let mut ring = vec![0.0_f32; slots * dw * 4];
    let mut held: Vec<Option<usize>> = vec![None; slots];
    let src_data = src.data();
    let out_data = out.data_mut();
    let mut acc = vec![0.0_f32; dw * 4];
    for y in 0..dh {
        let (start, w) = vtaps.of(y);
        for row in start..start + w.len() {
            let slot = row % slots;
            if held[slot] != Some(row) {
                horizontal(
                    &src_data[row * sw * 4..(row + 1) * sw * 4],
                    &htaps,
                    &mut ring[slot * dw * 4..(slot + 1) * dw * 4],
                );
                held[slot] = Some(row);
            }
        }
        let dst = &mut out_data[y * dw * 4..(y + 1) * dw * 4];
        acc.fill(0.0);
        for (k, wk) in w.iter().enumerate() {
            let slot = (start + k) % slots;
            let line = &ring[slot * dw * 4..(slot + 1) * dw * 4];
            for (a, v) in acc.iter_mut().zip(line) {
                *a += wk * v;
            }
        }
        for (px, a) in dst.chunks_exact_mut(4).zip(acc.chunks_exact(4)) {
            // Lanczos overshoots at hard edges: clamp, and keep colour within alpha so the
            // result is valid premultiplied RGBA.
            let alpha = a[3].round().clamp(0.0, 255.0);
            for c in 0..3 {
                px[c] = a[c].round().clamp(0.0, alpha) as u8;
            }
            px[3] = alpha as u8;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiny_skia::{Color, ColorU8};

    fn solid(w: u32, h: u32, c: Color) -> Pixmap {
        let mut p = Pixmap::new(w, h).expect("non-zero size");
        p.fill(c);
        p
    }

    fn px(p: &Pixmap, x: u32, y: u32) -> ColorU8 {
        p.pixel(x, y).expect("inside").demultiply()
    }

    #[test]
    fn cover_keeps_the_aspect_and_crops_centred() {
        // A 2:3 source onto a wider box: full width, cropped top and bottom equally.
        let c = cover(1024, 1536, 4088, 6038);
        assert!((c.w - 1024.0).abs() < 1e-9, "{c:?}");
        assert!(c.h < 1536.0 && c.y > 0.0);
        assert!((c.y - (1536.0 - c.h) / 2.0).abs() < 1e-9);
        assert!((c.w * c.scale - 4088.0).abs() < 1e-6 && (c.h * c.scale - 6038.0).abs() < 1e-6);
        // A narrower box: full height, cropped left and right.
        let c = cover(1024, 1536, 600, 1200);
        assert!((c.h - 1536.0).abs() < 1e-9 && c.x > 0.0, "{c:?}");
        assert!((c.x - (1024.0 - c.w) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_flat_colour_stays_flat_at_any_scale() {
        let src = solid(37, 53, Color::from_rgba8(200, 40, 90, 255));
        for (w, h) in [(150, 220), (20, 29), (37, 53), (300, 100)] {
            let out = resample_cover(&src, w, h).expect("non-zero size");
            assert_eq!((out.width(), out.height()), (w, h));
            for p in out.pixels() {
                let c = p.demultiply();
                assert_eq!(
                    (c.red(), c.green(), c.blue(), c.alpha()),
                    (200, 40, 90, 255),
                    "{w}x{h}"
                );
            }
        }
    }

    #[test]
    fn edges_land_where_the_crop_puts_them_and_shapes_are_not_stretched() {
        // Left half black, right half white, and a white band across the top tenth that a
        // centred crop to a wider box must cut off.
        let (sw, sh) = (100, 200);
        let mut src = solid(sw, sh, Color::BLACK);
        for y in 0..sh {
            for x in 0..sw {
                if x >= sw / 2 || y < sh / 10 {
                    src.pixels_mut()[(y * sw + x) as usize] =
                        ColorU8::from_rgba(255, 255, 255, 255).premultiply();
                }
            }
        }
        // 400×560 is wider than 1:2, so the crop keeps the full width and cuts 30 px of source
        // from the top and bottom: the band (20 px) disappears.
        let out = resample_cover(&src, 400, 560).expect("non-zero size");
        let c = cover(sw, sh, 400, 560);
        assert!(
            (c.y - 30.0).abs() < 1e-9 && (c.scale - 4.0).abs() < 1e-9,
            "{c:?}"
        );
        assert!(
            px(&out, 100, 2).red() < 10,
            "the top band must be cropped away"
        );
        // The vertical edge stays in the middle: one scale factor on both axes.
        assert!(px(&out, 196, 280).red() < 10);
        assert!(px(&out, 204, 280).red() > 245);
        // Downscaling keeps it there too.
        let small = resample_cover(&src, 40, 64).expect("non-zero size");
        assert!(px(&small, 17, 32).red() < 10 && px(&small, 23, 32).red() > 245);
    }
}
