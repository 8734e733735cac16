//! How a take's art grows to another format's aspect with Stability's Outpaint: which sides
//! get how many new pixels, and at what size the art is sent so one call stays inside the
//! service's limits. Pure arithmetic; the call itself is `bedrock`'s, the typography
//! `crate::poster`'s.
//!
//! The limits, with where each was read (DOC: AWS's page, quoted; ASSUMED: not stated there).
//! AWS's page is the Bedrock user guide's "Stability AI Image Services", Edit, Outpaint
//! (<https://docs.aws.amazon.com/bedrock/latest/userguide/stable-image-services.html>, read
//! 2026-12-07):
//!
//! - DOC, `image`: "Every side of the image must be at least 64 pixels. The total pixel count
//!   cannot exceed 9,437,184 pixels. Image aspect ratio must be between 1:2.5 and 2.5:1."
//!   (4,096 pixels at least follows from the 64 px sides.)
//! - DOC, `left`, `right`, `up`, `down`: "The number of pixels to outpaint on the left side of
//!   the image. At least one outpainting direction must be supplied with a non-zero value.
//!   Range 0 to 2000."
//! - DOC: `image` is the only required parameter; `prompt` (0 to 10,000 characters),
//!   `style_preset`, `seed`, `output_format`, `creativity` ("Range between 0.1 and 1.0. Default
//!   0.5.") and the four sides are optional. Marquee sends no `creativity` (the default) and no
//!   `style_preset` (the look is already in the art and the prompt).
//! - DOC, how it is called: the page's examples invoke `us.stability.stable-outpaint-v1:0`, the
//!   US cross-region inference profile, from us-east-1 (`model::catalog`).
//! - ASSUMED: the output is held to the same 9,437,184 pixels as an input; the page states no
//!   limit for the output, so a call whose output would pass it is planned smaller.
//!
//! What happens at the limits, and why: a format whose outpaint would need more than 2000 px
//! on a side, or an output above the pixel limit, is outpainted from the art **scaled down
//! first** (by one factor, never stretched) until the call fits. The alternative, outpainting
//! in steps, would bill two or more calls for one format and feed generated pixels back in as
//! "original" ones; a scaled call bills one and keeps every original pixel's content. Nothing
//! is lost at delivery: formats are 1080 px on their short side, and the art Stability draws is
//! about one megapixel, so no format from its art needs scaling at all (each side grows at most
//! 1003 px, 21:9 from 2:3); only art from elsewhere (larger, or at the opposite extreme of
//! aspect) would. A format within [`SAME_ASPECT`] of the art's own aspect (Stability's 832×1216
//! is its "2:3") needs no call: the art is fitted to it as it is.

/// The fewest pixels on a side of an image the services take (DOC).
pub const MIN_SIDE: u32 = 64;
/// The most pixels in all an image the services take (DOC), and an output may have (ASSUMED:
/// the page states no output limit).
pub const MAX_PIXELS: u64 = 9_437_184;
/// The longest side over the shortest an image the services take may have (DOC).
pub const MAX_RATIO: f64 = 2.5;
/// The most pixels Outpaint adds on one side (DOC: each side's "Range 0 to 2000").
pub const MAX_GROWTH: u32 = 2000;
/// How far (relatively) the art's aspect may be from a format's for the format to take the art
/// as it is, cropped at most this share across, rather than outpainted: Stability's own sizes
/// for a ratio are within it (832×1216 for 2:3 is 2.6 % wide of it).
pub const SAME_ASPECT: f64 = 0.03;

/// One Outpaint call: the size the art is sent at and the pixels added on each side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The art's size as sent: the stored art's, or smaller when the call would not fit.
    pub source: (u32, u32),
    pub left: u32,
    pub right: u32,
    pub up: u32,
    pub down: u32,
}

impl Plan {
    /// The size the service answers with: the source with its new margins.
    pub fn output(&self) -> (u32, u32) {
        (
            self.source.0 + self.left + self.right,
            self.source.1 + self.up + self.down,
        )
    }

    /// Whether the art is sent smaller than it is stored.
    pub fn scaled(&self, art: (u32, u32)) -> bool {
        self.source != art
    }
}

/// Art Outpaint cannot take whatever its size (too thin, or too long for its aspect limit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "art of {width}x{height} is outside what Outpaint takes (each side at least {MIN_SIDE} px, an aspect within 1:{MAX_RATIO} and {MAX_RATIO}:1)"
)]
pub struct OutsideLimits {
    pub width: u32,
    pub height: u32,
}

/// The margins that grow `width` × `height` art to the aspect `ratio` (width, height), split
/// evenly between the two sides so the art stays centred (an odd pixel goes right or down).
fn grow(width: u32, height: u32, ratio: (u32, u32)) -> Plan {
    let (w, h) = (u64::from(width), u64::from(height));
    let (rw, rh) = (u64::from(ratio.0.max(1)), u64::from(ratio.1.max(1)));
    let (mut left, mut right, mut up, mut down) = (0, 0, 0, 0);
    if w * rh < h * rw {
        // Too narrow: wider, to the nearest pixel at or above the ratio.
        let extra = u32::try_from((h * rw).div_ceil(rh) - w).unwrap_or(u32::MAX);
        left = extra / 2;
        right = extra - left;
    } else {
        let extra = u32::try_from((w * rh).div_ceil(rw) - h).unwrap_or(u32::MAX);
        up = extra / 2;
        down = extra - up;
    }
    Plan {
        source: (width, height),
        left,
        right,
        up,
        down,
    }
}

fn fits(plan: &Plan) -> bool {
    let (ow, oh) = plan.output();
    plan.left.max(plan.right).max(plan.up).max(plan.down) <= MAX_GROWTH
        && u64::from(ow) * u64::from(oh) <= MAX_PIXELS
        && u64::from(plan.source.0) * u64::from(plan.source.1) <= MAX_PIXELS
}

/// The one Outpaint call that grows `width` × `height` art to `ratio`, or `None` when the art
/// is already within [`SAME_ASPECT`] of it. Art too large for a call is sent scaled down (see
/// the module's doc for why scaling, not steps).
pub fn plan(width: u32, height: u32, ratio: (u32, u32)) -> Result<Option<Plan>, OutsideLimits> {
    let outside = OutsideLimits { width, height };
    let (w, h) = (f64::from(width), f64::from(height));
    if width.min(height) < MIN_SIDE || w.max(h) / w.min(h) > MAX_RATIO {
        return Err(outside);
    }
    let want = f64::from(ratio.0.max(1)) / f64::from(ratio.1.max(1));
    if ((w / h) - want).abs() / want <= SAME_ASPECT {
        return Ok(None);
    }
    let mut plan = grow(width, height, ratio);
    // Scale by what the tightest limit allows, then shave a pixel at a time if rounding left
    // the call a pixel over.
    let mut scale = 1.0_f64;
    while !fits(&plan) {
        let (ow, oh) = plan.output();
        let side = plan.left.max(plan.right).max(plan.up).max(plan.down);
        let by_side = f64::from(MAX_GROWTH) / f64::from(side.max(1));
        let by_pixels = (MAX_PIXELS as f64 / (f64::from(ow) * f64::from(oh))).sqrt();
        let by_source = (MAX_PIXELS as f64 / (w * h)).sqrt();
        let next = by_side.min(by_pixels).min(by_source).min(1.0) * scale;
        scale = if next < scale { next } else { scale * 0.995 };
        let (sw, sh) = ((w * scale).floor() as u32, (h * scale).floor() as u32);
        if sw.min(sh) < MIN_SIDE {
            return Err(outside);
        }
        plan = grow(sw, sh, ratio);
    }
    Ok(Some(plan))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poster::Format;

    fn ratio(f: Format) -> (u32, u32) {
        let (a, b) = f.ratio().split_once(':').unwrap();
        (a.parse().unwrap(), b.parse().unwrap())
    }

    /// Stability's output sizes per aspect (about a megapixel), as Bedrock answers them.
    const STABILITY: [(u32, u32); 9] = [
        (832, 1216),
        (1024, 1024),
        (896, 1088),
        (768, 1344),
        (640, 1536),
        (1216, 832),
        (1088, 896),
        (1344, 768),
        (1536, 640),
    ];

    #[test]
    fn every_format_of_stability_art_is_one_call_within_the_limits() {
        for (w, h) in STABILITY {
            for f in Format::ALL {
                let (rw, rh) = ratio(f);
                let Some(p) = plan(w, h, (rw, rh)).unwrap() else {
                    let got = f64::from(w) / f64::from(h);
                    let want = f64::from(rw) / f64::from(rh);
                    assert!((got - want).abs() / want <= SAME_ASPECT, "{w}x{h} {f}");
                    continue;
                };
                assert!(fits(&p), "{w}x{h} {f}: {p:?}");
                assert!(p.left + p.right + p.up + p.down > 0, "{w}x{h} {f}");
                // The original pixels are all kept: only one axis grows, evenly.
                assert!(p.left.abs_diff(p.right) <= 1 && p.up.abs_diff(p.down) <= 1);
                assert!(p.left + p.right == 0 || p.up + p.down == 0);
                let (ow, oh) = p.output();
                let got = f64::from(ow) / f64::from(oh);
                let want = f64::from(rw) / f64::from(rh);
                assert!((got - want).abs() / want < 0.002, "{w}x{h} {f}: {ow}x{oh}");
                // About a megapixel of art never needs scaling.
                assert!(!p.scaled((w, h)), "{w}x{h} {f}: {p:?}");
            }
        }
    }

    #[test]
    fn the_takes_own_aspect_needs_no_call() {
        assert_eq!(plan(832, 1216, (2, 3)), Ok(None));
        assert_eq!(plan(1024, 1024, (1, 1)), Ok(None));
        assert!(plan(832, 1216, (1, 1)).unwrap().is_some());
    }

    #[test]
    fn art_too_large_for_one_call_is_scaled_down_first() {
        // 2.4:1 art to 9:16 would need 1,500 px up and down at 3072 wide, and 9.4 MP out.
        let p = plan(3072, 1280, (9, 16)).unwrap().unwrap();
        assert!(p.scaled((3072, 1280)), "{p:?}");
        assert!(fits(&p), "{p:?}");
        let (sw, sh) = p.source;
        let kept = f64::from(sw) / f64::from(sh);
        assert!((kept - 2.4).abs() < 0.01, "scaled by one factor: {sw}x{sh}");
        // An input above the pixel limit is scaled even where the growth is small.
        let p = plan(3600, 3000, (1, 1)).unwrap().unwrap();
        assert!(u64::from(p.source.0) * u64::from(p.source.1) <= MAX_PIXELS && fits(&p));
    }

    #[test]
    fn art_outside_the_services_input_limits_is_refused() {
        assert!(plan(40, 90, (1, 1)).is_err());
        assert!(plan(2600, 1000, (1, 1)).is_err());
    }
}
