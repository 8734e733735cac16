//! Choosing where the words go, and treating them until they read.
//!
//! A poster designer handed a photograph they did not take looks at it first. [`set`] does the
//! same: it analyses the art (`saliency`), lays the blocks out in each arrangement the look
//! allows (`layout::Prepared`), and scores each by what the text would cover — the mean
//! saliency, gradient and skin (a face: `saliency`'s skin map) under each block's box, as
//! PosterLayout's Occ and Rea measure an element, and how strong a scrim its blocks would need
//! to reach their contrast floors and how much saliency that scrim would darken — less the
//! share of the art's empty room the words use (Uti: the same words set larger where the art
//! is empty), plus a small price for leaving the look's own arrangement and for side-setting
//! the title, so art that gives no reason (a flat field) keeps the look's character.
//! Side-set candidates (`layout::zones`) let the type dodge a subject that fills the middle of
//! the sheet, on its emptier side. The lowest score wins; ties go to the earlier candidate,
//! the look's own first, so the choice is a pure function of the art, the words and the
//! typography.
//!
//! Then contrast is made a guarantee (`contrast`): the blocks are drawn with the scrims
//! `draw::plan` estimates, every line is measured on the finished pixels, and a block whose
//! line falls short has its scrim raised a step, and at the strongest scrim its colour shifted
//! to the look's palette colour that reads best there. The poster says nothing about it.

use tiny_skia::Pixmap;

use super::contrast::{self, Measured};
use super::draw::{self, MAX_SCRIM, Plan};
#[cfg(test)]
use super::layout::Align;
use super::layout::{Arrangement, Frame, Layout, Prepared, Role};
use super::saliency::{self, Analysis};
use super::style::Look;
use super::{PosterText, Typography};

/// Weight of the mean saliency under the text (PosterLayout's Occ).
const W_SALIENCY: f32 = 1.0;
/// Weight of the mean gradient under the text (PosterLayout's Rea).
const W_GRADIENT: f32 = 0.6;
/// Weight of the scrim the blocks would need, on average (0 to 1).
const W_SCRIM: f32 = 0.12;
/// Weight of the saliency a scrim would darken (its opacity times the mean saliency of its
/// band): a strong scrim over a face hides it as surely as letters do.
const W_SCRIM_SALIENCY: f32 = 0.6;
/// Weight of skin (a face, hands) under the text.
const W_SKIN: f32 = 2.0;
/// The price of moving the title out of the look's own band, and of moving the tagline.
const W_TITLE_MOVED: f32 = 0.05;
const W_TAGLINE_MOVED: f32 = 0.01;
/// The price of side-setting the title (off the look's axis).
const W_SIDE: f32 = 0.03;
/// Weight of the share of the art's empty room the text uses (PosterLayout's Uti): the same
/// words set larger where the art is empty read better, so a narrower block pays for the room
/// it gives up.
const W_ROOM: f32 = 1.0;
/// How much a block's scrim rises each time one of its lines misses its floor.
const SCRIM_STEP: f32 = 0.16;
/// Draw-and-measure rounds before giving up (each raises scrims or shifts colours).
const MAX_ROUNDS: usize = 6;

/// Whether the words go where the art leaves room, or exactly where the typography says (a
/// reviewer's explicit choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zones {
    Choose,
    Own,
}

/// What setting the words decided: the arrangement, each block's treatment and every line's
/// measured contrast.
#[derive(Debug, Clone)]
pub struct Composition {
    pub(crate) arrangement: Option<Arrangement>,
    pub(crate) layout: Layout,
    pub(crate) plans: Vec<Plan>,
    pub(crate) measured: Vec<Measured>,
    pub(crate) rounds: usize,
}

impl Composition {
    /// Lines measured under their WCAG floor on the finished poster (none, unless even the
    /// strongest scrim and every palette colour fell short).
    pub fn lines_below_floor(&self) -> usize {
        self.measured.iter().filter(|m| !m.passes()).count()
    }

    /// How many times the words were drawn and measured (1 when the first treatment read).
    pub fn rounds(&self) -> usize {
        self.rounds
    }

    /// The arrangement chosen, for the take's record.
    pub fn arrangement(&self) -> Option<Arrangement> {
        self.arrangement
    }

    /// The smallest glyph of the title, the tagline and the billing block, in pixels (`None`
    /// for a block the poster does not have).
    pub fn smallest_type(&self) -> [Option<f32>; 3] {
        [Role::Title, Role::Tagline, Role::Credits].map(|role| {
            self.layout
                .boxes
                .iter()
                .filter(|b| b.role == role)
                .flat_map(|b| b.glyphs.iter().map(|g| g.size))
                .reduce(f32::min)
        })
    }

    /// Every line's ink bounds as `[x, y, width, height]` in pixels, for checking where the
    /// type went (inside a format's safe area).
    pub fn line_boxes(&self) -> Vec<[f32; 4]> {
        self.layout
            .boxes
            .iter()
            .map(|b| [b.rect.x, b.rect.y, b.rect.w, b.rect.h])
            .collect()
    }
}

/// The score of `layout` on `analysis` (lower is better).
pub(crate) fn score(
    analysis: &Analysis,
    layout: &Layout,
    look: &Look,
    own: Arrangement,
    a: Arrangement,
) -> f32 {
    let (mut area, mut sal, mut grad, mut skin) = (0.0_f32, 0.0_f32, 0.0_f32, 0.0_f32);
    let mut room = 0.0_f32;
    // Over each block's whole box, the space between its lines included, as PosterLayout
    // measures an element.
    for r in [Role::Title, Role::Tagline, Role::Credits]
        .into_iter()
        .filter_map(|role| layout.block(role))
    {
        let u = analysis.under(r.x, r.y, r.w, r.h);
        let n = r.w * r.h;
        area += n;
        sal += u.saliency * n;
        grad += u.gradient * n;
        skin += u.skin * n;
        room += (1.0 - u.saliency) * n;
    }
    if area <= 0.0 {
        return 0.0;
    }
    let mut scrim = 0.0;
    let mut blocks = 0.0_f32;
    let mut hidden = 0.0_f32;
    for role in [Role::Title, Role::Tagline, Role::Credits] {
        let Some(r) = layout.block(role) else {
            continue;
        };
        let u = analysis.under(r.x, r.y, r.w, r.h);
        let text = draw::block_color(look, role).luminance();
        let dark = text > 0.08;
        let tail = if dark {
            (u.luminance + 1.28 * u.spread).min(1.0)
        } else {
            (u.luminance - 1.28 * u.spread).max(0.0)
        };
        let alpha = draw::scrim_alpha(text, tail, contrast::floor(role) * 1.1, dark).min(1.0);
        scrim += alpha;
        let side = layout.side_of(role).map(|(a, _)| a);
        let e = draw::scrim_extent(r, side, analysis.width as f32, analysis.height as f32);
        let band = analysis.under(e.x, e.y, e.w, e.h);
        hidden += alpha * W_SCRIM_SALIENCY * band.saliency;
        blocks += 1.0;
    }
    let moved = |yes: bool, w: f32| if yes { w } else { 0.0 };
    W_SALIENCY * sal / area
        + W_GRADIENT * grad / area
        + W_SKIN * skin / area
        + W_SCRIM * scrim / blocks.max(1.0)
        + hidden / blocks.max(1.0)
        + moved(a.title != own.title, W_TITLE_MOVED)
        + moved(a.tagline != own.tagline, W_TAGLINE_MOVED)
        + moved(layout.side.is_some(), W_SIDE)
        - W_ROOM * room / analysis.room()
}

/// The best arrangement of `prepared` on `analysis`, and its layout.
pub(crate) fn choose(
    analysis: &Analysis,
    prepared: &Prepared,
    typography: Typography,
) -> (Arrangement, Layout) {
    let look = typography.resolved_look();
    let own = prepared.own();
    let mut best: Option<(f32, Arrangement, Layout)> = None;
    for a in prepared.candidates(typography) {
        let layout = prepared.place(a);
        let s = score(analysis, &layout, &look, own, a);
        if best.as_ref().is_none_or(|(b, _, _)| s < *b) {
            best = Some((s, a, layout));
        }
    }
    match best {
        Some((_, a, l)) => (a, l),
        None => (own, prepared.place(own)),
    }
}

/// Lays out `text` for `art` (choosing the arrangement when `zones` says so), draws it, and
/// raises scrims or shifts colours until every line reaches its floor.
pub(crate) fn set(
    art: &mut Pixmap,
    text: &PosterText,
    typography: Typography,
    zones: Zones,
) -> Composition {
    let frame = Frame::sheet(art.width(), art.height());
    set_in(art, text, typography, zones, frame)
}

/// [`set`] inside `frame` (a format's safe area, type base and billing floor) rather than the
/// art's own.
pub(crate) fn set_in(
    art: &mut Pixmap,
    text: &PosterText,
    typography: Typography,
    zones: Zones,
    frame: Frame,
) -> Composition {
    let prepared = Prepared::framed(art.height(), frame, text, typography);
    let (arrangement, layout) = match zones {
        Zones::Choose => {
            let analysis = saliency::analyze(art);
            choose(&analysis, &prepared, typography)
        }
        Zones::Own => (prepared.own(), prepared.place(prepared.own())),
    };
    // A house ink is the workspace's wish, the floors are every reader's: where the treatments
    // cannot bring an inked line to its floor, the poster is set in the look's own colours.
    let untouched = typography.ink.map(|_| art.clone());
    let look = typography.resolved_look();
    let (mut plans, mut measured, mut rounds) = guarantee(art, &layout, &look);
    if let Some(untouched) = untouched
        && measured.iter().any(|m| !m.passes())
    {
        art.data_mut().copy_from_slice(untouched.data());
        let own = Typography {
            ink: None,
            ..typography
        }
        .resolved_look();
        (plans, measured, rounds) = guarantee(art, &layout, &own);
    }
    Composition {
        arrangement: Some(arrangement),
        layout,
        plans,
        measured,
        rounds,
    }
}

/// Draws `layout` over `art` until every line measures at its floor (or the treatments run
/// out), leaving the last drawing in `art`.
pub(crate) fn guarantee(
    art: &mut Pixmap,
    layout: &Layout,
    look: &Look,
) -> (Vec<Plan>, Vec<Measured>, usize) {
    let mut plans = draw::plan(art, layout, look);
    let original = art.clone();
    let palette = draw::palette_colors(look);
    let mut rounds = 0;
    loop {
        rounds += 1;
        if rounds > 1 {
            art.data_mut().copy_from_slice(original.data());
        }
        draw::render(art, layout, look, &plans);
        let measured = contrast::measure(art, layout);
        let failing: Vec<&Measured> = measured.iter().filter(|m| !m.passes()).collect();
        if failing.is_empty() || rounds >= MAX_ROUNDS {
            return (plans, measured, rounds);
        }
        let mut changed = false;
        for plan in &mut plans {
            let Some(worst) = failing
                .iter()
                .filter(|m| m.role == plan.role)
                .min_by(|a, b| a.ratio.total_cmp(&b.ratio))
            else {
                continue;
            };
            if plan.alpha < MAX_SCRIM {
                plan.alpha = (plan.alpha + SCRIM_STEP).min(MAX_SCRIM);
                changed = true;
            } else if !plan.strong_halo {
                plan.strong_halo = true;
                changed = true;
            } else if plan.color.is_none() {
                // The strongest scrim is not enough for the look's colour here: take the
                // palette colour that reads best against what surrounds the worst line.
                let bg = worst.background;
                let best = palette
                    .iter()
                    .copied()
                    .max_by(|a, b| {
                        contrast::ratio(a.luminance(), bg)
                            .total_cmp(&contrast::ratio(b.luminance(), bg))
                    })
                    .filter(|c| contrast::ratio(c.luminance(), bg) > worst.ratio);
                if let Some(c) = best {
                    plan.color = Some(c);
                    plan.dark = c.luminance() > 0.08;
                    changed = true;
                }
            }
        }
        if !changed {
            return (plans, measured, rounds);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genre::{Placement, Style};
    use tiny_skia::{Color, Paint, Rect as SkRect, Transform};

    fn words() -> PosterText {
        PosterText {
            title: Some("The Long Night".into()),
            tagline: Some("Nobody leaves the island.".into()),
            credits: Some("directed by Ada Lovelace starring Grace Hopper".into()),
        }
    }

    /// A dim field with a bright subject filling the band from `top` to `bottom` (shares of
    /// the height), across the middle three fifths of the width.
    fn subject_art(top: f32, bottom: f32) -> Pixmap {
        let (w, h) = (400.0, 600.0);
        let mut p = Pixmap::new(400, 600).expect("size");
        p.fill(Color::from_rgba8(40, 46, 60, 255));
        let mut paint = Paint::default();
        paint.set_color_rgba8(250, 214, 120, 255);
        let r = SkRect::from_xywh(w * 0.2, h * top, w * 0.6, h * (bottom - top)).expect("rect");
        p.fill_rect(r, &paint, Transform::identity(), None);
        p
    }

    fn title_of(c: &Composition) -> crate::poster::layout::Rect {
        c.layout.block(Role::Title).expect("a title")
    }

    #[test]
    fn a_bright_subject_in_the_top_third_sends_the_title_below_it() {
        for style in [Style::Noir, Style::Horror, Style::Comedy, Style::Western] {
            // Each of these looks puts its title at the top.
            assert_eq!(style.title_placement(), Placement::Top);
            let mut art = subject_art(0.04, 0.33);
            let c = set(&mut art, &words(), Typography::of(style), Zones::Choose);
            let t = title_of(&c);
            assert!(t.y >= 600.0 * 0.33, "{style}: title at {t:?}");
        }
    }

    #[test]
    fn mirrored_the_title_goes_above_it() {
        for style in [
            Style::Thriller,
            Style::SciFi,
            Style::Romance,
            Style::Documentary,
        ] {
            assert_eq!(style.title_placement(), Placement::Bottom);
            let mut art = subject_art(0.6, 0.96);
            let c = set(&mut art, &words(), Typography::of(style), Zones::Choose);
            let t = title_of(&c);
            assert!(t.bottom() <= 600.0 * 0.6, "{style}: title at {t:?}");
        }
    }

    /// A dim field with a bright figure standing from near the top to three quarters down,
    /// over the shares `left`..`right` of the width.
    fn figure_art(left: f32, right: f32) -> Pixmap {
        let (w, h) = (400.0, 600.0);
        let mut p = Pixmap::new(400, 600).expect("size");
        p.fill(Color::from_rgba8(40, 46, 60, 255));
        let mut paint = Paint::default();
        paint.set_color_rgba8(250, 214, 120, 255);
        let r = SkRect::from_xywh(w * left, h * 0.05, w * (right - left), h * 0.7).expect("rect");
        p.fill_rect(r, &paint, Transform::identity(), None);
        p
    }

    /// A figure over the left 38 % of the sheet, from top to three quarters down, leaves no band free: a
    /// look that allows side-set type sets its title flush right, in the emptier side, clear
    /// of the figure; mirrored, flush left; a look that keeps its title centred does.
    #[test]
    fn a_figure_on_one_side_sends_a_side_set_title_to_the_other() {
        for style in [Style::Thriller, Style::Noir, Style::SciFi, Style::Horror] {
            for (left, right, side) in [(0.0, 0.38, Align::Right), (0.62, 1.0, Align::Left)] {
                let mut art = figure_art(left, right);
                let c = set(&mut art, &words(), Typography::of(style), Zones::Choose);
                let a = c.arrangement.expect("chosen");
                assert_eq!(a.align, side, "{style}, figure at {left}..{right}: {a:?}");
                let t = title_of(&c);
                let clear = match side {
                    Align::Right => t.x >= 400.0 * right,
                    _ => t.right() <= 400.0 * left,
                };
                assert!(clear, "{style}: title at {t:?} over the figure");
                assert_eq!(c.lines_below_floor(), 0, "{style}");
            }
        }
        let mut art = figure_art(0.0, 0.38);
        let c = set(
            &mut art,
            &words(),
            Typography::of(Style::Western),
            Zones::Choose,
        );
        assert_eq!(c.arrangement.map(|a| a.align), Some(Align::Center));
    }

    /// A side-set title's scrim falls off from its own edge of the sheet: on light art, where
    /// the title needs one, the far side's pixels beside the title are the art's own.
    #[test]
    fn a_side_set_scrim_leaves_the_far_side_alone() {
        let mut art = Pixmap::new(400, 600).expect("size");
        art.fill(Color::from_rgba8(214, 214, 210, 255));
        let original = art.clone();
        let t = Typography::of(Style::Thriller);
        let prepared = Prepared::new(400, 600, &words(), t);
        let layout = prepared.place(Arrangement {
            title: Placement::Top,
            tagline: crate::poster::TaglineAt::Near,
            align: Align::Right,
        });
        assert!(layout.side.is_some());
        let (plans, measured, _) = guarantee(&mut art, &layout, &t.resolved_look());
        assert!(measured.iter().all(Measured::passes));
        let plan = plans.iter().find(|p| p.role == Role::Title).expect("plan");
        assert!(plan.alpha > 0.1, "the title needs a scrim here: {plan:?}");
        let title = layout.block(Role::Title).expect("title");
        let (px, orig) = (art.pixels(), original.pixels());
        let mut seen = 0;
        for y in (title.y as usize)..(title.bottom() as usize) {
            for x in 0..16 {
                assert_eq!(px[y * 400 + x], orig[y * 400 + x], "({x}, {y}) darkened");
                seen += 1;
            }
        }
        assert!(seen > 100);
        // The title's own side is darkened.
        let y = (title.y + title.h / 2.0) as usize;
        assert_ne!(px[y * 400 + 396], orig[y * 400 + 396]);
    }

    /// A face is what a poster never covers: a skin-coloured oval in the top half of a busy,
    /// colourful figure (a bright suit below it as salient as the face) keeps the title off it.
    #[test]
    fn the_title_keeps_off_a_face() {
        for style in [Style::SciFi, Style::Noir, Style::Thriller] {
            let mut art = figure_art(0.15, 0.85);
            let mut paint = Paint::default();
            paint.set_color_rgba8(226, 176, 146, 255);
            let face = tiny_skia::PathBuilder::from_oval(
                SkRect::from_xywh(130.0, 40.0, 140.0, 170.0).expect("rect"),
            )
            .expect("oval");
            art.fill_path(
                &face,
                &paint,
                tiny_skia::FillRule::Winding,
                Transform::identity(),
                None,
            );
            let c = set(&mut art, &words(), Typography::of(style), Zones::Choose);
            let t = title_of(&c);
            let over = t.x < 270.0 && t.right() > 130.0 && t.y < 210.0 && t.bottom() > 40.0;
            assert!(!over, "{style}: title at {t:?} over the face");
        }
    }

    #[test]
    fn uniform_art_keeps_the_looks_own_zones() {
        for style in Style::ALL {
            for grey in [20, 128, 235] {
                let mut art = Pixmap::new(400, 600).expect("size");
                art.fill(Color::from_rgba8(grey, grey, grey, 255));
                let t = Typography::of(style);
                let c = set(&mut art, &words(), t, Zones::Choose);
                assert_eq!(
                    c.arrangement,
                    Some(Arrangement::of(t.placement)),
                    "{style} on grey {grey}"
                );
            }
        }
    }

    /// Light, dark and busy art for every look: every line, measured on the rendered pixels
    /// (not the intended colours), is at its WCAG floor.
    #[test]
    fn every_line_of_every_look_reaches_its_floor_on_light_dark_and_busy_art() {
        let light = || {
            let mut p = Pixmap::new(360, 540).expect("size");
            p.fill(Color::from_rgba8(248, 246, 240, 255));
            p
        };
        let dark = || {
            let mut p = Pixmap::new(360, 540).expect("size");
            p.fill(Color::from_rgba8(6, 6, 10, 255));
            p
        };
        let busy = || {
            let mut p = Pixmap::new(360, 540).expect("size");
            for (k, px) in p.pixels_mut().iter_mut().enumerate() {
                let (x, y) = (k % 360, k / 360);
                let v = if (x / 3 + y / 3) % 2 == 0 { 250 } else { 5 };
                let c = if (x / 17) % 2 == 0 {
                    (v, v, v)
                } else {
                    (v, 255 - v, 40)
                };
                *px = tiny_skia::ColorU8::from_rgba(c.0, c.1, c.2, 255).premultiply();
            }
            p
        };
        for style in Style::ALL {
            for (name, art) in [("light", light()), ("dark", dark()), ("busy", busy())] {
                let mut poster = art.clone();
                let c = set(&mut poster, &words(), Typography::of(style), Zones::Choose);
                let m = contrast::measure(&poster, &c.layout);
                assert_eq!(
                    m.len(),
                    c.layout.boxes.len(),
                    "{style} {name}: every line measured"
                );
                for line in &m {
                    assert!(
                        line.passes(),
                        "{style} on {name} art: {:?} at {:.2}:1 (text {:.3}, around {:.3})",
                        line.role,
                        line.ratio,
                        line.text,
                        line.background
                    );
                }
            }
        }
    }

    /// A workspace's house ink — a mid grey (the hardest colour to give contrast to), a crimson
    /// and a near-black — still reaches every line's floor on light, dark and mid-grey art
    /// (set in the look's own colours where the ink cannot be), and changes the letters where
    /// it can.
    #[test]
    fn a_house_ink_reaches_every_floor_and_changes_the_letters() {
        let flat = |v: u8| {
            let mut p = Pixmap::new(360, 540).expect("size");
            p.fill(Color::from_rgba8(v, v, v, 255));
            p
        };
        let inks = [
            [[128, 128, 128], [128, 128, 128]],
            [[178, 34, 52], [27, 27, 27]],
            [[12, 12, 12], [250, 250, 250]],
        ];
        for style in [Style::Noir, Style::Comedy] {
            for [title, text] in inks {
                let mut inked = 0;
                for (name, art) in [("light", flat(248)), ("dark", flat(6)), ("mid", flat(128))] {
                    let typography = Typography {
                        ink: Some(super::super::Ink { title, text }),
                        ..Typography::of(style)
                    };
                    let mut poster = art.clone();
                    let c = set(&mut poster, &words(), typography, Zones::Choose);
                    for line in &contrast::measure(&poster, &c.layout) {
                        assert!(
                            line.passes(),
                            "{style} in {title:?}/{text:?} on {name}: {:?} at {:.2}:1",
                            line.role,
                            line.ratio
                        );
                    }
                    let mut plain = art.clone();
                    set(&mut plain, &words(), Typography::of(style), Zones::Choose);
                    if poster.data() != plain.data() {
                        inked += 1;
                    }
                }
                assert!(inked >= 2, "{style} in {title:?}/{text:?}: the ink shows");
            }
        }
        let ink = super::super::Ink::from_palette(&["#F4C430".into(), "#1B1B1B".into()]);
        assert_eq!(
            ink,
            Some(super::super::Ink {
                title: [0xF4, 0xC4, 0x30],
                text: [0x1B, 0x1B, 0x1B]
            })
        );
        assert_eq!(super::super::Ink::from_palette(&[]), None);
    }

    #[test]
    fn the_same_inputs_give_byte_identical_posters() {
        // The last pair is set side-set (a_figure_on_one_side_sends_a_side_set_title_to_the_other).
        let cases = [
            (Style::Fantasy, subject_art(0.1, 0.4)),
            (Style::Comedy, subject_art(0.1, 0.4)),
            (Style::Noir, figure_art(0.0, 0.38)),
        ];
        for (style, art) in cases {
            let mut a = art.clone();
            let mut b = art.clone();
            let ca = set(&mut a, &words(), Typography::of(style), Zones::Choose);
            let cb = set(&mut b, &words(), Typography::of(style), Zones::Choose);
            assert_eq!(ca.arrangement, cb.arrangement);
            assert_eq!(a.data(), b.data(), "{style}");
        }
    }

    #[test]
    fn a_reviewers_placement_is_kept() {
        let mut art = subject_art(0.04, 0.33);
        let t = Typography {
            look: Style::Noir,
            placement: Placement::Top,
            ink: None,
        };
        let c = set(&mut art, &words(), t, Zones::Own);
        assert_eq!(c.arrangement, Some(Arrangement::of(Placement::Top)));
        assert!(title_of(&c).y < 600.0 * 0.2);
    }
}
