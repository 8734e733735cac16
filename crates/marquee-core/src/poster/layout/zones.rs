//! The poster's zones: where each block may stand, and how large its type may be, as named
//! proportions of the sheet. A look has its own arrangement (its title placement, its tagline
//! beside the title or across the sheet from it); [`candidates`] lists the few others it
//! allows, and `poster::placement` chooses among them by looking at the art.
//!
//! Besides the bands across the sheet, a look may allow side-set blocks: the title (and a
//! tagline beside it) on a narrower measure, flush left or right in the emptier side of the
//! art, as a designer sets type beside a figure rather than across it. The billing block
//! always stays centred across the bottom.
//!
//! Every block is fitted once per poster ([`Prepared`]) and then placed by each arrangement,
//! so trying the candidates costs placements, not line breaking.

use super::{
    Block, Columns, Layout, Rect, Role, Spec, TextBox, fit, fit_vertical, place, place_vertical,
};
use crate::genre::Placement;
use crate::poster::fonts::{self, Face};
use crate::poster::style::Case;
use crate::poster::{PosterText, Typography};

/// Margins of the safe area on every side, as a share of the sheet's width or height.
const SAFE_MARGIN: f32 = 0.06;
/// Type scales with the sheet's height, but a sheet taller than this many widths is limited
/// by its width.
const TALL_SHEET: f32 = 1.5;
/// The gap between blocks, as a share of the type base.
const BLOCK_GAP: f32 = 0.025;
/// How close a tagline sits under a title set at the top, in block gaps.
const TITLE_TAGLINE_GAP: f32 = 0.8;

/// The largest title, as a share of the type base: display faces are condensed and set larger.
const TITLE_MAX_DISPLAY: f32 = 0.15;
const TITLE_MAX_OTHER: f32 = 0.115;
/// The smallest title before it is cut with an ellipsis.
const TITLE_MIN: f32 = 0.04;
const TITLE_MAX_LINES: usize = 3;
/// Title leading in ems: display capitals sit tight, script and slab at solid.
const TITLE_LEADING_DISPLAY: f32 = 0.9;
const TITLE_LEADING_OTHER: f32 = 1.0;
/// The title zone's height, as a share of the safe area.
const TITLE_ZONE: f32 = 0.36;
/// A centred title's middle, as a share of the sheet's height: optically centred, a little
/// below the middle.
const OPTICAL_CENTRE: f32 = 0.54;
/// Where a centred title's tagline would start if there were no title.
const SHEET_MIDDLE: f32 = 0.5;

const TAGLINE_MAX: f32 = 0.022;
const TAGLINE_MIN: f32 = 0.012;
const TAGLINE_TRACKING: f32 = 0.16;
const TAGLINE_LEADING: f32 = 1.35;
const TAGLINE_MAX_LINES: usize = 2;
/// The tagline's measure, as a share of the safe area's width.
const TAGLINE_MEASURE: f32 = 0.9;
/// The tagline zone's height, as a share of the safe area.
const TAGLINE_ZONE: f32 = 0.09;

const CREDITS_MAX: f32 = 0.03;
const CREDITS_MIN: f32 = 0.011;
const CREDITS_TRACKING: f32 = 0.05;
const CREDITS_LEADING: f32 = 0.98;
const CREDITS_MAX_LINES: usize = 4;
/// The billing block's zone height, as a share of the safe area.
const CREDITS_ZONE: f32 = 0.13;

/// A vertical (tategaki) title's column zone: from this share of the safe area's width to its
/// right edge.
const VERTICAL_ZONE_X: f32 = 0.45;
const VERTICAL_ZONE_W: f32 = 0.55;
/// The largest vertical title, as a share of the type base.
const VERTICAL_MAX: f32 = 0.16;

/// A side-set title's and tagline's measure, as a share of the safe area's width.
const SIDE_MEASURE: f32 = 0.62;

/// How the title and tagline stand across the sheet.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Align {
    /// Centred across the safe area (every look's own).
    #[default]
    Center,
    /// Side-set: on [`SIDE_MEASURE`] of the width, flush with the safe area's left edge.
    Left,
    /// Side-set, flush right.
    Right,
}

impl Align {
    fn is_center(&self) -> bool {
        *self == Align::Center
    }
}

/// Where the tagline stands relative to the title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaglineAt {
    /// Beside the title: under a title at the top, over a title in the middle or at the bottom.
    Near,
    /// Across the sheet from it: at the top over a bottom or centred title, above the billing
    /// block under a title at the top.
    Far,
}

/// Where the blocks of a poster stand: the title's band and the tagline's side. The billing
/// block always anchors the bottom of the safe area, as on every film poster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Arrangement {
    pub(crate) title: Placement,
    pub(crate) tagline: TaglineAt,
    /// Centred bands, or the title side-set left or right (records from before side-set
    /// blocks have none: centred).
    #[serde(default, skip_serializing_if = "Align::is_center")]
    pub(crate) align: Align,
}

impl Arrangement {
    /// The arrangement a title placement has always had.
    pub(crate) fn of(placement: Placement) -> Arrangement {
        Arrangement {
            title: placement,
            tagline: match placement {
                Placement::Top | Placement::Center | Placement::Vertical => TaglineAt::Near,
                Placement::Bottom => TaglineAt::Far,
            },
            align: Align::Center,
        }
    }
}

/// The arrangements a typography allows, its own first: the title in any of the three bands
/// with the tagline beside it or across from it, centred; and where the look allows side-set
/// type (`Look::side_set`), the same bands with the title flush left or right on a narrower
/// measure. A vertical title keeps its column.
pub(crate) fn candidates(typography: Typography) -> Vec<Arrangement> {
    let own = Arrangement::of(typography.placement);
    if typography.placement == Placement::Vertical {
        return vec![own];
    }
    let aligns: &[Align] = if typography.look.look().side_set {
        &[Align::Center, Align::Left, Align::Right]
    } else {
        &[Align::Center]
    };
    let mut out = vec![own];
    for &align in aligns {
        for title in [Placement::Top, Placement::Center, Placement::Bottom] {
            for tagline in [TaglineAt::Near, TaglineAt::Far] {
                let a = Arrangement {
                    title,
                    tagline,
                    align,
                };
                if a != own {
                    out.push(a);
                }
            }
        }
    }
    out
}

/// The sheet type is set on: the area it must stay inside, the length its sizes are shares
/// of, and the smallest glyph the billing block may have (0: the block's own minimum).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Frame {
    pub(crate) safe: Rect,
    pub(crate) base: f32,
    pub(crate) billing_floor: f32,
}

impl Frame {
    /// A `width` × `height` poster's own frame: the safe area's margins on every side, type
    /// scaled with the height (or the width of a sheet taller than 2:3).
    pub(crate) fn sheet(width: u32, height: u32) -> Frame {
        Frame {
            safe: safe_area(width, height),
            base: (height as f32).min(width as f32 * TALL_SHEET),
            billing_floor: 0.0,
        }
    }
}

/// The area text must stay inside.
fn safe_area(width: u32, height: u32) -> Rect {
    let (w, h) = (width as f32, height as f32);
    Rect {
        x: (w * SAFE_MARGIN).ceil(),
        y: (h * SAFE_MARGIN).ceil(),
        w: w - 2.0 * (w * SAFE_MARGIN).ceil(),
        h: h - 2.0 * (h * SAFE_MARGIN).ceil(),
    }
}

fn present(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// A poster's blocks fitted to their zones, ready to be placed by any arrangement.
pub(crate) struct Prepared {
    height: u32,
    reported: Rect,
    safe: Rect,
    gap: f32,
    title_spec: Spec,
    tagline_spec: Spec,
    credits_spec: Spec,
    title: Option<Block>,
    tagline: Option<Block>,
    /// The title and tagline fitted to a side-set measure (when the look allows it).
    title_side: Option<Block>,
    tagline_side: Option<Block>,
    tagline_text: Option<String>,
    credits: Option<Block>,
    /// A vertical title set in its column zone, when the typography stands it.
    vertical: Option<(Columns, Spec, Rect)>,
    placement: Placement,
}

impl Prepared {
    /// Fits the blocks of `text` for a `width` × `height` poster in `typography`.
    pub(crate) fn new(width: u32, height: u32, text: &PosterText, typography: Typography) -> Self {
        Prepared::framed(height, Frame::sheet(width, height), text, typography)
    }

    /// Fits the blocks of `text` in `frame` on a sheet `height` pixels tall.
    pub(crate) fn framed(
        height: u32,
        frame: Frame,
        text: &PosterText,
        typography: Typography,
    ) -> Self {
        let look = typography.resolved_look();
        let reported = frame.safe;
        // Fit and place against an area a hair smaller than the one reported, so that rounding
        // in the float arithmetic can never push ink across the reported edge.
        let safe = reported.inflate(-0.5);
        let base = frame.base;
        let gap = base * BLOCK_GAP;
        let title_spec = Spec {
            role: Role::Title,
            face: look.title_face,
            upper: look.case == Case::Upper,
            tracking: look.title_tracking,
            max_lines: TITLE_MAX_LINES,
            max_size: base
                * match look.title_face {
                    Face::Display => TITLE_MAX_DISPLAY,
                    _ => TITLE_MAX_OTHER,
                },
            min_size: base * TITLE_MIN,
            leading: match look.title_face {
                Face::Display => TITLE_LEADING_DISPLAY,
                _ => TITLE_LEADING_OTHER,
            },
            billing: false,
        };
        let tagline_spec = Spec {
            role: Role::Tagline,
            face: Face::Sans,
            upper: true,
            tracking: TAGLINE_TRACKING,
            max_lines: TAGLINE_MAX_LINES,
            max_size: base * TAGLINE_MAX,
            min_size: base * TAGLINE_MIN,
            leading: TAGLINE_LEADING,
            billing: false,
        };
        let credits_spec = Spec {
            role: Role::Credits,
            face: Face::Display,
            upper: true,
            tracking: CREDITS_TRACKING,
            max_lines: CREDITS_MAX_LINES,
            max_size: base * CREDITS_MAX,
            // The floor is for the smallest glyph, the block's small words.
            min_size: (base * CREDITS_MIN).max(frame.billing_floor / super::SMALL_SCALE),
            leading: CREDITS_LEADING,
            billing: true,
        };
        let credits = present(&text.credits)
            .and_then(|c| fit(c, &credits_spec, safe.w, safe.h * CREDITS_ZONE));
        let tagline_text = present(&text.tagline).map(str::to_string);
        let tagline = tagline_text.as_deref().and_then(|t| {
            fit(
                t,
                &tagline_spec,
                safe.w * TAGLINE_MEASURE,
                safe.h * TAGLINE_ZONE,
            )
        });
        let mut prepared = Prepared {
            height,
            reported,
            safe,
            gap,
            title_spec,
            tagline_spec,
            credits_spec,
            title: None,
            tagline,
            title_side: None,
            tagline_side: None,
            tagline_text,
            credits,
            vertical: None,
            placement: typography.placement,
        };
        // A vertical title stands in a column zone at the right of the sheet, from the top down
        // to the tagline, which sits above the billing block. Titles with no CJK in them, or
        // too long to stand, are set horizontally where the look puts them.
        if typography.placement == Placement::Vertical {
            let mut floor = prepared.floor();
            if let Some(b) = &prepared.tagline {
                floor -= b.height + gap;
            }
            let zone = Rect {
                x: safe.x + safe.w * VERTICAL_ZONE_X,
                y: safe.y,
                w: safe.w * VERTICAL_ZONE_W,
                h: floor - safe.y,
            };
            let spec = Spec {
                max_lines: TITLE_MAX_LINES,
                max_size: base * VERTICAL_MAX,
                ..title_spec
            };
            prepared.vertical = present(&text.title)
                .filter(|t| fonts::is_cjk(t))
                .and_then(|t| fit_vertical(t, &spec, zone.w, zone.h))
                .map(|cols| (cols, spec, zone));
            if prepared.vertical.is_none() {
                prepared.placement = look.placement;
            }
        }
        if prepared.vertical.is_none() {
            prepared.title =
                present(&text.title).and_then(|t| fit(t, &title_spec, safe.w, safe.h * TITLE_ZONE));
            if look.side_set {
                let measure = safe.w * SIDE_MEASURE;
                prepared.title_side = present(&text.title)
                    .and_then(|t| fit(t, &title_spec, measure, safe.h * TITLE_ZONE));
                prepared.tagline_side = prepared
                    .tagline_text
                    .as_deref()
                    .and_then(|t| fit(t, &tagline_spec, measure, safe.h * TAGLINE_ZONE));
            }
        }
        prepared
    }

    /// The arrangement this typography has always had (a vertical title that cannot stand
    /// falls back to the look's own placement).
    pub(crate) fn own(&self) -> Arrangement {
        Arrangement::of(self.placement)
    }

    /// The arrangements allowed for these blocks, their own first.
    pub(crate) fn candidates(&self, typography: Typography) -> Vec<Arrangement> {
        candidates(Typography {
            placement: self.placement,
            ..typography
        })
    }

    /// The top of the billing block, less a gap: everything else stands above it.
    fn floor(&self) -> f32 {
        match &self.credits {
            Some(b) => self.safe.bottom() - b.height - self.gap,
            None => self.safe.bottom(),
        }
    }

    /// The tagline fitted to `max_w` × at most `max_h` (refitted only when the room is smaller
    /// than its zone).
    fn tagline_refit(&self, max_w: f32, max_h: f32) -> Option<Block> {
        let t = self.tagline_text.as_deref()?;
        fit(t, &self.tagline_spec, max_w, max_h)
    }

    /// Places every block as `arrangement` says.
    pub(crate) fn place(&self, arrangement: Arrangement) -> Layout {
        let safe = self.safe;
        let gap = self.gap;
        let mut boxes: Vec<TextBox> = Vec::new();
        if let Some(b) = &self.credits {
            boxes.extend(place(
                b,
                &self.credits_spec,
                &safe,
                safe.bottom() - b.height,
                Align::Center,
            ));
        }
        let floor = self.floor();
        if let Some((cols, spec, zone)) = &self.vertical {
            boxes.extend(place_vertical(cols, spec, zone));
            if let Some(b) = &self.tagline {
                boxes.extend(place(
                    b,
                    &self.tagline_spec,
                    &safe,
                    floor - b.height,
                    Align::Center,
                ));
            }
            return self.finish(boxes, None);
        }
        // A side-set arrangement of a look without side-set blocks is set centred.
        let side = arrangement.align != Align::Center && self.title_side.is_some();
        let align = if side {
            arrangement.align
        } else {
            Align::Center
        };
        // The title's column, and the tagline beside it in the same column; a tagline across
        // the sheet from the title is centred on the full width.
        let column = if side {
            let w = safe.w * SIDE_MEASURE;
            let x = if align == Align::Left {
                safe.x
            } else {
                safe.right() - w
            };
            Rect { x, w, ..safe }
        } else {
            safe
        };
        let (title, near_tagline) = if side {
            (&self.title_side, &self.tagline_side)
        } else {
            (&self.title, &self.tagline)
        };
        let title_spec = &self.title_spec;
        let tag = &self.tagline_spec;
        let far = |boxes: &mut Vec<TextBox>, y: &dyn Fn(&Block) -> f32| {
            if let Some(b) = &self.tagline {
                boxes.extend(place(b, tag, &safe, y(b), Align::Center));
            }
        };
        match (arrangement.title, arrangement.tagline) {
            (Placement::Top, near) => {
                let mut y = safe.y;
                if let Some(b) = title {
                    boxes.extend(place(b, title_spec, &column, y, align));
                    y += b.height + gap * TITLE_TAGLINE_GAP;
                }
                if near == TaglineAt::Near {
                    if let Some(b) = near_tagline {
                        boxes.extend(place(b, tag, &column, y, align));
                    }
                } else {
                    far(&mut boxes, &|b: &Block| floor - b.height);
                }
            }
            (Placement::Center, near) => {
                let mut top = safe.y + safe.h * SHEET_MIDDLE;
                if let Some(b) = title {
                    let y = (self.height as f32 * OPTICAL_CENTRE - b.height / 2.0)
                        .min(floor - b.height);
                    boxes.extend(place(b, title_spec, &column, y, align));
                    top = y;
                }
                if near == TaglineAt::Near {
                    let room = (top - gap - safe.y).min(safe.h * TAGLINE_ZONE);
                    let refit;
                    let block = match near_tagline {
                        Some(b) if b.height <= room => Some(b),
                        Some(_) => {
                            let measure = if side {
                                column.w
                            } else {
                                safe.w * TAGLINE_MEASURE
                            };
                            refit = self.tagline_refit(measure, room);
                            refit.as_ref()
                        }
                        None => None,
                    };
                    if let Some(b) = block {
                        boxes.extend(place(b, tag, &column, top - gap - b.height, align));
                    }
                } else {
                    far(&mut boxes, &|_: &Block| safe.y);
                }
            }
            // (A vertical title that could not stand is set where the look puts it.)
            (Placement::Bottom | Placement::Vertical, near) => {
                let mut top = floor;
                if let Some(b) = title {
                    top = floor - b.height;
                    boxes.extend(place(b, title_spec, &column, top, align));
                }
                if near == TaglineAt::Near {
                    if let Some(b) = near_tagline {
                        let at = (top - gap - b.height).max(safe.y);
                        boxes.extend(place(b, tag, &column, at, align));
                    }
                } else {
                    far(&mut boxes, &|_: &Block| safe.y);
                }
            }
        }
        self.finish(boxes, side.then_some((align, column)))
    }

    fn finish(&self, boxes: Vec<TextBox>, side: Option<(Align, Rect)>) -> Layout {
        Layout {
            safe: self.reported,
            side,
            boxes,
        }
    }
}

/// Lays out `text` for a `width` × `height` poster in `typography`: its look's faces and case,
/// with the title where `typography.placement` (not the look) puts it.
#[cfg(test)]
pub(crate) fn layout(width: u32, height: u32, text: &PosterText, typography: Typography) -> Layout {
    let prepared = Prepared::new(width, height, text, typography);
    prepared.place(prepared.own())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genre::Style;

    /// Every arrangement a look allows keeps every line inside the safe area and clear of
    /// every other, at every aspect, with short and long words.
    #[test]
    fn every_candidate_arrangement_holds_the_invariants() {
        let texts = [
            ("Jaws", "", ""),
            (
                "The Unbearable Lightness of Being Somewhere Else Tonight",
                "In space no one can hear you scream, and nobody leaves.",
                "directed by Ada Lovelace starring Grace Hopper Alan Turing and Hedy Lamarr \
                 music by Clara Schumann",
            ),
            ("砂漠のキャラバン", "砂の向こうへ", "監督 小津安二郎"),
        ];
        let mut laid = 0;
        for style in Style::ALL {
            for (w, h) in [(1024, 1536), (1536, 656), (1280, 1280), (200, 300)] {
                for (title, tagline, credits) in texts {
                    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
                    let text = PosterText {
                        title: opt(title),
                        tagline: opt(tagline),
                        credits: opt(credits),
                    };
                    let t = Typography::for_title(style, Some(title));
                    let prepared = Prepared::new(w, h, &text, t);
                    let candidates = prepared.candidates(t);
                    assert_eq!(candidates[0], prepared.own());
                    for a in candidates {
                        let l = prepared.place(a);
                        for (i, b) in l.boxes.iter().enumerate() {
                            let s = l.safe;
                            assert!(
                                b.rect.x >= s.x
                                    && b.rect.y >= s.y
                                    && b.rect.right() <= s.right()
                                    && b.rect.bottom() <= s.bottom(),
                                "{style} {w}x{h} {a:?}: {:?} outside {s:?}",
                                b.rect
                            );
                            for o in &l.boxes[i + 1..] {
                                let r = b.rect;
                                let q = o.rect;
                                assert!(
                                    !(r.x < q.right()
                                        && q.x < r.right()
                                        && r.y < q.bottom()
                                        && q.y < r.bottom()),
                                    "{style} {w}x{h} {a:?}: {:?} overlaps {:?}",
                                    b.role,
                                    o.role
                                );
                            }
                        }
                        laid += l.boxes.len();
                    }
                }
            }
        }
        assert!(laid > 1000, "{laid}");
    }

    #[test]
    fn the_own_arrangement_is_the_one_placements_always_had() {
        assert_eq!(Arrangement::of(Placement::Bottom).tagline, TaglineAt::Far);
        assert_eq!(Arrangement::of(Placement::Top).tagline, TaglineAt::Near);
        let json = serde_json::to_string(&Arrangement::of(Placement::Center)).expect("json");
        assert_eq!(json, r#"{"title":"center","tagline":"near"}"#);
        // Three bands × two tagline sides, centred, flush left and flush right.
        assert_eq!(candidates(Typography::of(Style::Noir)).len(), 18);
        // The western keeps its centred billboard.
        assert_eq!(candidates(Typography::of(Style::Western)).len(), 6);
        let side = Arrangement {
            align: Align::Left,
            ..Arrangement::of(Placement::Top)
        };
        let json = serde_json::to_string(&side).expect("json");
        assert_eq!(json, r#"{"title":"top","tagline":"near","align":"left"}"#);
        assert_eq!(
            serde_json::from_str::<Arrangement>(&json).expect("parses"),
            side
        );
        let vertical = Typography {
            look: Style::Noir,
            placement: Placement::Vertical,
            ink: None,
        };
        assert_eq!(
            candidates(vertical),
            vec![Arrangement::of(Placement::Vertical)]
        );
    }
}
