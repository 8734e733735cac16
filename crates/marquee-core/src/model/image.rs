//! Decoding what a model returns: PNG only, checked before it is trusted with memory.

/// The largest side accepted from a model: well above any model's output, well below sizes
/// whose decoding would exhaust memory.
const MAX_SIDE: u32 = 8192;

/// Why a model's image could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the image is a JPEG; only PNG is supported, so ask the model for PNG output")]
    Jpeg,
    #[error("the image is not a PNG")]
    NotPng,
    #[error("the image is {width}×{height}, larger than the {MAX_SIDE} px per side accepted")]
    TooLarge { width: u32, height: u32 },
    #[error("the PNG could not be decoded")]
    Png(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Decodes a model's PNG output. JPEG is recognised and refused with a clear error rather than
/// decoded: no model Marquee calls needs it, and a decoder would be the largest dependency here.
pub fn decode_image(bytes: &[u8]) -> Result<tiny_skia::Pixmap, ImageError> {
    const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(ImageError::Jpeg);
    }
    if !bytes.starts_with(PNG_MAGIC) || bytes.len() < 24 {
        return Err(ImageError::NotPng);
    }
    // The IHDR chunk always comes first: check the size before allocating for it.
    let be = |o: usize| u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    let (width, height) = (be(16), be(20));
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(ImageError::TooLarge { width, height });
    }
    tiny_skia::Pixmap::decode_png(bytes).map_err(|e| ImageError::Png(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trips_pixel_for_pixel() {
        let mut p = tiny_skia::Pixmap::new(33, 17).expect("non-zero size");
        for (i, px) in p.pixels_mut().iter_mut().enumerate() {
            let v = (i * 7 % 256) as u8;
            *px = tiny_skia::ColorU8::from_rgba(v, 255 - v, v / 2, 255).premultiply();
        }
        let png = crate::poster::encode_png(&p).expect("encodes");
        let back = decode_image(&png).expect("decodes");
        assert_eq!(back.data(), p.data());
    }

    #[test]
    fn decode_refuses_what_it_cannot_take() {
        assert!(matches!(
            decode_image(b"\xFF\xD8\xFF\xE0 jfif"),
            Err(ImageError::Jpeg)
        ));
        assert!(matches!(decode_image(b"hello"), Err(ImageError::NotPng)));
        let mut huge = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        huge.extend_from_slice(&100_000_u32.to_be_bytes());
        huge.extend_from_slice(&10_u32.to_be_bytes());
        let err = decode_image(&huge).expect_err("too large");
        assert!(
            matches!(
                err,
                ImageError::TooLarge {
                    width: 100_000,
                    height: 10
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("larger than"), "{err}");
        // A truncated PNG is an error, not a panic.
        let good = crate::poster::encode_png(&tiny_skia::Pixmap::new(4, 4).expect("non-zero size"))
            .expect("encodes");
        assert!(matches!(
            decode_image(&good[..good.len() / 2]),
            Err(ImageError::Png(_))
        ));
    }
}
