//! The last passes over the finished art: the foot shade that grounds the billing block, then
//! monochrome for noir, film grain and a vignette in one per-pixel sweep. These work on pixels
//! only and know nothing of what the layers drew.

use tiny_skia::Pixmap;

use super::canvas::Canvas;
use crate::genre::{Palette, Rgb};

impl Canvas<'_> {
    /// Darkens the bottom fifth towards the near colour: the billing block's ground.
    pub(super) fn foot_shade(&mut self) {
        let c = self.pal.near.mix(Rgb(0, 0, 0), 0.3);
        self.band(self.h * 0.8, self.h, |t| (c, 0.75 * t));
    }
}

/// The final per-pixel pass: monochrome for noir, film grain and vignette, in one sweep.
pub(super) fn finish(p: &mut Pixmap, pal: &Palette, seed: u64) {
    let (w, h) = (p.width() as usize, p.height() as usize);
    let vx: Vec<f32> = (0..w)
        .map(|x| ((x as f32 + 0.5) / w as f32 * 2.0 - 1.0).powi(2))
        .collect();
    let vy: Vec<f32> = (0..h)
        .map(|y| ((y as f32 + 0.5) / h as f32 * 2.0 - 1.0).powi(2))
        .collect();
    let grain = pal.grain * 255.0;
    let vig = pal.vignette;
    let data = p.data_mut();
    for (y, row) in data.chunks_exact_mut(w * 4).enumerate() {
        let fy = vy[y];
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            let d = (vx[x] + fy) * 0.5;
            let v = 1.0 - vig * d * d;
            // Grain in 2×2 clumps, from a hash of the clump's position: it reads as film grain
            // at full size and keeps the PNG a third the size of per-pixel noise.
            let mut z = (x as u64 >> 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ (y as u64 >> 1).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
                ^ seed;
            // MurmurHash3's finaliser: without full avalanche, clumps line up into streaks.
            z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
            z = (z ^ (z >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
            z ^= z >> 33;
            let n = ((z >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * grain;
            let (mut r, mut g, mut b) = (f32::from(px[0]), f32::from(px[1]), f32::from(px[2]));
            if pal.mono {
                let l = r * 0.2126 + g * 0.7152 + b * 0.0722;
                // A faint warm tone, like a silver print.
                (r, g, b) = (l * 1.02, l, l * 0.95);
            }
            px[0] = (r * v + n).clamp(0.0, 255.0) as u8;
            px[1] = (g * v + n).clamp(0.0, 255.0) as u8;
            px[2] = (b * v + n).clamp(0.0, 255.0) as u8;
            px[3] = 255;
        }
    }
}
