//! `data = "npy"`: the trial's dataset, already split as for a built-in family (validation
//! carve included), as NumPy files a program reads.
//!
//! `<dir>/{split}_x.npy` is float32 `[n, seq_len, channels]`; `<dir>/{split}_y.npy` is int64
//! `[n]` class ids, or float32 `[n]` targets for regression; for split in `train`, `valid`
//! (when there is one), `test`. The directory, `results/NAME/data/<hash>/` with the hash of the
//! resolved `[dataset]`, is shared by the trials that load the same data: written once into
//! a temporary directory beside it and renamed, so two workers racing both end up reading one
//! complete copy.

use crate::data::{Dataset, DatasetSpec, Split, Task};
use crate::error::{Error, Result};
use npyz::WriterBuilder;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The folder of a results directory that holds the exported datasets.
pub const DATA_DIR: &str = "data";

/// What the program's configuration says about the exported data (`data` in its JSON).
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    /// The directory holding the `.npy` files.
    pub dir: PathBuf,
    /// `classification` or `regression`.
    pub task: Task,
    /// Classes (1 for regression).
    pub num_classes: usize,
    /// One example's shape: `[seq_len, channels]`.
    pub shape: [usize; 2],
    /// The splits written, in order (`train`, `valid` when present, `test`).
    pub splits: Vec<&'static str>,
}

/// The export directory of `spec` under `results` (`data/<first 12 hex digits of the SHA-256 of
/// the resolved dataset as JSON>`).
pub fn dir_of(results: &Path, spec: &DatasetSpec) -> PathBuf {
    let json = serde_json::to_string(spec).unwrap_or_default();
    let hash: String = Sha256::digest(json.as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect();
    results.join(DATA_DIR).join(hash)
}

/// Writes one `.npy` file of `values` with `shape`.
fn write_npy<T: npyz::Serialize + npyz::AutoSerialize + Copy>(path: &Path, shape: &[u64], values: &[T]) -> Result<()> {
    let io = |e| Error::io(path, e);
    let file = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    let mut w = npyz::WriteOptions::new().default_dtype().shape(shape).writer(file).begin_nd().map_err(io)?;
    w.extend(values.iter().copied()).map_err(io)?;
    w.finish().map_err(io)
}

/// Writes `split`'s two files into `dir`.
fn write_split(dir: &Path, name: &str, split: &Split, data: &Dataset) -> Result<()> {
    let n = split.len() as u64;
    let (t, c) = (data.info.seq_len as u64, data.info.channels as u64);
    write_npy(&dir.join(format!("{name}_x.npy")), &[n, t, c], &split.features())?;
    let y = dir.join(format!("{name}_y.npy"));
    match data.info.task {
        Task::Classification => write_npy(&y, &[n], &split.y),
        Task::Regression => write_npy(&y, &[n], &split.target),
    }
}

/// Exports `data` (loaded from `spec`) under `results`, unless an earlier trial did.
///
/// # Errors
/// A file that could not be written.
pub fn export(results: &Path, spec: &DatasetSpec, data: &Dataset) -> Result<Exported> {
    let dir = dir_of(results, spec);
    let mut splits = vec![("train", &data.train)];
    splits.extend(data.valid.as_ref().map(|v| ("valid", v)));
    splits.push(("test", &data.test));
    let exported = Exported {
        dir: std::path::absolute(&dir).unwrap_or_else(|_| dir.clone()),
        task: data.info.task,
        num_classes: data.info.num_classes,
        shape: [data.info.seq_len, data.info.channels],
        splits: splits.iter().map(|s| s.0).collect(),
    };
    if dir.is_dir() {
        return Ok(exported);
    }
    let parent = dir.parent().unwrap_or(results);
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let tmp = tempfile::Builder::new().prefix(".tmp-").tempdir_in(parent).map_err(|e| Error::io(parent, e))?;
    for (name, split) in &splits {
        write_split(tmp.path(), name, split, data)?;
    }
    let tmp = tmp.keep();
    if let Err(e) = std::fs::rename(&tmp, &dir) {
        // Another worker renamed its copy first: use that one.
        let _ = std::fs::remove_dir_all(&tmp);
        if !dir.is_dir() {
            return Err(Error::io(&dir, e));
        }
    }
    Ok(exported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DataInfo;

    #[test]
    fn writes_numpy_files_once() {
        let info = DataInfo { seq_len: 2, channels: 1, num_classes: 2, ..Default::default() };
        let data = Dataset::new(info, Split::new(vec![0.5, 1.0, 2.0, 3.0], vec![0, 1]), Split::new(vec![4.0, 5.0], vec![1]));
        let results = tempfile::tempdir().unwrap();
        let spec = DatasetSpec::resolve(crate::data::datasets().default_of("mnist1d").unwrap(), Some(0.0));
        let e = export(results.path(), &spec, &data).unwrap();
        assert_eq!(e.splits, ["train", "test"]);
        let x = std::fs::read(e.dir.join("train_x.npy")).unwrap();
        assert!(x.starts_with(b"\x93NUMPY"));
        let header = String::from_utf8_lossy(&x[10..x.len() - 16]).to_string();
        assert!(header.contains("'descr': '<f4'") && header.contains("'shape': (2, 2, 1,"), "{header}");
        assert_eq!(&x[x.len() - 4..], &3.0f32.to_le_bytes());
        let y = std::fs::read(e.dir.join("test_y.npy")).unwrap();
        assert!(String::from_utf8_lossy(&y).contains("'descr': '<i8'"));
        assert_eq!(&y[y.len() - 8..], &1i64.to_le_bytes());
        // A second export finds the directory and writes nothing.
        std::fs::remove_file(e.dir.join("test_y.npy")).unwrap();
        export(results.path(), &spec, &data).unwrap();
        assert!(!e.dir.join("test_y.npy").exists());
    }
}
