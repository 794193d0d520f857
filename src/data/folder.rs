//! Image folders: one sub-folder per class, holding PNG and JPEG files (decoded with the
//! `image` crate).
//!
//! Classes are the sub-folders' names, sorted (byte order): the first is class 0. Files are
//! read in sorted order within each class, resized to the stated `[height, width]` (exactly,
//! with a triangle filter, as PIL's bilinear `resize`), and converted to grey (one channel,
//! ITU-R 601-2 luma) or RGB (three). Hidden entries (names starting with `.`) are skipped; any
//! other file that is not `.png`, `.jpg` or `.jpeg` (any case) is an error, as is a folder
//! with fewer than two classes or a class without images.

use image::GenericImageView;
use image::imageops::FilterType;
use std::path::{Path, PathBuf};

/// The pixels and labels of an image folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderImages {
    /// The class names (sorted sub-folder names); label `i` is `classes[i]`.
    pub classes: Vec<String>,
    /// `[n, channels, height, width]` bytes, row-major.
    pub pixels: Vec<u8>,
    /// The class id of each image.
    pub labels: Vec<i64>,
}

/// The file extensions read (lower case).
pub const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Reads the folder `dir`: every image resized to `[height, width]` with `channels` (1 or 3).
///
/// # Errors
/// A message naming the folder or file: unreadable, fewer than two classes, a class without
/// images, a file that is not an image, an image that cannot be decoded.
pub fn read_folder(dir: &Path, [height, width]: [usize; 2], channels: usize) -> Result<FolderImages, String> {
    let classes = class_dirs(dir)?;
    let mut out = FolderImages { classes: Vec::new(), pixels: Vec::new(), labels: Vec::new() };
    for (id, (name, path)) in classes.into_iter().enumerate() {
        let files = image_files(&path)?;
        if files.is_empty() {
            return Err(format!("{}: class folder `{name}` holds no .png or .jpg images", path.display()));
        }
        for file in files {
            out.pixels.extend(decode(&file, [height, width], channels)?);
            out.labels.push(id as i64);
        }
        out.classes.push(name);
    }
    Ok(out)
}

/// The class sub-folders, sorted by name.
fn class_dirs(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let at = dir.display();
    let mut classes = Vec::new();
    for entry in sorted_entries(dir)? {
        if entry.is_dir() {
            let name = entry.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            classes.push((name, entry));
        }
    }
    match classes.len() {
        0 => Err(format!("{at}: holds no class sub-folders (expected one folder of images per class)")),
        1 => Err(format!(
            "{at}: holds one class sub-folder (`{}`); a classifier needs at least two (one folder of images per class)",
            classes[0].0
        )),
        _ => Ok(classes),
    }
}

/// The image files of a class folder, sorted; an error for any other (visible) file.
fn image_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in sorted_entries(dir)? {
        let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        if EXTENSIONS.contains(&ext.as_str()) {
            files.push(path);
        } else if path.is_file() {
            return Err(format!(
                "{}: not a .png or .jpg image (remove it or move it out of the folder)",
                path.display()
            ));
        }
    }
    Ok(files)
}

/// The entries of `dir` without hidden ones, sorted by name.
fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let read = std::fs::read_dir(dir).map_err(|e| format!("{}: cannot read the folder: {e}", dir.display()))?;
    let mut entries = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        if !entry.file_name().to_string_lossy().starts_with('.') {
            entries.push(entry.path());
        }
    }
    entries.sort();
    Ok(entries)
}

/// One image as `[channels, height, width]` bytes.
fn decode(path: &Path, [height, width]: [usize; 2], channels: usize) -> Result<Vec<u8>, String> {
    let img = image::open(path).map_err(|e| format!("{}: cannot decode the image: {e}", path.display()))?;
    let img = if (img.height() as usize, img.width() as usize) == (height, width) {
        img
    } else {
        img.resize_exact(width as u32, height as u32, FilterType::Triangle)
    };
    if let (1, image::DynamicImage::ImageLuma8(grey)) = (channels, &img) {
        return Ok(grey.clone().into_raw());
    }
    let rgb = img.to_rgb8().into_raw();
    if channels == 1 {
        return Ok(rgb.chunks_exact(3).map(luma).collect());
    }
    // Interleaved RGB (HWC) to planes (CHW).
    Ok((0..3).flat_map(|c| rgb.iter().skip(c).step_by(3).copied().collect::<Vec<_>>()).collect())
}

/// ITU-R 601-2 luma of an RGB pixel, rounded exactly as Pillow's `convert("L")` does.
fn luma(p: &[u8]) -> u8 {
    let [r, g, b] = [p[0], p[1], p[2]].map(u32::from);
    ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) as u8
}
