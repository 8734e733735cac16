//! PosterLayout's layout metrics (H. Y. Hsu, X. He, Y. Peng, H. Kong and Q. Zhang,
//! "PosterLayout: A New Benchmark and Approach for Content-aware Visual-Textual Presentation
//! Layout", CVPR 2023), written from the definitions in the authors' evaluation script
//! (`eval.py` of PKU-ICST-MIPL/PosterLayout-CVPR2023): every canvas and map resized to
//! 513×750, boxes in those pixels truncated to integers, elements of class 1 (text),
//! 2 (logo) and 3 (underlay).
//!
//! - Val: the share of elements not smaller than 0.1 % of the canvas (5.13 × 7.50 × 10 px²);
//!   the smaller ones are then dropped for every other metric.
//! - Ove: per layout, the sum of the IoU of every pair of non-underlay elements divided by
//!   their number (not the number of pairs); averaged over layouts.
//! - Ali: per layout with two or more elements, n × min over the six coordinates (left, top,
//!   centre x, centre y, right, bottom; normalised) of −log10(1 − the smallest gap between
//!   any two elements' values); averaged over all layouts.
//! - Und_l: per underlay, the largest share of another element's area inside it; averaged
//!   over underlays, then over layouts that have one. Und_s: the share of underlays that
//!   contain another element — with the script's test of containment, which compares the
//!   other element's right edge with itself and so never checks it (kept as written).
//! - Uti: the sum of (1 − saliency) under the union of the elements over its sum on the
//!   whole canvas. Occ: the mean saliency under the union of the elements. Rea: the mean
//!   gradient under the text elements less the underlays. Layouts whose sum is zero add zero
//!   but still count in the mean, as in the script.
//! - The gradient is the script's `img_to_g_xy`: the grey image (OpenCV's BT.601 weights),
//!   3×3 Sobel with an 8-bit result (negative slopes clipped to 0, large ones to 255),
//!   squared and summed in 8-bit arithmetic as NumPy does it (modulo 256), halved, square
//!   rooted and scaled so its maximum is 255, then /255. Reproduced as written, wrap-around
//!   included, so the numbers mean what the paper's mean.
//!
//! - The canvas the gradient is taken of is resized as the script resizes it: RGB, with
//!   Pillow's default bicubic filter ([`pil_resize`]), then made grey with OpenCV's fixed-point
//!   BT.601 weights ([`cv_grey`]).
//!
//! One difference is unavoidable and stated wherever numbers are reported: the saliency map
//! is this crate's weightless map (`saliency::metric_map`: frequency-tuned and spectral
//! residual saliency, each normalised to its own minimum and maximum as BASNet's published
//! test code normalises its output, `normPRED`), not the maximum of the PFPN and BASNet maps
//! the authors computed with those trained detectors for their test set.

/// PosterLayout's canvas.
pub(crate) const W: usize = 513;
pub(crate) const H: usize = 750;
/// Elements smaller than this (0.1 % of the canvas) are invalid.
const MIN_AREA: f32 = 5.13 * 7.50 * 10.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Text = 1,
    Underlay = 3,
}

/// One element: its class and its box (left, top, right, bottom) in canvas pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Element {
    pub(crate) class: Class,
    pub(crate) ltrb: [f32; 4],
}

impl Element {
    /// The box as the script holds it: `np.array(box, dtype=int)`, truncated towards zero.
    fn int(&self) -> [i64; 4] {
        self.ltrb.map(|v| v.trunc() as i64)
    }

    fn valid(&self) -> bool {
        let [l, t, r, b] = self.ltrb;
        let (l, t) = (l.max(0.0), t.max(0.0));
        let (r, b) = (r.min(W as f32), b.min(H as f32));
        ((r - l) * (b - t)).abs() >= MIN_AREA
    }
}

/// One canvas's maps at 513×750, row-major, 0..1.
pub(crate) struct Maps {
    pub(crate) saliency: Vec<f32>,
    pub(crate) gradient: Vec<f32>,
}

/// The metrics over a set of layouts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Scores {
    pub(crate) val: f32,
    pub(crate) ove: f32,
    pub(crate) ali: f32,
    pub(crate) und_l: f32,
    pub(crate) und_s: f32,
    pub(crate) uti: f32,
    pub(crate) occ: f32,
    pub(crate) rea: f32,
}

fn iou(a: [i64; 4], b: [i64; 4]) -> f64 {
    let (w1, h1) = ((a[2] - a[0]) as f64, (a[3] - a[1]) as f64);
    let (w2, h2) = ((b[2] - b[0]) as f64, (b[3] - b[1]) as f64);
    let wi = (a[2].min(b[2]) - a[0].max(b[0])) as f64;
    let hi = (a[3].min(b[3]) - a[1].max(b[1])) as f64;
    let inter = if wi <= 0.0 || hi <= 0.0 { 0.0 } else { wi * hi };
    inter / (w1 * h1 + w2 * h2 - inter)
}

/// The intersection over the second box's area (the script's `metrics_inter_oneside`).
fn inter_oneside(a: [i64; 4], b: [i64; 4]) -> f64 {
    let (w2, h2) = ((b[2] - b[0]) as f64, (b[3] - b[1]) as f64);
    let wi = (a[2].min(b[2]) - a[0].max(b[0])) as f64;
    let hi = (a[3].min(b[3]) - a[1].max(b[1])) as f64;
    let inter = if wi <= 0.0 || hi <= 0.0 { 0.0 } else { wi * hi };
    inter / (w2 * h2)
}

/// The script's `is_contain`, its third test (`xr_2 >= xr_2`) included.
fn contains(a: [i64; 4], b: [i64; 4]) -> bool {
    a[0] <= b[0] && a[1] <= b[1] && a[3] >= b[3]
}

fn mask_of(boxes: impl Iterator<Item = [i64; 4]>, value: u8, mask: &mut [u8]) {
    for [l, t, r, b] in boxes {
        // NumPy slicing clamps to the array; these boxes never start below zero.
        let (l, t) = (l.clamp(0, W as i64) as usize, t.clamp(0, H as i64) as usize);
        let (r, b) = (r.clamp(0, W as i64) as usize, b.clamp(0, H as i64) as usize);
        for y in t..b {
            mask[y * W + l..y * W + r.max(l)].fill(value);
        }
    }
}

fn ali_g(x: f64) -> f64 {
    -(1.0 - x).log10()
}

/// The metrics of `layouts` (each with its canvas's maps), as the evaluation script computes
/// them over its test set.
pub(crate) fn score(layouts: &[(Vec<Element>, &Maps)]) -> Scores {
    let n = layouts.len().max(1) as f64;
    let (mut total, mut empty) = (0usize, 0usize);
    let (mut ove, mut ali, mut uti, mut occ, mut rea) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut und_l, mut und_s, mut with_underlay) = (0.0, 0.0, 0usize);
    for (elements, maps) in layouts {
        total += elements.len();
        empty += elements.iter().filter(|e| !e.valid()).count();
        let valid: Vec<&Element> = elements.iter().filter(|e| e.valid()).collect();
        let boxes: Vec<[i64; 4]> = valid.iter().map(|e| e.int()).collect();
        let is = |k: usize, c: Class| valid[k].class == c;
        // Ove.
        let front: Vec<[i64; 4]> = (0..valid.len())
            .filter(|&k| !is(k, Class::Underlay))
            .map(|k| boxes[k])
            .collect();
        let mut o = 0.0;
        for i in 0..front.len() {
            for j in i + 1..front.len() {
                o += iou(front[i], front[j]);
            }
        }
        if !front.is_empty() {
            ove += o / front.len() as f64;
        }
        // Ali.
        if boxes.len() > 1 {
            let theta: Vec<[f64; 6]> = boxes
                .iter()
                .map(|b| {
                    let (l, t) = (b[0] as f64 / W as f64, b[1] as f64 / H as f64);
                    let (r, bt) = (b[2] as f64 / W as f64, b[3] as f64 / H as f64);
                    [l, t, (l + r) / 2.0, (t + bt) / 2.0, r, bt]
                })
                .collect();
            let g = (0..6)
                .map(|j| {
                    let mut delta = f64::INFINITY;
                    for a in 0..theta.len() {
                        for b in a + 1..theta.len() {
                            delta = delta.min((theta[a][j] - theta[b][j]).abs());
                        }
                    }
                    ali_g(delta)
                })
                .fold(f64::INFINITY, f64::min);
            ali += g * boxes.len() as f64;
        }
        // Und_l and Und_s.
        let under: Vec<[i64; 4]> = (0..valid.len())
            .filter(|&k| is(k, Class::Underlay))
            .map(|k| boxes[k])
            .collect();
        if !under.is_empty() {
            with_underlay += 1;
            let (mut l, mut s) = (0.0, 0.0);
            for u in &under {
                l += front
                    .iter()
                    .map(|f| inter_oneside(*u, *f))
                    .fold(0.0, f64::max);
                if front.iter().any(|f| contains(*u, *f)) {
                    s += 1.0;
                }
            }
            und_l += l / under.len() as f64;
            und_s += s / under.len() as f64;
        }
        // Uti, Occ.
        let mut mask = vec![0_u8; W * H];
        mask_of(boxes.iter().copied(), 1, &mut mask);
        let (mut free, mut used, mut sal, mut area) = (0.0_f64, 0.0_f64, 0.0_f64, 0.0_f64);
        for (k, s) in maps.saliency.iter().enumerate() {
            let s = f64::from(*s);
            free += 1.0 - s;
            if mask[k] == 1 {
                used += 1.0 - s;
                sal += s;
                area += 1.0;
            }
        }
        if free != 0.0 && used != 0.0 {
            uti += used / free;
        }
        if sal != 0.0 && area != 0.0 {
            occ += sal / area;
        }
        // Rea.
        let mut mask = vec![0_u8; W * H];
        let text = (0..valid.len())
            .filter(|&k| is(k, Class::Text))
            .map(|k| boxes[k]);
        mask_of(text, 1, &mut mask);
        mask_of(under.iter().copied(), 0, &mut mask);
        let (mut grad, mut area) = (0.0_f64, 0.0_f64);
        for (k, g) in maps.gradient.iter().enumerate() {
            if mask[k] == 1 {
                grad += f64::from(*g);
                area += 1.0;
            }
        }
        if grad != 0.0 && area != 0.0 {
            rea += grad / area;
        }
    }
    Scores {
        val: if total == 0 {
            0.0
        } else {
            1.0 - empty as f32 / total as f32
        },
        ove: (ove / n) as f32,
        ali: (ali / n) as f32,
        und_l: if with_underlay == 0 {
            0.0
        } else {
            (und_l / with_underlay as f64) as f32
        },
        und_s: if with_underlay == 0 {
            0.0
        } else {
            (und_s / with_underlay as f64) as f32
        },
        uti: (uti / n) as f32,
        occ: (occ / n) as f32,
        rea: (rea / n) as f32,
    }
}

/// Pillow's bicubic filter (`Resample.c`, `bicubic_filter`, a = −0.5), support 2.
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// Pillow's fixed-point precision for 8-bit resampling (`PRECISION_BITS`, 32 − 8 − 2).
const PRECISION_BITS: u32 = 22;

/// For each output position: the first input index and its fixed-point weights, as Pillow's
/// `precompute_coeffs` and `normalize_coeffs_8bpc` compute them for a resize of `input` to
/// `output` samples (the filter widened by the scale when reducing).
fn coefficients(input: usize, output: usize) -> Vec<(usize, Vec<i64>)> {
    let scale = input as f64 / output as f64;
    let filterscale = scale.max(1.0);
    let support = 2.0 * filterscale;
    (0..output)
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            let ss = 1.0 / filterscale;
            // C's (int) truncates toward zero.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(input as i64) as usize;
            let w: Vec<f64> = (xmin..xmax)
                .map(|x| bicubic((x as f64 - center + 0.5) * ss))
                .collect();
            let total: f64 = w.iter().sum();
            let k = w
                .iter()
                .map(|v| {
                    let v = if total != 0.0 { v / total } else { *v };
                    let f = v * f64::from(1_u32 << PRECISION_BITS);
                    if f < 0.0 {
                        (-0.5 + f) as i64
                    } else {
                        (0.5 + f) as i64
                    }
                })
                .collect();
            (xmin, k)
        })
        .collect()
}

fn clip8(v: i64) -> u8 {
    (v >> PRECISION_BITS).clamp(0, 255) as u8
}

/// `Image.resize((w, h))` of an 8-bit image with `channels` interleaved channels, as Pillow
/// does it by default since 7.0 (bicubic; PosterLayout pins Pillow 9.2): a horizontal pass,
/// rounded to 8 bits, then a vertical one. A pass whose size does not change is skipped.
pub(crate) fn pil_resize(
    src: &[u8],
    (sw, sh): (usize, usize),
    channels: usize,
    (dw, dh): (usize, usize),
) -> Vec<u8> {
    let half = 1_i64 << (PRECISION_BITS - 1);
    let horizontal = if dw == sw {
        src.to_vec()
    } else {
        let k = coefficients(sw, dw);
        let mut out = vec![0_u8; dw * sh * channels];
        for y in 0..sh {
            for (x, (xmin, w)) in k.iter().enumerate() {
                for c in 0..channels {
                    let mut acc = half;
                    for (i, wi) in w.iter().enumerate() {
                        acc += i64::from(src[(y * sw + xmin + i) * channels + c]) * wi;
                    }
                    out[(y * dw + x) * channels + c] = clip8(acc);
                }
            }
        }
        out
    };
    if dh == sh {
        return horizontal;
    }
    let k = coefficients(sh, dh);
    let mut out = vec![0_u8; dw * dh * channels];
    for (y, (ymin, w)) in k.iter().enumerate() {
        for x in 0..dw {
            for c in 0..channels {
                let mut acc = half;
                for (i, wi) in w.iter().enumerate() {
                    acc += i64::from(horizontal[((ymin + i) * dw + x) * channels + c]) * wi;
                }
                out[(y * dw + x) * channels + c] = clip8(acc);
            }
        }
    }
    out
}

/// OpenCV's `cvtColor(…, COLOR_RGB2GRAY)` of 8-bit pixels: BT.601 weights in 14-bit fixed
/// point (4899, 9617, 1868), rounded.
pub(crate) fn cv_grey(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 4899 + u32::from(g) * 9617 + u32::from(b) * 1868 + (1 << 13)) >> 14) as u8
}

/// The script's gradient map of an 8-bit grey image of `W`×`H` (see the module doc).
pub(crate) fn script_gradient(grey: &[u8]) -> Vec<f32> {
    // OpenCV's default border, BORDER_REFLECT_101: -1 → 1, n → n-2.
    let reflect = |i: i64, n: i64| -> usize {
        let i = if i < 0 { -i } else { i };
        (if i >= n { 2 * (n - 1) - i } else { i }) as usize
    };
    let at = |x: i64, y: i64| i32::from(grey[reflect(y, H as i64) * W + reflect(x, W as i64)]);
    let mut raw = vec![0.0_f64; W * H];
    for y in 0..H as i64 {
        for x in 0..W as i64 {
            let gx = at(x + 1, y - 1) + 2 * at(x + 1, y) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2 * at(x - 1, y)
                - at(x - 1, y + 1);
            let gy = at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2 * at(x, y - 1)
                - at(x + 1, y - 1);
            let (gx, gy) = (gx.clamp(0, 255) as u8, gy.clamp(0, 255) as u8);
            let sum = gx.wrapping_mul(gx).wrapping_add(gy.wrapping_mul(gy));
            raw[y as usize * W + x as usize] = (f64::from(sum) / 2.0).sqrt();
        }
    }
    let max = raw.iter().copied().fold(0.0, f64::max);
    raw.iter()
        .map(|v| {
            if max == 0.0 {
                0.0
            } else {
                ((v / max * 255.0).floor() / 255.0) as f32
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(l: f32, t: f32, r: f32, b: f32) -> Element {
        Element {
            class: Class::Text,
            ltrb: [l, t, r, b],
        }
    }

    fn maps(sal: impl Fn(usize, usize) -> f32, grad: impl Fn(usize, usize) -> f32) -> Maps {
        let mut saliency = vec![0.0; W * H];
        let mut gradient = vec![0.0; W * H];
        for y in 0..H {
            for x in 0..W {
                saliency[y * W + x] = sal(x, y);
                gradient[y * W + x] = grad(x, y);
            }
        }
        Maps { saliency, gradient }
    }

    /// Hand-computed: two 100×100 boxes overlapping by 50×100 have IoU 5000/15000 = 1/3, and
    /// Ove divides the pair sum by the element count, 2: 1/6. The left half of the canvas
    /// salient (1.0), the right not: a box wholly on the left has Occ 1, half on each side
    /// 0.5. Gradient 0.25 everywhere: Rea 0.25 less what an underlay covers.
    #[test]
    fn metrics_reproduce_hand_computed_values() {
        let m = maps(|x, _| if x < 256 { 1.0 } else { 0.0 }, |_, _| 0.25);
        let s = score(&[(
            vec![text(0.0, 0.0, 100.0, 100.0), text(50.0, 0.0, 150.0, 100.0)],
            &m,
        )]);
        assert!((s.ove - 1.0 / 6.0).abs() < 1e-6, "{s:?}");
        assert!((s.occ - 1.0).abs() < 1e-6, "{s:?}");
        assert!((s.rea - 0.25).abs() < 1e-6, "{s:?}");
        assert_eq!(s.val, 1.0);
        // Left edges 0 and 50 of 513, tops equal: the smallest gap is 0 on top, so Ali = 0.
        assert_eq!(s.ali, 0.0);
        // Uti: the union 150×100 covers (1-s) only right of x=256: nothing.
        assert_eq!(s.uti, 0.0);

        let s = score(&[(vec![text(206.0, 10.0, 306.0, 110.0)], &m)]);
        assert!((s.occ - 0.5).abs() < 1e-6, "{s:?}");
        // Uti: 50×100 free pixels covered of 257×750 free.
        assert!((s.uti - 5000.0 / (257.0 * 750.0)).abs() < 1e-6, "{s:?}");
        assert_eq!(s.ali, 0.0, "a single element is not scored");

        // Two boxes with no shared coordinate: the smallest gaps are 100/513 on the left,
        // and on top 300/750 etc.; min over the six of −log10(1 − gap), times n = 2.
        let s = score(&[(
            vec![
                text(0.0, 0.0, 100.0, 50.0),
                text(100.0, 300.0, 250.0, 400.0),
            ],
            &m,
        )]);
        let gaps = [
            100.0 / 513.0,
            300.0 / 750.0,
            (175.0 - 50.0) / 513.0,
            (350.0 - 25.0) / 750.0,
            150.0 / 513.0,
            350.0 / 750.0,
        ];
        let want = 2.0
            * gaps
                .iter()
                .map(|g| -(1.0_f64 - g).log10())
                .fold(f64::MAX, f64::min);
        assert!((f64::from(s.ali) - want).abs() < 1e-5, "{s:?} {want}");

        // An underlay over the top half of a text box: Und_l is the half of the text inside
        // it, Und_s 0; Rea keeps only the uncovered half.
        let under = Element {
            class: Class::Underlay,
            ltrb: [0.0, 0.0, 513.0, 50.0],
        };
        let s = score(&[(vec![text(0.0, 0.0, 100.0, 100.0), under], &m)]);
        assert_eq!(
            (s.und_l, s.und_s),
            (0.5, 0.0),
            "the text sticks out below: not contained"
        );
        assert!((s.rea - 0.25).abs() < 1e-6);
        let s = score(&[(vec![text(10.0, 10.0, 100.0, 40.0), under], &m)]);
        assert_eq!((s.und_l, s.und_s), (1.0, 1.0));
        assert_eq!(s.rea, 0.0, "text wholly on an underlay has no Rea");
        // Tiny boxes are invalid: Val counts them, the rest ignore them.
        let s = score(&[(
            vec![text(0.0, 0.0, 10.0, 10.0), text(0.0, 0.0, 100.0, 100.0)],
            &m,
        )]);
        assert_eq!(s.val, 0.5);
        assert_eq!(s.ove, 0.0);
    }

    /// The script resizes the canvas with Pillow (`Image.resize`, bicubic by default) before
    /// OpenCV makes it grey. A 7×5 RGB canvas resized to 4×9 (narrower: the filter widens;
    /// taller: it interpolates) and made grey: the expected bytes are what Pillow 9.5 and
    /// OpenCV 4 give for the same pixels (`Image.fromarray(a, "RGB").resize((4, 9))`, then
    /// `cv2.cvtColor(…, cv2.COLOR_RGB2GRAY)`), run once to write this test.
    #[test]
    fn the_canvas_is_resized_and_greyed_as_pillow_and_opencv_do() {
        let (w, h) = (7, 5);
        let mut src = Vec::new();
        for y in 0..h {
            for x in 0..w {
                src.extend([
                    ((x * 37 + y * 11) % 256) as u8,
                    ((x * 5 + y * 53) % 256) as u8,
                    ((x * x * 13 + y * 7) % 256) as u8,
                ]);
            }
        }
        let resized = pil_resize(&src, (w, h), 3, (4, 9));
        let pillow: [u8; 108] = [
            14, 0, 2, 76, 6, 62, 144, 16, 157, 206, 24, 149, 18, 15, 5, 80, 23, 65, 148, 33, 160,
            210, 41, 152, 25, 49, 9, 87, 57, 69, 155, 67, 164, 217, 75, 156, 31, 79, 13, 93, 87,
            73, 161, 97, 168, 223, 105, 160, 37, 108, 17, 99, 116, 77, 167, 126, 172, 229, 134,
            164, 43, 137, 21, 105, 145, 81, 172, 155, 176, 245, 163, 168, 49, 167, 25, 111, 175,
            85, 180, 185, 180, 230, 193, 172, 56, 201, 29, 118, 209, 89, 194, 219, 184, 146, 227,
            176, 60, 218, 32, 122, 226, 92, 201, 236, 187, 99, 244, 179,
        ];
        assert_eq!(resized, pillow);
        let grey: Vec<u8> = resized
            .chunks_exact(3)
            .map(|p| cv_grey(p[0], p[1], p[2]))
            .collect();
        let opencv: [u8; 36] = [
            4, 33, 70, 93, 15, 45, 82, 104, 37, 67, 104, 127, 57, 87, 124, 147, 76, 106, 144, 166,
            96, 126, 162, 188, 116, 146, 183, 202, 138, 168, 208, 197, 150, 180, 220, 193,
        ];
        assert_eq!(grey, opencv);
        // A size that does not change is left as it is.
        assert_eq!(pil_resize(&src, (w, h), 3, (w, h)), src);
    }

    #[test]
    fn the_script_gradient_wraps_like_numpy_uint8() {
        // A vertical step from 0 to 10: gx = 40 at the edge (4 × 10), 40² = 1600 ≡ 64 (mod 256),
        // sqrt(64 / 2) = 5.66 is the maximum, so the edge reads 1.0 and flat areas 0.
        let grey: Vec<u8> = (0..W * H)
            .map(|k| if k % W < 200 { 0 } else { 10 })
            .collect();
        let g = script_gradient(&grey);
        assert_eq!(g[10 * W + 199], 1.0);
        assert_eq!(g[10 * W + 200], 1.0);
        assert_eq!(g[10 * W + 100], 0.0);
        // A falling step has negative gx, clipped to 0 by the 8-bit Sobel: no gradient.
        let grey: Vec<u8> = (0..W * H)
            .map(|k| if k % W < 200 { 10 } else { 0 })
            .collect();
        assert!(script_gradient(&grey).iter().all(|v| *v == 0.0));
    }
}
