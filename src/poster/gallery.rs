//! The gallery: every style on a fixed set of prompts, plus a contact sheet.

use std::path::{Path, PathBuf};

pub fn write_gallery(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    Ok(vec![])
}
