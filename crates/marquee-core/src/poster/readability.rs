//! The readability report of #27: PosterLayout's metrics (`metrics`) and the WCAG contrast
//! pass rate (`contrast`) of the same posters set before (each look's fixed zones and the
//! treatment of the time) and after (zones chosen from the art, contrast guaranteed), on a
//! fixed corpus: public-domain photographs (`assets/corpus`), the offline generator's art in
//! every style at three aspects (drawn by the caller: `poster` does not know `model`), and stand-in art (the Bedrock stand-in's two-axis gradient)
//! with a bright subject placed off-centre. Also draws the contact sheet
//! (`docs/readability-sheet.png`). Run by `cargo run --release --example readability`.

use std::path::Path;
use std::time::Instant;

use tiny_skia::{Color, Paint, Pixmap, PixmapPaint, Rect as SkRect, Transform};

use super::contrast;
use super::draw;
use super::layout::{Layout, Prepared, Role};
use super::metrics::{self, Class, Element, Maps, Scores};
use super::placement::{self, Zones};
use super::saliency::{self, Analysis};
use super::{PosterError, PosterText, Typography, encode_png};
use crate::genre::{Rgb, Style};

/// The photographs, by file name under the corpus directory.
pub const PHOTOS: [&str; 6] = [
    "astronaut",
    "coffee",
    "chelsea",
    "camera",
    "rocket",
    "hubble",
];

struct Canvas {
    name: String,
    art: Pixmap,
    style: Style,
}

fn words(style: Style) -> PosterText {
    PosterText {
        title: Some(format!("The Last {}", style.name_title())),
        tagline: Some("Some doors should stay closed.".into()),
        credits: Some(
            "directed by Ada Lovelace starring Grace Hopper and Alan Turing music by Clara Schumann"
                .into(),
        ),
    }
}

impl Style {
    fn name_title(self) -> &'static str {
        match self {
            Style::Thriller => "Witness",
            Style::Noir => "Alibi",
            Style::SciFi => "Orbit",
            Style::Horror => "Visitor",
            Style::Western => "Frontier",
            Style::Romance => "Summer",
            Style::Fantasy => "Kingdom",
            Style::Animation => "Lantern",
            Style::Documentary => "Glacier",
            Style::Comedy => "Wedding",
        }
    }
}

/// The Bedrock stand-in's art (tests/it/support/bedrock.rs `gradient_png`) with a bright
/// disc — the subject — centred at (`cx`, `cy`) as shares of the sheet.
fn stand_in(width: u32, height: u32, variant: u8, cx: f32, cy: f32) -> Option<Pixmap> {
    let (w, h) = (width as usize, height as usize);
    let tint = variant.wrapping_mul(37);
    let mut p = Pixmap::new(width, height)?;
    for (k, px) in p.pixels_mut().iter_mut().enumerate() {
        let (x, y) = (k % w, k / w);
        let r = (x * 255 / w) as u8 ^ tint;
        let g = (y * 255 / h) as u8;
        let b = tint.wrapping_add((x / 64) as u8 * 8);
        *px = tiny_skia::ColorU8::from_rgba(r / 3, g / 3, b / 3, 255).premultiply();
    }
    let mut paint = Paint::default();
    paint.set_color_rgba8(255, 236, 200, 255);
    paint.anti_alias = true;
    let radius = width.min(height) as f32 * 0.16;
    let path = tiny_skia::PathBuilder::from_circle(cx * width as f32, cy * height as f32, radius)?;
    p.fill_path(
        &path,
        &paint,
        tiny_skia::FillRule::Winding,
        Transform::identity(),
        None,
    );
    Some(p)
}

fn corpus(dir: &Path, offline: Vec<(String, Pixmap, Style)>) -> Vec<Canvas> {
    let mut out = Vec::new();
    for (i, name) in PHOTOS.iter().enumerate() {
        let Ok(art) = Pixmap::load_png(dir.join(format!("{name}.png"))) else {
            continue;
        };
        for k in 0..2 {
            let style = Style::ALL[(i * 2 + k) % Style::ALL.len()];
            out.push(Canvas {
                name: format!("photo {name} / {style}"),
                art: art.clone(),
                style,
            });
        }
    }
    for (name, art, style) in offline {
        out.push(Canvas {
            name: format!("offline {style} {name}"),
            art,
            style,
        });
    }
    let spots = [(0.3, 0.25), (0.7, 0.2), (0.25, 0.72), (0.72, 0.55)];
    for (i, (cx, cy)) in spots.into_iter().enumerate() {
        if let Some(art) = stand_in(512, 768, i as u8, cx, cy) {
            let style = Style::ALL[(i * 3) % Style::ALL.len()];
            out.push(Canvas {
                name: format!("stand-in subject at ({cx}, {cy}) / {style}"),
                art,
                style,
            });
        }
    }
    out
}

/// One set poster: its layout, treatments and measured lines.
struct Set {
    poster: Pixmap,
    layout: Layout,
    plans: Vec<draw::Plan>,
    measured: Vec<contrast::Measured>,
}

/// Composes as Marquee did before #27 (the look's fixed zones, the treatment estimated from
/// the art's mean and never measured): the reference for the report and the speed bench.
pub fn compose_before(art: &mut Pixmap, text: &PosterText, typography: Typography) {
    let prepared = Prepared::new(art.width(), art.height(), text, typography);
    let layout = prepared.place(prepared.own());
    let look = typography.resolved_look();
    let plans = draw::plan_before(art, &layout, &look);
    draw::render(art, &layout, &look, &plans);
}

fn set_before(art: &Pixmap, text: &PosterText, typography: Typography) -> Set {
    let mut poster = art.clone();
    let prepared = Prepared::new(art.width(), art.height(), text, typography);
    let layout = prepared.place(prepared.own());
    let look = typography.resolved_look();
    let plans = draw::plan_before(&poster, &layout, &look);
    draw::render(&mut poster, &layout, &look, &plans);
    let measured = contrast::measure(&poster, &layout);
    Set {
        poster,
        layout,
        plans,
        measured,
    }
}

fn set_after(art: &Pixmap, text: &PosterText, typography: Typography) -> Set {
    let mut poster = art.clone();
    let c = placement::set(&mut poster, text, typography, Zones::Choose);
    Set {
        poster,
        layout: c.layout,
        plans: c.plans,
        measured: c.measured,
    }
}

/// The canvas's maps at PosterLayout's 513×750: the gradient of the art (the canvas without
/// type, as the script's `image_canvas`) resized as the script resizes it (RGB, Pillow's
/// bicubic) and made grey as OpenCV does; the saliency of `saliency::metric_map`.
fn maps(art: &Pixmap) -> Maps {
    let (aw, ah) = (art.width() as usize, art.height() as usize);
    let rgb: Vec<u8> = art
        .pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue()]
        })
        .collect();
    let resized = metrics::pil_resize(&rgb, (aw, ah), 3, (metrics::W, metrics::H));
    let grey: Vec<u8> = resized
        .chunks_exact(3)
        .map(|p| metrics::cv_grey(p[0], p[1], p[2]))
        .collect();
    let map = saliency::metric_map(art);
    let mut sal = vec![0.0_f32; metrics::W * metrics::H];
    for y in 0..metrics::H {
        for x in 0..metrics::W {
            let fx = (x as f32 + 0.5) / metrics::W as f32;
            let fy = (y as f32 + 0.5) / metrics::H as f32;
            sal[y * metrics::W + x] = map.sample(fx, fy);
        }
    }
    Maps {
        saliency: sal,
        gradient: metrics::script_gradient(&grey),
    }
}

/// The layout's elements in PosterLayout's canvas: one text element per block, and (when
/// `underlays`) each scrim's full-strength band as an underlay.
fn elements(set: &Set, width: u32, height: u32, underlays: bool) -> Vec<Element> {
    let sx = metrics::W as f32 / width as f32;
    let sy = metrics::H as f32 / height as f32;
    let mut out = text_elements(&set.layout, width, height);
    if underlays {
        for p in set.plans.iter().filter(|p| p.alpha > 0.02) {
            let (x0, x1) = p.band(width as f32);
            out.push(Element {
                class: Class::Underlay,
                ltrb: [x0 * sx, p.rect.y * sy, x1 * sx, p.rect.bottom() * sy],
            });
        }
    }
    out
}

/// One text element per block of `layout`, in PosterLayout's canvas.
fn text_elements(layout: &Layout, width: u32, height: u32) -> Vec<Element> {
    let sx = metrics::W as f32 / width as f32;
    let sy = metrics::H as f32 / height as f32;
    [Role::Title, Role::Tagline, Role::Credits]
        .into_iter()
        .filter_map(|role| layout.block(role))
        .map(|r| Element {
            class: Class::Text,
            ltrb: [r.x * sx, r.y * sy, r.right() * sx, r.bottom() * sy],
        })
        .collect()
}

/// The smallest mean of `map` (513×750) under a box of `w`×`h` metric pixels anywhere on the
/// canvas (every integer position), by a summed-area table.
fn best_window(map: &[f32], w: usize, h: usize) -> f64 {
    let (mw, mh) = (metrics::W, metrics::H);
    let (w, h) = (w.clamp(1, mw), h.clamp(1, mh));
    let mut sat = vec![0.0_f64; (mw + 1) * (mh + 1)];
    for y in 0..mh {
        let mut row = 0.0;
        for x in 0..mw {
            row += f64::from(map[y * mw + x]);
            sat[(y + 1) * (mw + 1) + x + 1] = sat[y * (mw + 1) + x + 1] + row;
        }
    }
    let at = |x: usize, y: usize| sat[y * (mw + 1) + x];
    let mut best = f64::MAX;
    for y in 0..=mh - h {
        for x in 0..=mw - w {
            let sum = at(x + w, y + h) - at(x, y + h) - at(x + w, y) + at(x, y);
            best = best.min(sum);
        }
    }
    best / (w * h) as f64
}

/// How low Occ and Rea can go on one canvas's maps: the lowest each reaches over every
/// arrangement the look allows (an oracle choosing by the metric itself); the mean of the
/// lowest-valued pixels of the map over as many pixels as the chosen layout's text covers —
/// a bound no placement of that much text can beat, whatever its shape; and each block of
/// the chosen layout, at its size, put wherever on the canvas its box's mean is lowest, on
/// its own (blocks never overlap, so the union's mean is the area-weighted mean of the
/// blocks' means, and no placement of these blocks can beat that).
fn bounds(
    art: &Pixmap,
    text: &PosterText,
    typography: Typography,
    chosen: &Layout,
    maps: &Maps,
) -> [f32; 6] {
    let (w, h) = (art.width(), art.height());
    let prepared = Prepared::new(w, h, text, typography);
    let (mut occ, mut rea) = (f32::MAX, f32::MAX);
    for a in prepared.candidates(typography) {
        let s = metrics::score(&[(text_elements(&prepared.place(a), w, h), maps)]);
        occ = occ.min(s.occ);
        rea = rea.min(s.rea);
    }
    let mut covered = vec![false; metrics::W * metrics::H];
    for e in text_elements(chosen, w, h) {
        let [l, t, r, b] = e.ltrb.map(|v| v.trunc().max(0.0) as usize);
        for y in t.min(metrics::H)..b.min(metrics::H) {
            for c in
                &mut covered[y * metrics::W + l.min(metrics::W)..y * metrics::W + r.min(metrics::W)]
            {
                *c = true;
            }
        }
    }
    let area = covered.iter().filter(|c| **c).count();
    let lowest = |v: &[f32]| -> f32 {
        if area == 0 {
            return 0.0;
        }
        let mut v = v.to_vec();
        v.select_nth_unstable_by(area - 1, f32::total_cmp);
        v[..area].iter().map(|x| f64::from(*x)).sum::<f64>() as f32 / area as f32
    };
    let (mut area_sum, mut occ_any, mut rea_any) = (0.0_f64, 0.0_f64, 0.0_f64);
    for e in text_elements(chosen, w, h) {
        let [l, t, r, b] = e.ltrb.map(|v| v.trunc().max(0.0) as usize);
        let (bw, bh) = (r.saturating_sub(l), b.saturating_sub(t));
        let a = (bw * bh) as f64;
        if a == 0.0 {
            continue;
        }
        area_sum += a;
        occ_any += a * best_window(&maps.saliency, bw, bh);
        rea_any += a * best_window(&maps.gradient, bw, bh);
    }
    let any = |v: f64| (v / area_sum.max(1.0)) as f32;
    [
        occ,
        rea,
        lowest(&maps.saliency),
        lowest(&maps.gradient),
        any(occ_any),
        any(rea_any),
    ]
}

fn row(name: &str, s: &Scores, pass: (usize, usize)) -> String {
    format!(
        "| {name} | {:.3} | {:.4} | {:.4} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} % ({}/{}) |",
        s.val,
        s.ove,
        s.ali,
        s.und_l,
        s.und_s,
        s.uti,
        s.occ,
        s.rea,
        100.0 * pass.0 as f32 / pass.1.max(1) as f32,
        pass.0,
        pass.1
    )
}

/// Marks the saliency map's hot spots (saliency ≥ 0.5) on `p` with a red outline.
fn outline_hot_spots(p: &mut Pixmap, analysis: &Analysis) {
    let (w, h) = (p.width() as usize, p.height() as usize);
    let hot = |x: usize, y: usize| {
        analysis
            .saliency
            .sample((x as f32 + 0.5) / w as f32, (y as f32 + 0.5) / h as f32)
            >= 0.5
    };
    let mut edge = vec![false; w * h];
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let c = hot(x, y);
            if c != hot(x + 1, y) || c != hot(x, y + 1) {
                edge[y * w + x] = true;
            }
        }
    }
    let red = tiny_skia::ColorU8::from_rgba(255, 40, 40, 255).premultiply();
    let px = p.pixels_mut();
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            if edge[y * w + x] {
                px[y * w + x] = red;
                px[y * w + x + 1] = red;
                px[(y + 1) * w + x] = red;
            }
        }
    }
}

/// The header of [`speed`]'s table.
pub const SPEED_HEADER: &str = "| look | before | after | added (paired) | analysis | fitting | choosing | measuring | copying the art | rounds |\n|---|---|---|---|---|---|---|---|---|---|";

/// Times compose on 1024×1536 offline art, before (`compose_before`) and after (`compose`),
/// round robin on the same art, `runs` times per style: medians of each and of the paired
/// difference, in milliseconds; then the parts of the added work alone (the analysis, fitting
/// the blocks, scoring every arrangement, one measuring of every line, one copy of the art).
pub fn speed(arts: &[(Style, Pixmap)], runs: usize) -> String {
    let mut out = String::new();
    let text = words(Style::Thriller);
    for (style, art) in arts {
        let style = *style;
        let typography = Typography::of(style);
        let (mut before, mut after, mut added) = (Vec::new(), Vec::new(), Vec::new());
        let mut analysis = Vec::new();
        let (mut fitting, mut choosing, mut measuring, mut cloning) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut rounds = 0;
        for _ in 0..runs {
            let mut a = art.clone();
            let t = Instant::now();
            compose_before(&mut a, &text, typography);
            let b = t.elapsed().as_secs_f64() * 1e3;
            let mut a = art.clone();
            let t = Instant::now();
            let c = super::compose(&mut a, &text, typography);
            let e = t.elapsed().as_secs_f64() * 1e3;
            rounds = rounds.max(c.rounds());
            let t = Instant::now();
            let an = std::hint::black_box(saliency::analyze(art));
            analysis.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let prepared = Prepared::new(art.width(), art.height(), &text, typography);
            fitting.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let (_, layout) = placement::choose(&an, &prepared, typography);
            choosing.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            std::hint::black_box(contrast::measure(&a, &layout));
            measuring.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            std::hint::black_box(art.clone());
            cloning.push(t.elapsed().as_secs_f64() * 1e3);
            before.push(b);
            after.push(e);
            added.push(e - b);
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        out.push_str(&format!(
            "| {style} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.2} ms | {:.2} ms | {:.1} ms | {:.1} ms | {rounds} |\n",
            median(&mut before),
            median(&mut after),
            median(&mut added),
            median(&mut analysis),
            median(&mut fitting),
            median(&mut choosing),
            median(&mut measuring),
            median(&mut cloning)
        ));
    }
    out
}

/// Runs the report over the corpus in `corpus_dir`, writes the contact sheet to `sheet`, and
/// returns the Markdown table.
pub fn run(
    corpus_dir: &Path,
    offline: Vec<(String, Pixmap, Style)>,
    sheet: &Path,
) -> Result<String, PosterError> {
    let canvases = corpus(corpus_dir, offline);
    let mut groups: Vec<(&str, Vec<usize>)> = vec![
        ("photographs", vec![]),
        ("offline art", vec![]),
        ("stand-in, subject off-centre", vec![]),
    ];
    for (i, c) in canvases.iter().enumerate() {
        let g = if c.name.starts_with("photo") {
            0
        } else if c.name.starts_with("offline") {
            1
        } else {
            2
        };
        groups[g].1.push(i);
    }
    let mut results = Vec::new();
    let (mut moved, mut sided) = (0, 0);
    let started = Instant::now();
    for c in &canvases {
        let typography = Typography::of(c.style);
        let text = words(c.style);
        let analysis = saliency::analyze(&c.art);
        let before = set_before(&c.art, &text, typography);
        let after = set_after(&c.art, &text, typography);
        if before.layout != after.layout {
            moved += 1;
        }
        if after.layout.side.is_some() {
            sided += 1;
        }
        results.push((maps(&c.art), analysis, before, after));
    }
    let elapsed = started.elapsed();
    let mut out = String::new();
    out.push_str(&format!(
        "{} canvases ({} set elsewhere than their look's own zones after, {} with a side-set \
         title), {:.1} s\n\n",
        canvases.len(),
        moved,
        sided,
        elapsed.as_secs_f64()
    ));
    for underlays in [false, true] {
        out.push_str(if underlays {
            "\nScrims counted as underlays (class 3), as PosterLayout counts decorations:\n\n"
        } else {
            "Text elements only (one per block):\n\n"
        });
        out.push_str("| corpus | Val ↑ | Ove ↓ | Ali ↓ | Und_l ↑ | Und_s ↑ | Uti ↑ | Occ ↓ | Rea ↓ | lines at WCAG floor |\n|---|---|---|---|---|---|---|---|---|---|\n");
        let mut all: Vec<usize> = Vec::new();
        let lines = |label: &str, idx: &[usize], after: bool, out: &mut String| {
            let layouts: Vec<(Vec<Element>, &Maps)> = idx
                .iter()
                .map(|&i| {
                    let (m, _, b, a) = &results[i];
                    let set = if after { a } else { b };
                    let art = &canvases[i].art;
                    (elements(set, art.width(), art.height(), underlays), m)
                })
                .collect();
            let s = metrics::score(&layouts);
            let (mut pass, mut total) = (0, 0);
            for &i in idx {
                let (_, _, b, a) = &results[i];
                let set = if after { a } else { b };
                total += set.measured.len();
                pass += set.measured.iter().filter(|m| m.passes()).count();
            }
            out.push_str(&row(label, &s, (pass, total)));
            out.push('\n');
        };
        for (name, idx) in &groups {
            all.extend(idx);
            lines(&format!("{name}, before"), idx, false, &mut out);
            lines(&format!("{name}, after"), idx, true, &mut out);
        }
        lines("all, before", &all, false, &mut out);
        lines("all, after", &all, true, &mut out);
    }
    out.push_str(
        "\nHow low Occ and Rea can go on these maps (text elements only): the chosen layout; the \
         lowest over every arrangement the look allows (chosen by the metric itself); each \
         block at its size wherever on the canvas its box's mean is lowest, on its own (no \
         placement of these blocks can go lower); the mean of the map's lowest pixels over the \
         chosen layout's text area (no placement of that much text, whatever its shape, can go \
         lower):\n\n| corpus | Occ after | Occ, best arrangement | Occ, each block at its best \
         | Occ, lowest pixels | Rea after | Rea, best arrangement | Rea, each block at its best \
         | Rea, lowest pixels |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut every: Vec<usize> = Vec::new();
    let mut bound_rows = groups.clone();
    for (_, idx) in &groups {
        every.extend(idx);
    }
    bound_rows.push(("all", every));
    for (name, idx) in &bound_rows {
        let (mut sum, mut n) = ([0.0_f32; 8], 0.0_f32);
        for &i in idx {
            let (m, _, _, a) = &results[i];
            let c = &canvases[i];
            let s = metrics::score(&[(text_elements(&a.layout, c.art.width(), c.art.height()), m)]);
            let b = bounds(
                &c.art,
                &words(c.style),
                Typography::of(c.style),
                &a.layout,
                m,
            );
            for (k, v) in [s.occ, b[0], b[4], b[2], s.rea, b[1], b[5], b[3]]
                .into_iter()
                .enumerate()
            {
                sum[k] += v;
            }
            n += 1.0;
        }
        let m = sum.map(|v| v / n.max(1.0));
        out.push_str(&format!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
            m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]
        ));
    }
    // The contact sheet: each canvas's before and after side by side, hot spots outlined.
    const CELL_W: u32 = 160;
    const CELL_H: u32 = 240;
    const PAIRS_PER_ROW: u32 = 4;
    const PAD: u32 = 8;
    let n = canvases.len() as u32;
    let rows = n.div_ceil(PAIRS_PER_ROW);
    let sw = PAIRS_PER_ROW * (2 * CELL_W + 3 * PAD);
    let sh = rows * (CELL_H + 2 * PAD);
    let mut sheet_px = Pixmap::new(sw, sh).ok_or(PosterError::Size {
        width: sw,
        height: sh,
    })?;
    sheet_px.fill(Color::from_rgba8(24, 24, 28, 255));
    for (i, (_, analysis, b, a)) in results.iter().enumerate() {
        let (col, r) = (i as u32 % PAIRS_PER_ROW, i as u32 / PAIRS_PER_ROW);
        for (k, set) in [b, a].into_iter().enumerate() {
            let mut poster = set.poster.clone();
            outline_hot_spots(&mut poster, analysis);
            let scale =
                (CELL_W as f32 / poster.width() as f32).min(CELL_H as f32 / poster.height() as f32);
            let x = col * (2 * CELL_W + 3 * PAD) + PAD + k as u32 * (CELL_W + PAD);
            let y = r * (CELL_H + 2 * PAD) + PAD;
            let t = Transform::from_row(scale, 0.0, 0.0, scale, x as f32, y as f32);
            sheet_px.draw_pixmap(
                0,
                0,
                poster.as_ref(),
                &PixmapPaint {
                    quality: tiny_skia::FilterQuality::Bicubic,
                    ..PixmapPaint::default()
                },
                t,
                None,
            );
            // A bar under the "after" poster: green when every line reaches its floor.
            if k == 1 {
                let ok = set.measured.iter().all(|m| m.passes());
                let mut paint = Paint::default();
                let c = if ok {
                    Rgb(60, 200, 90)
                } else {
                    Rgb(230, 60, 40)
                };
                paint.set_color(c.color(1.0));
                if let Some(rect) =
                    SkRect::from_xywh(x as f32, (y + CELL_H + 2) as f32, CELL_W as f32, 3.0)
                {
                    sheet_px.fill_rect(rect, &paint, Transform::identity(), None);
                }
            }
        }
    }
    let png = encode_png(&sheet_px)?;
    std::fs::write(sheet, png).map_err(PosterError::Pdf)?;
    out.push_str("\nCanvases in sheet order (left to right, top to bottom; each pair is before | after):\n\n");
    for (i, c) in canvases.iter().enumerate() {
        out.push_str(&format!("{}. {}\n", i + 1, c.name));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The best window is found wherever it is: a map of ones with a 50×50 hole of zeros at
    /// (300, 600) has a 50×50 window of mean 0 and a 100×50 window of mean ½ (half on the
    /// hole), and no smaller mean for a box that size.
    #[test]
    fn each_block_is_put_where_the_map_is_lowest() {
        let mut map = vec![1.0_f32; metrics::W * metrics::H];
        for y in 600..650 {
            for x in 300..350 {
                map[y * metrics::W + x] = 0.0;
            }
        }
        assert_eq!(best_window(&map, 50, 50), 0.0);
        assert!((best_window(&map, 100, 50) - 0.5).abs() < 1e-9);
        assert!((best_window(&map, 50, 100) - 0.5).abs() < 1e-9);
        // A box as large as the canvas has the canvas's mean.
        let all = 1.0 - 2500.0 / (metrics::W * metrics::H) as f64;
        assert!((best_window(&map, metrics::W, metrics::H) - all).abs() < 1e-9);
    }
}
