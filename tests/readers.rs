//! The image-data readers (IDX, NumPy `.npy`/`.npz`, image folders) on files written by NumPy
//! and Pillow (`scripts/make_image_fixtures.py`, values in tests/fixtures/images/expected.json),
//! and bad files through the real binary: each a clear error naming the file, exit code 2,
//! nothing written, no panic.

mod common;

use burnlab::data::folder::read_folder;
use burnlab::data::idx::read_idx;
use burnlab::data::npy::{Values, read_npy, read_npz};
use burnlab::data::pixels::{Pixels, array_images};
use common::*;
use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images").join(rel)
}

fn expected() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap()
}

fn ints(v: &serde_json::Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

fn bytes(v: &serde_json::Value) -> Vec<u8> {
    ints(v).into_iter().map(|x| x as u8).collect()
}

#[test]
fn idx_files_plain_and_gzip_read_as_numpy_wrote_them() {
    let want = &expected()["idx"];
    let images = read_idx(&fixture("idx/train-images-idx3-ubyte")).unwrap();
    assert_eq!(images.dims, vec![12, 5, 4]);
    assert_eq!(images.data, bytes(&want["train_images"]));
    assert_eq!(read_idx(&fixture("idx/train-labels-idx1-ubyte")).unwrap().data, bytes(&want["train_labels"]));
    let gz = read_idx(&fixture("idx/t10k-images-idx3-ubyte.gz")).unwrap();
    assert_eq!((gz.dims, gz.data), (vec![6, 5, 4], bytes(&want["test_images"])));
    assert_eq!(read_idx(&fixture("idx/t10k-labels-idx1-ubyte.gz")).unwrap().data, bytes(&want["test_labels"]));
}

#[test]
fn npy_and_npz_arrays_read_in_each_dtype() {
    let want = &expected()["npy"];
    let grey = bytes(&want["grey"]);
    let x = read_npy(&fixture("npy/x_u8.npy")).unwrap();
    assert_eq!((x.shape.clone(), x.values.clone()), (vec![10, 3, 4], Values::U8(grey.clone())));
    let labels = ints(&want["labels"]);
    assert_eq!(read_npy(&fixture("npy/y_i64.npy")).unwrap().values, Values::I64(labels.clone()));
    let Values::F32(f) = read_npy(&fixture("npy/x_f32.npy")).unwrap().values else { panic!("float32") };
    assert!(f.iter().zip(&grey).all(|(a, &b)| *a == (f64::from(b) / 255.0) as f32));
    let Values::F64(d) = read_npy(&fixture("npy/x_f64.npy")).unwrap().values else { panic!("float64") };
    let want_f64: Vec<f32> = want["f64"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
    assert_eq!(d.iter().map(|&v| v as f32).collect::<Vec<_>>(), want_f64);
    let npz = read_npz(&fixture("npy/train.npz")).unwrap();
    assert_eq!(npz.keys().collect::<Vec<_>>(), ["x", "y"], "savez_compressed members, `.npy` dropped");
    assert_eq!((npz["x"].values.clone(), npz["y"].values.clone()), (Values::U8(grey), Values::I64(labels)));
    assert_eq!(read_npz(&fixture("npy/test.npz")).unwrap()["x"].shape, vec![4, 3, 4], "stored (savez)");
    // Channels-last RGB arrays become channel planes: [n, c, h, w].
    let (shape, pixels) = array_images(read_npy(&fixture("npy/x_rgb_hwc.npy")).unwrap()).unwrap();
    assert_eq!((shape, pixels), ([3, 2, 3], Pixels::U8(bytes(&want["rgb_chw"]))));
}

#[test]
fn image_folders_decode_as_pillow_does() {
    let want = &expected()["folder"];
    let grey = read_folder(&fixture("folder/train"), [8, 6], 1).unwrap();
    assert_eq!(grey.classes, ["boot", "shirt"]);
    assert_eq!(grey.labels, ints(&want["labels"]));
    let rgb = read_folder(&fixture("folder/train"), [8, 6], 3).unwrap();
    let per = 8 * 6;
    let resized = want["resized_index"].as_u64().unwrap() as usize;
    for (channels, got, want) in [(1, &grey.pixels, bytes(&want["grey"])), (3, &rgb.pixels, bytes(&want["rgb"]))] {
        assert_eq!(got.len(), want.len());
        for (i, (a, b)) in got.chunks(per * channels).zip(want.chunks(per * channels)).enumerate() {
            let worst = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
            // PNGs decode exactly (RGB, and grey through Pillow's luma rounding). JPEG decoders
            // differ by a level or two in their inverse DCT; the resized image (16x12 to 8x6,
            // both bilinear with an antialiasing support) by a few.
            let jpeg = i % 4 == 3;
            let bound = if i % 4 == resized {
                3
            } else if jpeg {
                2
            } else {
                0
            };
            assert!(worst <= bound, "image {i} ({channels} channel(s)): off by {worst}, allowed {bound}");
        }
    }
}

/// An experiment on the `images` dataset (`dataset` lines), one `linear` model, 5 steps.
fn experiment(dataset: &str) -> String {
    with_model(dataset, "family = \"linear\"")
}

/// The same with the `model` lines.
fn with_model(dataset: &str, model: &str) -> String {
    format!(
        "name = \"img\"\nseeds = [0]\n\n[dataset]\nname = \"images\"\n{dataset}\n\n[training]\nlr = 0.05\nbatch_size = 4\nsteps = 5\neval_every = 5\n\n[[models]]\n{model}\n"
    )
}

/// Runs `dataset` (paths relative to the fixtures) and asserts a refusal naming `want`.
fn refused(dataset: &str, want: &[&str]) {
    let s = Scratch::new();
    let text = experiment(dataset).replace("@", fixture("").to_str().unwrap());
    s.file("e.toml", &text);
    let out = s.run(Path::new("e.toml"), &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.starts_with("error: e.toml:"), "located in the experiment file: {err}");
    for w in want {
        assert!(err.contains(w), "missing {w:?} in:\n{err}");
    }
    assert!(!s.results().exists(), "nothing written: {err}");
}

#[test]
fn bad_files_are_refused_with_the_file_named() {
    let idx = "train = \"@idx/train-images-idx3-ubyte\"\ntrain_labels = \"@idx/train-labels-idx1-ubyte\"\n\
               test = \"@idx/t10k-images-idx3-ubyte.gz\"\ntest_labels = \"@idx/t10k-labels-idx1-ubyte.gz\"";
    let truncated = idx.replace("idx/train-images-idx3-ubyte", "idx/truncated-images-idx3-ubyte.gz");
    refused(&truncated, &["`dataset.train`", "truncated-images-idx3-ubyte.gz", "truncated"]);
    let magic = idx.replace("idx/train-labels-idx1-ubyte", "idx/wrong-magic-labels-idx1-ubyte");
    refused(&magic, &["`dataset.train_labels`", "wrong-magic-labels-idx1-ubyte", "magic number 0x12000801"]);
    let npy = "train = \"@npy/strings.npy\"\ntrain_labels = \"@npy/y_i64.npy\"\ntest = \"@npy/x_u8.npy\"\ntest_labels = \"@npy/y_i64.npy\"";
    refused(npy, &["`dataset.train`", "strings.npy", "dtype <U5 (unicode strings)", "expected uint8, float32"]);
    let short = npy.replace("strings.npy", "x_u8.npy").replace("@npy/y_i64.npy\"\ntest", "@npy/y_short.npy\"\ntest");
    refused(&short, &["x_u8.npy and", "y_short.npy", "the label count (9) does not match the image count (10)"]);
    let folder = |train: &str| format!("train = \"@{train}\"\ntest = \"@folder/test\"\nsize = [8, 6]");
    refused(&folder("one-class"), &["`dataset.train`", "one-class", "one class sub-folder (`only`)"]);
    refused(&folder("corrupt"), &["`dataset.train`", "corrupt/b/1.png", "cannot decode the image"]);
    refused("train = \"@folder/train\"\ntest = \"@folder/test\"", &["`dataset.size` is missing"]);
    refused(
        "train = \"@npy/train.npz\"\ntest = \"@npy/test.npz\"\nlabels_array = \"z\"",
        &["no array `z`", "did you mean `y`?"],
    );
}

#[test]
fn each_format_trains_through_the_normal_path() {
    let cases = [
        "train = \"@idx/train-images-idx3-ubyte\"\ntrain_labels = \"@idx/train-labels-idx1-ubyte\"\n\
         test = \"@idx/t10k-images-idx3-ubyte.gz\"\ntest_labels = \"@idx/t10k-labels-idx1-ubyte.gz\"",
        "train = \"@npy/x_f32.npy\"\ntrain_labels = \"@npy/y_u8.npy\"\ntest = \"@npy/x_u8.npy\"\ntest_labels = \"@npy/y_f64.npy\"",
        "train = \"@npy/train.npz\"\ntest = \"@npy/test.npz\"",
        "train = \"@folder/train\"\ntest = \"@folder/test\"\nsize = [8, 6]\nchannels = 3",
    ];
    let rgb_cnn = "family = \"cnn\"\ndim = 2\nchannels = [4]\nkernels = [3]\nstrides = 1\npadding = 0";
    let models = ["family = \"linear\""; 4].into_iter().chain([rgb_cnn]);
    // The 2-D CNN on RGB folders: 3 input channels, 3x3 kernels, an 6x4 map of 4 channels.
    let params = [20 * 3 + 3, 12 * 2 + 2, 12 * 2 + 2, 144 * 2 + 2, 4 * 3 * 9 + 4 + 6 * 4 * 4 * 2 + 2];
    for ((case, model), params) in cases.iter().chain([&cases[3]]).zip(models).zip(params) {
        let s = Scratch::new();
        let text = with_model(case, model).replace("@", fixture("").to_str().unwrap());
        let out = s.run(&s.file("e.toml", &text), &[]);
        assert!(out.status.success(), "{case}: {}", stderr(&out));
        let dirs = trial_dirs(&s.results(), "img");
        let sum = summary(&dirs[0]);
        assert_eq!(sum["status"], "completed", "{case}: {sum}");
        assert_eq!(sum["num_params"], params, "{case}: inputs x classes + classes");
    }
}
