//! Typography per genre: the face, case, colours and treatment of the title, tagline and
//! billing block for each [`Style`], on top of the genre's own palette and title placement.
//!
//! This module knows nothing of Slack or storage.

use super::fonts::Face;
use crate::genre::{Palette, Placement, Rgb, Style};

/// How the title's letters are cased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    Upper,
    AsTyped,
}

/// A complete look: typography for the composer and palette for the offline art.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Look {
    pub(crate) title_face: Face,
    pub(crate) case: Case,
    pub(crate) placement: Placement,
    /// Title fill: top colour, and the bottom colour of a vertical gradient (equal for solid).
    pub(crate) title_fill: (Rgb, Rgb),
    /// A stroke around the title's letters (the cartoon treatment), if any.
    pub(crate) title_outline: Option<Rgb>,
    /// The colour of the soft halo behind the title; dark means a drop shadow, bright a glow.
    pub(crate) title_halo: Rgb,
    /// Extra letter spacing of the title, in ems.
    pub(crate) title_tracking: f32,
    pub(crate) tagline_color: Rgb,
    pub(crate) credits_color: Rgb,
    pub(crate) palette: Palette,
    /// A Japanese, Chinese or Korean title is set vertically (tategaki), as on the posters
    /// of the genre in those markets: noir and horror in Mincho columns, the documentary's
    /// quiet column, the fantasy epic's calligraphic one.
    pub(crate) vertical_cjk: bool,
    /// The title may be side-set, flush left or right on a narrower measure, where the art
    /// leaves a side empty (`layout::zones`). The western's slab billboard, the comedy's and
    /// the animation's big centred titles stay centred: their posters always are.
    pub(crate) side_set: bool,
    /// The look is black and white: colour emoji are drawn in its ink instead.
    pub(crate) monochrome: bool,
}

impl Style {
    /// The composer's and the offline generator's look for this genre.
    pub(crate) fn look(self) -> Look {
        const WHITE: Rgb = Rgb(246, 244, 238);
        const BLACK: Rgb = Rgb(8, 8, 10);
        match self {
            Style::Thriller => Look {
                title_face: Face::Display,
                case: Case::Upper,
                placement: self.title_placement(),
                title_fill: (WHITE, Rgb(214, 226, 232)),
                title_outline: None,
                title_halo: BLACK,
                title_tracking: 0.04,
                tagline_color: Rgb(255, 170, 90),
                credits_color: Rgb(200, 210, 214),
                palette: self.palette(),
                vertical_cjk: false,
                side_set: true,
                monochrome: false,
            },
            Style::Noir => Look {
                title_face: Face::Slab,
                case: Case::Upper,
                placement: self.title_placement(),
                title_fill: (Rgb(250, 248, 240), Rgb(210, 206, 196)),
                title_outline: None,
                title_halo: BLACK,
                title_tracking: 0.02,
                tagline_color: Rgb(200, 196, 188),
                credits_color: Rgb(190, 188, 182),
                palette: self.palette(),
                vertical_cjk: true,
                side_set: true,
                monochrome: true,
            },
            Style::SciFi => Look {
                title_face: Face::Display,
                case: Case::Upper,
                placement: self.title_placement(),
                title_fill: (Rgb(236, 252, 255), Rgb(96, 200, 255)),
                title_outline: None,
                title_halo: Rgb(0, 150, 255),
                title_tracking: 0.16,
                tagline_color: Rgb(150, 230, 255),
                credits_color: Rgb(170, 200, 230),
                palette: self.palette(),
                vertical_cjk: false,
                side_set: true,
                monochrome: false,
            },
            Style::Horror => Look {
                title_face: Face::Display,
                case: Case::Upper,
                placement: self.title_placement(),
                title_fill: (Rgb(255, 62, 46), Rgb(196, 18, 14)),
                title_outline: None,
                title_halo: Rgb(0, 0, 0),
                title_tracking: 0.1,
                tagline_color: Rgb(210, 214, 200),
                credits_color: Rgb(170, 176, 164),
                palette: self.palette(),
                vertical_cjk: true,
                side_set: true,
                monochrome: false,
            },
            Style::Western => Look {
                title_face: Face::Slab,
                case: Case::Upper,
                placement: self.title_placement(),
                title_fill: (Rgb(255, 226, 140), Rgb(226, 130, 40)),
                title_outline: Some(Rgb(60, 24, 8)),
                title_halo: Rgb(40, 14, 4),
                title_tracking: 0.03,
                tagline_color: Rgb(255, 236, 200),
                credits_color: Rgb(255, 226, 190),
                palette: self.palette(),
                vertical_cjk: false,
                side_set: false,
                monochrome: false,
            },
            Style::Romance => Look {
                title_face: Face::Script,
                case: Case::AsTyped,
                placement: self.title_placement(),
                title_fill: (Rgb(255, 250, 246), Rgb(255, 214, 224)),
                title_outline: None,
                title_halo: Rgb(120, 20, 60),
                title_tracking: 0.0,
                tagline_color: Rgb(255, 236, 236),
                credits_color: Rgb(255, 226, 230),
                palette: self.palette(),
                vertical_cjk: false,
                side_set: true,
                monochrome: false,
            },
            Style::Fantasy => Look {
                title_face: Face::Slab,
                case: Case::Upper,
                placement: self.title_placement(),
                title_fill: (Rgb(255, 240, 190), Rgb(212, 150, 50)),
                title_outline: None,
                title_halo: Rgb(20, 8, 30),
                title_tracking: 0.08,
                tagline_color: Rgb(255, 232, 190),
                credits_color: Rgb(230, 220, 200),
                palette: self.palette(),
                vertical_cjk: true,
                side_set: true,
                monochrome: false,
            },
            Style::Animation => Look {
                title_face: Face::Script,
                case: Case::AsTyped,
                placement: self.title_placement(),
                title_fill: (Rgb(255, 236, 80), Rgb(255, 160, 30)),
                title_outline: Some(Rgb(26, 40, 120)),
                title_halo: Rgb(20, 30, 90),
                title_tracking: 0.0,
                tagline_color: Rgb(255, 255, 255),
                credits_color: Rgb(255, 255, 255),
                palette: self.palette(),
                vertical_cjk: false,
                side_set: false,
                monochrome: false,
            },
            Style::Documentary => Look {
                title_face: Face::Display,
                case: Case::Upper,
                placement: self.title_placement(),
                title_fill: (WHITE, WHITE),
                title_outline: None,
                title_halo: BLACK,
                title_tracking: 0.22,
                tagline_color: Rgb(236, 232, 222),
                credits_color: Rgb(220, 216, 206),
                palette: self.palette(),
                vertical_cjk: true,
                side_set: true,
                monochrome: false,
            },
            Style::Comedy => Look {
                title_face: Face::Script,
                case: Case::AsTyped,
                placement: self.title_placement(),
                title_fill: (Rgb(255, 255, 255), Rgb(255, 255, 255)),
                title_outline: Some(Rgb(220, 30, 60)),
                title_halo: Rgb(120, 0, 30),
                title_tracking: 0.0,
                tagline_color: Rgb(40, 20, 60),
                credits_color: Rgb(50, 30, 70),
                palette: self.palette(),
                vertical_cjk: false,
                side_set: false,
                monochrome: false,
            },
        }
    }
}
