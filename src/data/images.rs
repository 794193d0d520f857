//! `images`: the user's own image files: IDX (MNIST-style, gzip or not), NumPy `.npy` / `.npz`
//! arrays, or image folders (one sub-folder per class, PNG and JPEG).
//!
//! `train` and `test` name the split's files; `format` is inferred from them where that is
//! unambiguous (a folder; `.npz`; `.npy`; a name ending `-ubyte`, `.idx` or either plus
//! `.gz`). IDX and `.npy` images need their labels in a second file (`train_labels`,
//! `test_labels`); an `.npz` archive holds both arrays (`features_array`, default `x`, and
//! `labels_array`, default `y`); a folder's labels are its sub-folders. Folders are resized to
//! `size` (`[height, width]`, required) with `channels` (1 grey, the default, or 3 RGB);
//! arrays keep their shape, and a `size` or `channels` given must match it. The class count is
//! the largest label plus one (over both splits); a folder's classes are its sub-folder names.
//!
//! The files are read when the experiment is checked (`validate`; once per process and set of
//! options), so a bad file stops `validate` and `run` before anything is written. Relative paths
//! resolve against the current working directory. Layout and scaling: `data::pixels`.

use super::folder::read_folder;
use super::idx::{IdxArray, read_idx};
use super::npy::{NdArray, read_npy, read_npz};
use super::augment::Augment;
use super::pixels::{ImageSet, Normalize, Pixels, array_images, array_labels, image_info, splits};
use super::{DataInfo, Dataset};
use crate::check::FieldError;
use crate::error::did_you_mean;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{LazyLock, Mutex};

/// How the `images` dataset's files are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// IDX files (images `[n, rows, cols]` and labels `[n]`, unsigned bytes), gzip or not.
    Idx,
    /// A `.npy` array of images and one of labels.
    Npy,
    /// An `.npz` archive holding both arrays.
    Npz,
    /// One sub-folder of PNG/JPEG images per class.
    Folder,
}

/// Options of the `images` dataset: `train` and `test` are required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagesOptions {
    /// The training images: a file (IDX, `.npy`, `.npz`) or a folder.
    pub train: String,
    /// The test images, stored like `train`.
    pub test: String,
    /// IDX / `.npy`: the training labels' file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_labels: Option<String>,
    /// IDX / `.npy`: the test labels' file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_labels: Option<String>,
    /// `idx`, `npy`, `npz` or `folder`; inferred from `train` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<ImageFormat>,
    /// `[height, width]`: folders are resized to it (required for folders); arrays must have it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<[usize; 2]>,
    /// 1 (grey, the default for folders) or 3 (RGB); arrays must have it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<usize>,
    /// `.npz`: the images' array name (default `x`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features_array: Option<String>,
    /// `.npz`: the labels' array name (default `y`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels_array: Option<String>,
    /// Standardise with the training split's statistics: `true` or `"channel"` per channel,
    /// `"pixel"` per pixel position (`data::pixels::Normalize`).
    #[serde(default, skip_serializing_if = "Normalize::is_off")]
    pub normalize: Normalize,
    /// Augmentation of training batches, in order (`data::augment`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub augment: Vec<Augment>,
}

impl Default for ImagesOptions {
    /// Placeholder `train` and `test` (both required in a file), as `burnlab list` shows them.
    fn default() -> Self {
        ImagesOptions {
            train: "train".into(),
            test: "test".into(),
            train_labels: None,
            test_labels: None,
            format: None,
            size: None,
            channels: None,
            features_array: None,
            labels_array: None,
            normalize: Normalize::Off,
            augment: Vec::new(),
        }
    }
}

/// The most classes (the largest label plus one).
pub const MAX_CLASSES: usize = 1000;
/// The largest `size` side accepted (pixels).
pub const MAX_SIDE: usize = 4096;

type Checked<T> = Result<T, FieldError>;

/// Both splits and the class names (folders).
#[derive(Debug, Clone)]
struct Loaded {
    train: ImageSet,
    test: ImageSet,
    classes: Option<Vec<String>>,
}

/// The `DataInfo` and class names of every option set read in this process.
type Prepared = Checked<(DataInfo, Option<Vec<String>>)>;
static PREPARED: LazyLock<Mutex<HashMap<String, Prepared>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn prepared(o: &ImagesOptions) -> Prepared {
    let key = serde_json::to_string(o).unwrap_or_default();
    if let Some(p) = PREPARED.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return p.clone();
    }
    let p = read_both(o).map(|l| (info_of(&l), l.classes));
    PREPARED.lock().unwrap_or_else(|e| e.into_inner()).insert(key, p.clone());
    p
}

fn info_of(l: &Loaded) -> DataInfo {
    let classes = l.classes.as_ref().map_or(l.train.num_classes().max(l.test.num_classes()), Vec::len);
    image_info(l.train.shape, classes)
}

impl super::DatasetSource for ImagesOptions {
    fn name(&self) -> &'static str {
        "images"
    }
    fn summary(&self) -> &'static str {
        "your own images: IDX, NumPy .npy/.npz arrays, or folders of PNG/JPEG (one per class)"
    }
    fn validate(&self) -> Checked<()> {
        super::augment::validate(&self.augment)?;
        prepared(self).map(|_| ())
    }
    fn info(&self) -> DataInfo {
        prepared(self).map(|p| p.0).unwrap_or_else(|_| image_info([1, 1, 1], 2))
    }
    fn train_examples(&self) -> Option<usize> {
        None
    }
    fn class_names(&self) -> Option<Vec<String>> {
        prepared(self).ok().and_then(|p| p.1)
    }
    fn load(&self) -> crate::error::Result<Dataset> {
        super::augment::validate(&self.augment).map_err(super::option_error)?;
        let l = read_both(self).map_err(super::option_error)?;
        let (train, test) = splits(&l.train, &l.test, self.normalize, &self.augment);
        Ok(Dataset::new(info_of(&l), train, test))
    }
}

/// Reads and checks both splits.
fn read_both(o: &ImagesOptions) -> Checked<Loaded> {
    let format = format_of(o)?;
    check_keys(o, format)?;
    let (train, classes) = read_split(o, format, "train", &o.train, o.train_labels.as_deref())?;
    let (test, test_classes) = read_split(o, format, "test", &o.test, o.test_labels.as_deref())?;
    if test.shape != train.shape {
        return Err(FieldError::new(
            "test",
            format!("{}: images of [channels, height, width] {:?}, but the training images are {:?}", o.test, test.shape, train.shape),
        ));
    }
    if test_classes != classes {
        return Err(FieldError::new(
            "test",
            format!("{}: class folders {:?} differ from the training folders {:?}", o.test, test_classes, classes),
        ));
    }
    let n = classes.as_ref().map_or(train.num_classes().max(test.num_classes()), Vec::len);
    if n < 2 {
        return Err(FieldError::new("train", format!("{}: every label is 0; a classifier needs at least two classes", o.train)));
    }
    if n > MAX_CLASSES {
        let (key, path) = if test.num_classes() > train.num_classes() { ("test", &o.test) } else { ("train", &o.train) };
        let message = format!("{path}: holds the label {}; at most {MAX_CLASSES} classes (ids 0 to {})", n - 1, MAX_CLASSES - 1);
        return Err(FieldError::new(key, message));
    }
    Ok(Loaded { train, test, classes })
}

/// `format`, or the one `train`'s name says.
fn format_of(o: &ImagesOptions) -> Checked<ImageFormat> {
    if let Some(f) = o.format {
        return Ok(f);
    }
    let p = Path::new(&o.train);
    let name = o.train.to_ascii_lowercase();
    let stem = name.trim_end_matches(".gz");
    let inferred = if p.is_dir() {
        Some(ImageFormat::Folder)
    } else if stem.ends_with(".npz") {
        Some(ImageFormat::Npz)
    } else if stem.ends_with(".npy") {
        Some(ImageFormat::Npy)
    } else if stem.ends_with("-ubyte") || stem.ends_with(".idx") || stem.contains("idx1") || stem.contains("idx3") {
        Some(ImageFormat::Idx)
    } else {
        None
    };
    inferred.ok_or_else(|| {
        let why = if p.exists() { "its name does not say" } else { "it does not exist" };
        FieldError::new(
            "train",
            format!("`{}`: cannot infer the format ({why}); set `format` to \"idx\", \"npy\", \"npz\" or \"folder\"", o.train),
        )
    })
}

/// Keys that the format needs or refuses, and the ranges of `size` and `channels`.
fn check_keys(o: &ImagesOptions, format: ImageFormat) -> Checked<()> {
    let two_files = matches!(format, ImageFormat::Idx | ImageFormat::Npy);
    for (key, given) in [("train_labels", o.train_labels.is_some()), ("test_labels", o.test_labels.is_some())] {
        if two_files && !given {
            return Err(FieldError::new(key, format!("is missing: {format:?} images need their labels in a second file")));
        }
        if !two_files && given {
            return Err(FieldError::new(key, format!("applies to idx and npy files only; {format:?} holds its labels")));
        }
    }
    for (key, given) in [("features_array", o.features_array.is_some()), ("labels_array", o.labels_array.is_some())] {
        if given && format != ImageFormat::Npz {
            return Err(FieldError::new(key, "applies to npz archives only"));
        }
    }
    if let Some(c) = o.channels
        && c != 1
        && c != 3
    {
        return Err(FieldError::new("channels", format!("must be 1 (grey) or 3 (RGB), got {c}")));
    }
    match o.size {
        Some([h, w]) if !(1..=MAX_SIDE).contains(&h) || !(1..=MAX_SIDE).contains(&w) => {
            Err(FieldError::new("size", format!("sides must be between 1 and {MAX_SIDE}, got [{h}, {w}]")))
        }
        None if format == ImageFormat::Folder => {
            Err(FieldError::new("size", "is missing: folder images are resized to `size = [height, width]`"))
        }
        _ => Ok(()),
    }
}

/// One split's images (and the class names of a folder).
fn read_split(
    o: &ImagesOptions,
    format: ImageFormat,
    key: &'static str,
    path: &str,
    labels: Option<&str>,
) -> Checked<(ImageSet, Option<Vec<String>>)> {
    let at = |e: String| FieldError::new(key, e);
    let labels_key = if key == "train" { "train_labels" } else { "test_labels" };
    let (shape, pixels, ids, classes) = match format {
        ImageFormat::Folder => {
            let [h, w] = o.size.unwrap_or([1, 1]);
            let f = read_folder(Path::new(path), [h, w], o.channels.unwrap_or(1)).map_err(at)?;
            ([o.channels.unwrap_or(1), h, w], Pixels::U8(f.pixels), f.labels, Some(f.classes))
        }
        ImageFormat::Idx => {
            let images = idx_images(path).map_err(at)?;
            let l = read_idx(Path::new(labels.unwrap_or_default())).map_err(|e| FieldError::new(labels_key, e))?;
            let ids = idx_labels(l, labels.unwrap_or_default()).map_err(|e| FieldError::new(labels_key, e))?;
            (images.0, images.1, ids, None)
        }
        ImageFormat::Npy => {
            let a = read_npy(Path::new(path)).map_err(at)?;
            let (shape, pixels) = array_images(a).map_err(|e| at(format!("{path}: {e}")))?;
            let lp = labels.unwrap_or_default();
            let l = read_npy(Path::new(lp)).map_err(|e| FieldError::new(labels_key, e))?;
            let ids = array_labels(l).map_err(|e| FieldError::new(labels_key, format!("{lp}: {e}")))?;
            (shape, pixels, ids, None)
        }
        ImageFormat::Npz => {
            let (shape, pixels, ids) = npz_split(o, path).map_err(at)?;
            (shape, pixels, ids, None)
        }
    };
    if format != ImageFormat::Folder {
        check_shape(o, path, shape)?;
    }
    let set = ImageSet::new(shape, pixels, ids).map_err(|e| {
        let files = labels.map_or(path.to_string(), |l| format!("{path} and {l}"));
        at(format!("{files}: {e}"))
    })?;
    Ok((set, classes))
}

/// The given `size` and `channels` must be the arrays'.
fn check_shape(o: &ImagesOptions, path: &str, [c, h, w]: [usize; 3]) -> Checked<()> {
    if let Some(size) = o.size
        && size != [h, w]
    {
        return Err(FieldError::new("size", format!("is {size:?}, but {path} holds images of [{h}, {w}] (arrays are not resized)")));
    }
    if let Some(want) = o.channels
        && want != c
    {
        return Err(FieldError::new("channels", format!("is {want}, but {path} holds images of {c} channel(s)")));
    }
    Ok(())
}

/// IDX images `[n, rows, cols]`.
fn idx_images(path: &str) -> Result<([usize; 3], Pixels), String> {
    let IdxArray { dims, data } = read_idx(Path::new(path))?;
    match dims[..] {
        [_, h, w] => Ok(([1, h, w], Pixels::U8(data))),
        _ => Err(format!("{path}: IDX dimensions {dims:?}; expected images [n, rows, cols]")),
    }
}

/// IDX labels `[n]`.
fn idx_labels(a: IdxArray, path: &str) -> Result<Vec<i64>, String> {
    match a.dims[..] {
        [_] => Ok(a.data.into_iter().map(i64::from).collect()),
        _ => Err(format!("{path}: IDX dimensions {:?}; expected labels [n]", a.dims)),
    }
}

/// An `.npz` archive's images and labels.
fn npz_split(o: &ImagesOptions, path: &str) -> Result<([usize; 3], Pixels, Vec<i64>), String> {
    let mut arrays = read_npz(Path::new(path))?;
    let mut take = |name: &str| -> Result<NdArray, String> {
        let names: Vec<String> = arrays.keys().cloned().collect();
        arrays.remove(name).ok_or_else(|| {
            let hint = did_you_mean(name, names.iter().map(String::as_str)).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
            format!("{path}: no array `{name}` (it holds {names:?}){hint}")
        })
    };
    let x = take(o.features_array.as_deref().unwrap_or("x"))?;
    let y = take(o.labels_array.as_deref().unwrap_or("y"))?;
    let (shape, pixels) = array_images(x).map_err(|e| format!("{path}: images: {e}"))?;
    let ids = array_labels(y).map_err(|e| format!("{path}: labels: {e}"))?;
    Ok((shape, pixels, ids))
}
