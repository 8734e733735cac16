//! Looking at the art before setting type: a saliency map, a gradient map and the luminance of
//! the art at a reduced size, with summed-area tables so any box's mean is four look-ups.
//!
//! Saliency is frequency-tuned salient region detection (R. Achanta, S. Hemami, F. Estrada and
//! S. Süsstrunk, "Frequency-tuned Salient Region Detection", CVPR 2009): the art in CIELAB,
//! blurred with a small binomial kernel, and each pixel's saliency is its Euclidean distance
//! from the image's mean Lab colour. It needs no model weights. Achanta et al. normalise by the
//! map's maximum; Marquee normalises by the larger of the maximum and [`FULL_SALIENCE`] so a
//! near-uniform art (grain, a soft gradient) stays near zero instead of having its noise
//! stretched to full saliency.
//!
//! A second map, spectral residual saliency (X. Hou and L. Zhang, "Saliency Detection: A
//! Spectral Residual Approach", CVPR 2007), finds what the frequency-tuned one misses — a face
//! or an object whose colour is near the image's mean: the grey image at 64×64, the log
//! amplitude of its Fourier spectrum (log(1 + A), so a spectrum's nulls do not become spikes,
//! and the mean term dropped) less its 3×3 local mean (the "spectral residual"), back
//! through the inverse transform with the original phase, squared and smoothed. As
//! PosterLayout takes the maximum of two saliency maps, the layout uses the maximum of the two.
//! Art with almost no variation (grey spread under [`FLAT`]) has no spectral saliency.
//!
//! A third map marks skin, the one subject a designer never sets type over: the YCbCr
//! skin-colour map of D. Chai and K. N. Ngan ("Face Segmentation Using Skin-Color Map in
//! Videophone Applications", IEEE TCSVT 9(4), 1999): Cb in [77, 127] and Cr in [133, 173] on
//! the 8-bit ITU-R BT.601 scale, here also with Y ≥ 40 so near-black noise is not skin, and
//! only where the daylight RGB rule of J. Kovač, P. Peer and F. Solina ("Human Skin Colour
//! Clustering for Face Detection", EUROCON 2003) agrees (R > 95, G > 40, B > 20, max − min >
//! 15, |R − G| > 15, R > G, R > B): the chroma box alone takes a warm grey wall for skin.
//! Smoothed with the binomial; skin over more than [`SKIN_FIELD`] of the art is a sky or sand,
//! not a person, and marks nothing. Saliency maps rate a portrait's bright clothes as high as its
//! face; the layout adds the skin map to what text must avoid. (The metrics' saliency map is
//! the saliency alone, as PosterLayout's is.)
//!
//! The gradient map is the Sobel magnitude of the gamma-encoded grey level, scaled so that a
//! hard black/white edge is 1 (the "non-flatness" PosterLayout's Rea measures under text).
//!
//! This module knows nothing of words or layout.

use tiny_skia::Pixmap;

/// The long side of the analysed image, in pixels: 128 keeps the whole analysis to a few
/// milliseconds and is finer than any text block.
const ANALYSIS_SIDE: u32 = 128;
/// A Lab distance from the mean colour that counts as fully salient (ΔE 40: a red figure on a
/// grey sky is well past it, film grain is far below).
pub(crate) const FULL_SALIENCE: f32 = 40.0;

/// The side of the spectral residual's image (Hou and Zhang use 64).
const SR_SIDE: usize = 64;
/// Grey spread (standard deviation, 0..1) under which art counts as flat.
const FLAT: f32 = 0.02;
/// The largest share of the art skin colour may cover and still mark a person.
const SKIN_FIELD: f32 = 0.2;

/// The twiddle factors of an `n`-point FFT, stage after stage: (cos, sin) of `ang · k` for
/// each stage's length `len` (2, 4, … n) and k < len / 2, with `ang` = ∓2π / len.
fn twiddles(n: usize, inverse: bool) -> Vec<(f32, f32)> {
    let mut out = Vec::with_capacity(n);
    let mut len = 2;
    while len <= n {
        let ang = 2.0 * std::f32::consts::PI / len as f32 * if inverse { 1.0 } else { -1.0 };
        out.extend((0..len / 2).map(|k| ((ang * k as f32).cos(), (ang * k as f32).sin())));
        len <<= 1;
    }
    out
}

/// In-place radix-2 FFT of `n` = re.len() points (a power of two) with the twiddles of
/// [`twiddles`]`(n, inverse)`; `inverse` scales by 1/n.
fn fft(re: &mut [f32], im: &mut [f32], inverse: bool, tw: &[(f32, f32)]) {
    let n = re.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let mut len = 2;
    let mut stage = 0;
    while len <= n {
        for start in (0..n).step_by(len) {
            for k in 0..len / 2 {
                let (wr, wi) = tw[stage + k];
                let (a, b) = (start + k, start + k + len / 2);
                let (xr, xi) = (re[b] * wr - im[b] * wi, re[b] * wi + im[b] * wr);
                re[b] = re[a] - xr;
                im[b] = im[a] - xi;
                re[a] += xr;
                im[a] += xi;
            }
        }
        stage += len / 2;
        len <<= 1;
    }
    if inverse {
        for v in re.iter_mut().chain(im.iter_mut()) {
            *v /= n as f32;
        }
    }
}

/// 2-D FFT of an `n`×`n` image, rows then columns.
fn fft2(re: &mut [f32], im: &mut [f32], n: usize, inverse: bool) {
    let (mut cr, mut ci) = (vec![0.0_f32; n], vec![0.0_f32; n]);
    let tw = twiddles(n, inverse);
    for y in 0..n {
        fft(
            &mut re[y * n..(y + 1) * n],
            &mut im[y * n..(y + 1) * n],
            inverse,
            &tw,
        );
    }
    for x in 0..n {
        for y in 0..n {
            cr[y] = re[y * n + x];
            ci[y] = im[y * n + x];
        }
        fft(&mut cr, &mut ci, inverse, &tw);
        for y in 0..n {
            re[y * n + x] = cr[y];
            im[y * n + x] = ci[y];
        }
    }
}

/// Spectral residual saliency of a `SR_SIDE`² grey image, 0..1.
fn spectral_residual(grey: &[f32]) -> Vec<f32> {
    let n = SR_SIDE;
    let mean = grey.iter().sum::<f32>() / grey.len() as f32;
    let spread = (grey.iter().map(|g| (g - mean).powi(2)).sum::<f32>() / grey.len() as f32).sqrt();
    if spread < FLAT {
        return vec![0.0; n * n];
    }
    let mut re = grey.to_vec();
    let mut im = vec![0.0_f32; n * n];
    fft2(&mut re, &mut im, n, false);
    let log_amp: Vec<f32> = re
        .iter()
        .zip(&im)
        .map(|(r, i)| r.hypot(*i).ln_1p())
        .collect();
    for k in 0..n * n {
        let (y, x) = ((k / n) as isize, (k % n) as isize);
        let mut local = 0.0;
        for dy in -1..=1 {
            for dx in -1..=1 {
                let (yy, xx) = (
                    (y + dy).rem_euclid(n as isize),
                    (x + dx).rem_euclid(n as isize),
                );
                local += log_amp[yy as usize * n + xx as usize];
            }
        }
        let residual = (log_amp[k] - local / 9.0).exp();
        let phase = im[k].atan2(re[k]);
        re[k] = residual * phase.cos();
        im[k] = residual * phase.sin();
    }
    // The mean (DC) term carries no saliency, only an offset that would swamp the map.
    re[0] = 0.0;
    im[0] = 0.0;
    fft2(&mut re, &mut im, n, true);
    let power: Vec<[f32; 3]> = re
        .iter()
        .zip(&im)
        .map(|(r, i)| {
            let p = r * r + i * i;
            [p, 0.0, 0.0]
        })
        .collect();
    // Smoothing (Hou and Zhang: a Gaussian of σ = 8 at 64 px): the binomial, three times.
    let mut smooth = power;
    for _ in 0..3 {
        smooth = binomial(n, n, &smooth);
    }
    let max = smooth.iter().map(|v| v[0]).fold(0.0_f32, f32::max);
    smooth
        .iter()
        .map(|v| if max > 0.0 { v[0] / max } else { 0.0 })
        .collect()
}

/// A map of one value per analysed pixel with its summed-area table.
#[derive(Debug, Clone)]
pub(crate) struct Map {
    pub(crate) w: usize,
    pub(crate) h: usize,
    pub(crate) v: Vec<f32>,
    /// (w+1)×(h+1) summed-area table in f64 (sums of many small values).
    sat: Vec<f64>,
}

impl Map {
    fn new(w: usize, h: usize, v: Vec<f32>) -> Map {
        let mut sat = vec![0.0_f64; (w + 1) * (h + 1)];
        for y in 0..h {
            let mut row = 0.0_f64;
            for x in 0..w {
                row += f64::from(v[y * w + x]);
                sat[(y + 1) * (w + 1) + x + 1] = sat[y * (w + 1) + x + 1] + row;
            }
        }
        Map { w, h, v, sat }
    }

    /// The mean over the cells `[x0, x1) × [y0, y1)` (clamped), 0 for an empty box.
    pub(crate) fn mean_cells(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> f32 {
        let (x1, y1) = (x1.min(self.w), y1.min(self.h));
        if x0 >= x1 || y0 >= y1 {
            return 0.0;
        }
        let s = |x: usize, y: usize| self.sat[y * (self.w + 1) + x];
        let sum = s(x1, y1) - s(x0, y1) - s(x1, y0) + s(x0, y0);
        (sum / ((x1 - x0) * (y1 - y0)) as f64) as f32
    }

    /// The value at a fractional position (0..1 on both axes), bilinearly interpolated.
    pub(crate) fn sample(&self, fx: f32, fy: f32) -> f32 {
        let x = (fx * self.w as f32 - 0.5).clamp(0.0, (self.w - 1) as f32);
        let y = (fy * self.h as f32 - 0.5).clamp(0.0, (self.h - 1) as f32);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        let (tx, ty) = (x - x0 as f32, y - y0 as f32);
        let at = |x: usize, y: usize| self.v[y * self.w + x];
        let top = at(x0, y0) * (1.0 - tx) + at(x1, y0) * tx;
        let bottom = at(x0, y1) * (1.0 - tx) + at(x1, y1) * tx;
        top * (1.0 - ty) + bottom * ty
    }
}

/// What the layout knows of the art: maps at a reduced size, in the art's proportions.
#[derive(Debug, Clone)]
pub(crate) struct Analysis {
    /// The art's size in pixels.
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// Frequency-tuned saliency, 0..1.
    pub(crate) saliency: Map,
    /// Sobel gradient magnitude of the grey level, 0..1.
    pub(crate) gradient: Map,
    /// WCAG relative luminance, 0..1.
    pub(crate) luminance: Map,
    /// Skin colour (Chai and Ngan), 0..1.
    pub(crate) skin: Map,
    /// Luminance squared, for the spread of luminance under a box.
    luminance_sq: Map,
}

/// Mean, standard deviation and mean saliency and gradient of the art under a box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Under {
    pub(crate) saliency: f32,
    pub(crate) skin: f32,
    pub(crate) gradient: f32,
    pub(crate) luminance: f32,
    pub(crate) spread: f32,
}

impl Analysis {
    /// The cells a canvas rectangle covers (every cell it touches).
    fn cells(&self, x: f32, y: f32, w: f32, h: f32) -> (usize, usize, usize, usize) {
        let sx = self.saliency.w as f32 / self.width as f32;
        let sy = self.saliency.h as f32 / self.height as f32;
        let c = |v: f32, s: f32, max: usize| ((v * s).max(0.0) as usize).min(max);
        let x0 = c(x, sx, self.saliency.w);
        let y0 = c(y, sy, self.saliency.h);
        let x1 = (c(x + w, sx, self.saliency.w) + 1).min(self.saliency.w);
        let y1 = (c(y + h, sy, self.saliency.h) + 1).min(self.saliency.h);
        (x0, y0, x1.max(x0 + 1), y1.max(y0 + 1))
    }

    /// The art's empty room: the sum of (1 − saliency) over the sheet, in canvas pixels.
    pub(crate) fn room(&self) -> f32 {
        let all = self
            .saliency
            .mean_cells(0, 0, self.saliency.w, self.saliency.h);
        ((1.0 - all) * self.width as f32 * self.height as f32).max(1.0)
    }

    /// The art under the canvas rectangle `(x, y, w, h)`.
    pub(crate) fn under(&self, x: f32, y: f32, w: f32, h: f32) -> Under {
        let (x0, y0, x1, y1) = self.cells(x, y, w, h);
        let l = self.luminance.mean_cells(x0, y0, x1, y1);
        let l2 = self.luminance_sq.mean_cells(x0, y0, x1, y1);
        Under {
            saliency: self.saliency.mean_cells(x0, y0, x1, y1),
            skin: self.skin.mean_cells(x0, y0, x1, y1),
            gradient: self.gradient.mean_cells(x0, y0, x1, y1),
            luminance: l,
            spread: (l2 - l * l).max(0.0).sqrt(),
        }
    }
}

fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// CIELAB (D65) of a linear-light RGB triple.
fn lab(r: f32, g: f32, b: f32) -> [f32; 3] {
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f32| {
        if t > 0.008_856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// The art reduced to at most [`ANALYSIS_SIDE`] on its long side by box averaging (every
/// other pixel of each box on large art: the mean does not need them all), in linear light.
fn reduce(p: &Pixmap) -> (usize, usize, Vec<[f32; 3]>) {
    let (pw, ph) = (p.width() as usize, p.height() as usize);
    let long = pw.max(ph).max(1);
    let scale = (ANALYSIS_SIDE as f32 / long as f32).min(1.0);
    let w = ((pw as f32 * scale).round() as usize).max(1);
    let h = ((ph as f32 * scale).round() as usize).max(1);
    let data = p.data();
    let mut lut = [0.0_f32; 256];
    for (i, v) in lut.iter_mut().enumerate() {
        *v = srgb_to_linear(i as f32 / 255.0);
    }
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let (sy0, sy1) = (y * ph / h, ((y + 1) * ph / h).max(y * ph / h + 1));
        for x in 0..w {
            let (sx0, sx1) = (x * pw / w, ((x + 1) * pw / w).max(x * pw / w + 1));
            let step = if sx1 - sx0 >= 4 { 2 } else { 1 };
            let mut acc = [0.0_f32; 3];
            let mut n = 0.0_f32;
            for sy in (sy0..sy1).step_by(step) {
                for sx in (sx0..sx1).step_by(step) {
                    let o = (sy * pw + sx) * 4;
                    // Posters' art is opaque, so premultiplied equals straight colour.
                    acc[0] += lut[usize::from(data[o])];
                    acc[1] += lut[usize::from(data[o + 1])];
                    acc[2] += lut[usize::from(data[o + 2])];
                    n += 1.0;
                }
            }
            out.push([acc[0] / n, acc[1] / n, acc[2] / n]);
        }
    }
    (w, h, out)
}

/// A separable [1 4 6 4 1]/16 binomial blur with clamped edges (Achanta et al. use a 5×5
/// Gaussian to drop the finest texture before the distance is taken).
fn binomial(w: usize, h: usize, v: &[[f32; 3]]) -> Vec<[f32; 3]> {
    const K: [f32; 5] = [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];
    let pass = |src: &[[f32; 3]], horizontal: bool| -> Vec<[f32; 3]> {
        let mut dst = vec![[0.0_f32; 3]; src.len()];
        for y in 0..h {
            for x in 0..w {
                let mut acc = [0.0_f32; 3];
                for (k, wk) in K.iter().enumerate() {
                    let (sx, sy) = if horizontal {
                        ((x + k).saturating_sub(2).min(w - 1), y)
                    } else {
                        (x, (y + k).saturating_sub(2).min(h - 1))
                    };
                    let s = src[sy * w + sx];
                    for c in 0..3 {
                        acc[c] += wk * s[c];
                    }
                }
                dst[y * w + x] = acc;
            }
        }
        dst
    };
    let across = pass(v, true);
    pass(&across, false)
}

/// Sobel magnitude of `grey` (0..1), scaled so a hard 0→1 step edge reads 1.
pub(crate) fn sobel(w: usize, h: usize, grey: &[f32]) -> Vec<f32> {
    let at = |x: isize, y: isize| {
        let x = x.clamp(0, w as isize - 1) as usize;
        let y = y.clamp(0, h as isize - 1) as usize;
        grey[y * w + x]
    };
    let mut out = vec![0.0_f32; w * h];
    for y in 0..h as isize {
        for x in 0..w as isize {
            let gx = at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2.0 * at(x - 1, y)
                - at(x - 1, y + 1);
            let gy = at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2.0 * at(x, y - 1)
                - at(x + 1, y - 1);
            out[y as usize * w + x as usize] = ((gx * gx + gy * gy).sqrt() / 4.0).min(1.0);
        }
    }
    out
}

/// Chai and Ngan's skin-colour test of a linear-light RGB triple (see the module's doc).
fn is_skin(c: [f32; 3]) -> bool {
    // Kovač et al.'s R > G and R > B, tested before the (costly) encoding, which keeps order.
    if !(c[0] > c[1] && c[0] > c[2]) {
        return false;
    }
    let [r, g, b] = c.map(|v| 255.0 * v.max(0.0).powf(1.0 / 2.2));
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let cb = 128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b;
    let cr = 128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b;
    let chai_ngan = y >= 40.0 && (77.0..=127.0).contains(&cb) && (133.0..=173.0).contains(&cr);
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    let kovac = r > 95.0
        && g > 40.0
        && b > 20.0
        && max - min > 15.0
        && (r - g).abs() > 15.0
        && r > g
        && r > b;
    chai_ngan && kovac
}

/// The two weightless saliency maps of the reduced art, before they are combined: each
/// pixel's Lab distance from the mean colour (blurred), and the spectral residual map at
/// [`SR_SIDE`]; with the reduced size, its linear colours, luminance and grey level.
struct Raw {
    w: usize,
    h: usize,
    linear: Vec<[f32; 3]>,
    lum: Vec<f32>,
    grey: Vec<f32>,
    distance: Vec<f32>,
    sr: Map,
}

fn raw(art: &Pixmap) -> Raw {
    let (w, h, linear) = reduce(art);
    let labs: Vec<[f32; 3]> = linear.iter().map(|c| lab(c[0], c[1], c[2])).collect();
    let n = labs.len() as f32;
    let mut mean = [0.0_f32; 3];
    for c in &labs {
        for k in 0..3 {
            mean[k] += c[k] / n;
        }
    }
    let blurred = binomial(w, h, &labs);
    let distance: Vec<f32> = blurred
        .iter()
        .map(|c| {
            let d: f32 = (0..3).map(|k| (c[k] - mean[k]).powi(2)).sum();
            d.sqrt()
        })
        .collect();
    let lum: Vec<f32> = linear
        .iter()
        .map(|c| 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])
        .collect();
    let grey: Vec<f32> = lum.iter().map(|l| l.max(0.0).powf(1.0 / 2.2)).collect();
    // The spectral residual at 64×64 (nearest cell of the reduced image), then sampled back.
    let small: Vec<f32> = (0..SR_SIDE * SR_SIDE)
        .map(|k| {
            let (y, x) = (k / SR_SIDE, k % SR_SIDE);
            grey[(y * h / SR_SIDE) * w + x * w / SR_SIDE]
        })
        .collect();
    let sr = Map::new(SR_SIDE, SR_SIDE, spectral_residual(&small));
    Raw {
        w,
        h,
        linear,
        lum,
        grey,
        distance,
        sr,
    }
}

/// `v` scaled to span 0..1 (its minimum to 0, its maximum to 1), then quantised to 8 bits:
/// what BASNet's published test code does to its output (`normPRED`, `(d − min) / (max −
/// min)`) before saving it as the grey PNG the PosterLayout script reads and divides by 255.
/// A constant map is all 0.
fn min_max_8bit(v: &[f32]) -> Vec<f32> {
    let (lo, hi) = v
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
    v.iter()
        .map(|x| {
            if hi > lo {
                ((x - lo) / (hi - lo) * 255.0).floor() / 255.0
            } else {
                0.0
            }
        })
        .collect()
}

/// The saliency map the readability report scores Occ and Uti with, normalised as the
/// paper's maps are: the frequency-tuned and the spectral residual map each scaled to its own
/// minimum and maximum and stored in 8 bits ([`min_max_8bit`], as BASNet's `normPRED` and
/// its saved PNG), then the larger of the two at each pixel (the script's `np.maximum` of its
/// two maps). The layout keeps [`analyze`]'s map, which does not stretch a flat art's noise
/// to full saliency. At the reduced size, in the art's proportions.
pub(crate) fn metric_map(art: &Pixmap) -> Map {
    let r = raw(art);
    let ft = min_max_8bit(&r.distance);
    let sr: Vec<f32> = (0..r.w * r.h)
        .map(|k| {
            let (fx, fy) = (
                ((k % r.w) as f32 + 0.5) / r.w as f32,
                ((k / r.w) as f32 + 0.5) / r.h as f32,
            );
            r.sr.sample(fx, fy)
        })
        .collect();
    let sr = min_max_8bit(&sr);
    Map::new(
        r.w,
        r.h,
        ft.iter().zip(&sr).map(|(a, b)| a.max(*b)).collect(),
    )
}

/// Analyses `art`: its saliency, gradient and luminance at a reduced size.
pub(crate) fn analyze(art: &Pixmap) -> Analysis {
    let Raw {
        w,
        h,
        linear,
        lum,
        grey,
        distance,
        sr,
    } = raw(art);
    let norm = distance
        .iter()
        .copied()
        .fold(0.0_f32, f32::max)
        .max(FULL_SALIENCE);
    let saliency: Vec<f32> = distance
        .iter()
        .enumerate()
        .map(|(k, d)| {
            let (fx, fy) = (
                ((k % w) as f32 + 0.5) / w as f32,
                ((k / w) as f32 + 0.5) / h as f32,
            );
            (d / norm).max(sr.sample(fx, fy))
        })
        .collect();
    let gradient = sobel(w, h, &grey);
    let skin: Vec<[f32; 3]> = linear
        .iter()
        .map(|c| [f32::from(u8::from(is_skin(*c))), 0.0, 0.0])
        .collect();
    // A face is a compact patch: skin colour over more than [`SKIN_FIELD`] of the art is a
    // sky, sand or a wall, not a person, and marks nothing.
    let share = skin.iter().map(|v| v[0]).sum::<f32>() / skin.len().max(1) as f32;
    let skin: Vec<f32> = if share > SKIN_FIELD {
        vec![0.0; skin.len()]
    } else {
        binomial(w, h, &skin).iter().map(|v| v[0]).collect()
    };
    let sq: Vec<f32> = lum.iter().map(|l| l * l).collect();
    Analysis {
        width: art.width(),
        height: art.height(),
        saliency: Map::new(w, h, saliency),
        gradient: Map::new(w, h, gradient),
        luminance: Map::new(w, h, lum),
        skin: Map::new(w, h, skin),
        luminance_sq: Map::new(w, h, sq),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiny_skia::{Color, Paint, Rect, Transform};

    fn art(bg: (u8, u8, u8), spot: Option<(f32, f32, f32, f32)>) -> Pixmap {
        let mut p = Pixmap::new(400, 600).expect("size");
        p.fill(Color::from_rgba8(bg.0, bg.1, bg.2, 255));
        if let Some((x, y, w, h)) = spot {
            let mut paint = Paint::default();
            paint.set_color_rgba8(250, 240, 120, 255);
            p.fill_rect(
                Rect::from_xywh(x, y, w, h).expect("rect"),
                &paint,
                Transform::identity(),
                None,
            );
        }
        p
    }

    #[test]
    fn a_bright_subject_is_salient_and_uniform_art_is_not() {
        let a = analyze(&art((30, 40, 60), Some((150.0, 60.0, 100.0, 120.0))));
        let subject = a.under(160.0, 70.0, 80.0, 100.0);
        let sky = a.under(40.0, 400.0, 320.0, 150.0);
        assert!(subject.saliency > 0.8, "{subject:?}");
        assert!(sky.saliency < 0.2, "{sky:?}");
        // Edges of the subject carry gradient; flat sky none.
        let edge = a.under(140.0, 60.0, 20.0, 120.0);
        assert!(
            edge.gradient > 0.1 && sky.gradient < 0.01,
            "{edge:?} {sky:?}"
        );
        let flat = analyze(&art((128, 128, 128), None));
        let all = flat.under(0.0, 0.0, 400.0, 600.0);
        assert!(all.saliency < 1e-3 && all.gradient < 1e-3, "{all:?}");
        assert!((all.luminance - 0.2158).abs() < 0.01, "{all:?}");
    }

    #[test]
    fn the_fft_inverts_and_the_spectral_residual_finds_an_odd_patch() {
        let mut re: Vec<f32> = (0..64).map(|i| (i as f32 * 0.3).sin()).collect();
        let orig = re.clone();
        let mut im = vec![0.0; 64];
        fft(&mut re, &mut im, false, &twiddles(64, false));
        fft(&mut re, &mut im, true, &twiddles(64, true));
        assert!(re.iter().zip(&orig).all(|(a, b)| (a - b).abs() < 1e-4));
        // A small odd patch on a plain field stands out; the field far from it does not.
        let grey: Vec<f32> = (0..SR_SIDE * SR_SIDE)
            .map(|k| {
                let (y, x) = (k / SR_SIDE, k % SR_SIDE);
                let patch = (40..48).contains(&x) && (10..18).contains(&y);
                if patch { 0.9 } else { 0.3 }
            })
            .collect();
        let s = spectral_residual(&grey);
        let at = |x: usize, y: usize| s[y * SR_SIDE + x];
        let near = (36..52)
            .flat_map(|x| (6..22).map(move |y| (x, y)))
            .map(|(x, y)| at(x, y))
            .fold(0.0_f32, f32::max);
        assert!(near == 1.0 && at(15, 45) < 0.1, "{near} {}", at(15, 45));
        assert!(
            spectral_residual(&vec![0.5; SR_SIDE * SR_SIDE])
                .iter()
                .all(|v| *v == 0.0)
        );
    }

    #[test]
    fn box_means_come_from_the_summed_area_table() {
        let m = Map::new(3, 2, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(m.mean_cells(0, 0, 3, 2), 3.5);
        assert_eq!(m.mean_cells(1, 1, 3, 2), 5.5);
        assert_eq!(m.mean_cells(2, 0, 2, 2), 0.0);
    }

    /// The report's map is normalised as the paper's detector maps are: each map spans 0..1
    /// on its own (BASNet's `normPRED`), in 8-bit steps, and the larger is taken. On a grey
    /// sheet with a yellow patch, the patch reads 1 and the emptiest grey close to 0.
    #[test]
    fn the_metric_map_spans_zero_to_one_like_the_detectors_maps() {
        assert_eq!(min_max_8bit(&[2.0, 4.0, 3.0]), [0.0, 1.0, 127.0 / 255.0]);
        assert_eq!(min_max_8bit(&[0.3, 0.3]), [0.0, 0.0]);
        let p = art((90, 100, 110), Some((40.0, 60.0, 100.0, 120.0)));
        let m = metric_map(&p);
        let (lo, hi) =
            m.v.iter()
                .fold((f32::MAX, f32::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
        // Each map reaches 0 somewhere, not necessarily at the same pixel.
        assert!(lo < 0.05 && hi == 1.0, "{lo} {hi}");
        assert!(
            m.v.iter()
                .all(|v| (v * 255.0 - (v * 255.0).round()).abs() < 1e-3)
        );
        assert!(m.sample(0.22, 0.2) > 0.9, "the patch");
        assert!(m.sample(0.8, 0.85) < 0.1, "far from it");
    }
}
