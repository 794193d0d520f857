//! Helpers for integration tests that drive the real `burnlab` binary in temp dirs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A small valid experiment (an MLP on MNIST-1D, 10 steps, one seed) that tests vary.
pub const SMALL_EXPERIMENT: &str = r#"name = "e"
seeds = [0]

[dataset]
name = "mnist1d"

[training]
lr = 0.01
steps = 10

[[models]]
family = "mlp"
hidden = 8
"#;

/// A scratch directory with an experiment file and a results folder.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch { dir: tempfile::tempdir().unwrap() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn results(&self) -> PathBuf {
        self.path().join("results")
    }

    /// Writes `text` as `name` and returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `burnlab ARGS` in the scratch dir, with the checkout's datasets, not yet started.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_burnlab"));
        cmd.args(args)
            .current_dir(self.path())
            .env("BURNLAB_DATASETS", Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"));
        cmd
    }

    /// Runs `burnlab ARGS` in the scratch dir.
    pub fn burnlab(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs an experiment quietly with results under the scratch dir.
    pub fn run(&self, file: &Path, extra: &[&str]) -> Output {
        let mut args = vec!["run", file.to_str().unwrap(), "--results", "results", "--quiet"];
        args.extend_from_slice(extra);
        self.burnlab(&args)
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A tiny MNIST-1D sweep: linear and a small MLP, two learning rates, two seeds (8 trials).
pub const TINY: &str = r#"
name = "tiny"
seeds = [0, 1]

[dataset]
name = "mnist1d"

[training]
lr = 1e-2
batch_size = 50
steps = 30
eval_every = 10
log_every = 5

[[models]]
family = "linear"

[[models]]
family = "mlp"
hidden = 16

[sweep.params]
"training.lr" = [1e-2, 3e-3]
"#;

/// Reads a trial's summary.json.
pub fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// The trial directories of an experiment, by id.
pub fn trial_dirs(results: &Path, name: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(results.join(name).join("trials")).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

/// `(step, value)` rows of `split/metric` in a trial's metrics.csv.
pub fn csv_metric(dir: &Path, split: &str, metric: &str) -> Vec<(u64, f64)> {
    std::fs::read_to_string(dir.join("metrics.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|r| r[1] == split && r[2] == metric)
        .map(|r| (r[0].parse().unwrap(), r[3].parse().unwrap()))
        .collect()
}

/// The python of the test venv with `tensorboard` (installed on first use).
pub fn tensorboard_python() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/setup-test-venv");
    let out = Command::new("bash").arg(script).output().expect("run scripts/setup-test-venv");
    assert!(out.status.success(), "setup-test-venv failed: {}", stderr(&out));
    PathBuf::from(stdout(&out).lines().last().unwrap().trim())
}

/// A flat row-major tensor from a PyTorch fixture (`{"shape": [...], "data": [...]}`).
pub struct Flat {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Flat {
    pub fn from_json(v: &serde_json::Value) -> Flat {
        assert!(!v.is_null(), "missing fixture entry");
        let shape = v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        let data = v["data"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
        Flat { shape, data }
    }

    /// The transpose of a 2D tensor (PyTorch `[out, in]` to Burn `[in, out]`).
    pub fn t(&self) -> Flat {
        let [r, c] = [self.shape[0], self.shape[1]];
        let data = (0..r * c).map(|i| self.data[(i % r) * c + i / r]).collect();
        Flat { shape: vec![c, r], data }
    }

    pub fn tensor<const D: usize>(&self, device: &burn::tensor::Device) -> burn::tensor::Tensor<D> {
        burn::tensor::Tensor::from_data(burn::tensor::TensorData::new(self.data.clone(), self.shape.clone()), device)
    }

    pub fn param<const D: usize>(&self, device: &burn::tensor::Device) -> burn::module::Param<burn::tensor::Tensor<D>> {
        burn::module::Param::from_tensor(self.tensor(device))
    }
}

/// Tolerance of the PyTorch parity tests (absolute, or relative to PyTorch's value).
pub const PARITY_TOLERANCE: f32 = 1e-5;

/// Asserts `got` matches the PyTorch values `want` element-wise within [`PARITY_TOLERANCE`].
pub fn check<const D: usize>(what: &str, got: burn::tensor::Tensor<D>, want: &Flat) {
    assert_eq!(got.dims().to_vec(), want.shape, "{what}: shape");
    let got = got.into_data().try_into_vec_as::<f32>().unwrap();
    for (i, (g, w)) in got.iter().zip(&want.data).enumerate() {
        let diff = (g - w).abs();
        assert!(
            diff <= PARITY_TOLERANCE || diff <= PARITY_TOLERANCE * w.abs(),
            "{what}[{i}]: burnlab {g}, PyTorch {w} (diff {diff:e})"
        );
    }
}

/// A PyTorch fixture file, `tests/fixtures/torch/NAME.json` (written by `scripts/make_*fixtures.py`).
pub struct Fixture {
    pub json: serde_json::Value,
}

impl Fixture {
    pub fn load(name: &str) -> Fixture {
        let path = format!("{}/tests/fixtures/torch/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        Fixture { json: serde_json::from_str(&text).unwrap() }
    }

    pub fn flat(&self, key: &str) -> Flat {
        Flat::from_json(&self.json[key])
    }

    pub fn param(&self, name: &str) -> Flat {
        let v = &self.json["params"][name];
        assert!(!v.is_null(), "fixture has no parameter {name}");
        Flat::from_json(v)
    }

    pub fn grad(&self, name: &str) -> Flat {
        let v = &self.json["grads"][name];
        assert!(!v.is_null(), "fixture has no gradient {name}");
        Flat::from_json(v)
    }

    pub fn param_names(&self) -> Vec<String> {
        self.json["params"].as_object().unwrap().keys().cloned().collect()
    }

    /// The cross-entropy loss of `logits` against the fixture's targets, checked against its loss.
    pub fn checked_loss(
        &self,
        logits: burn::tensor::Tensor<2>,
        device: &burn::tensor::Device,
    ) -> burn::tensor::Tensor<1> {
        use burn::tensor::{Int, Tensor, TensorData};
        let targets: Vec<i64> = self.json["targets"].as_array().unwrap().iter().map(|t| t.as_i64().unwrap()).collect();
        let n = targets.len();
        let y = Tensor::<1, Int>::from_data(TensorData::new(targets, [n]), device);
        let loss = burn::nn::loss::CrossEntropyLossConfig::new().init(device).forward(logits, y);
        let want = self.json["loss"].as_f64().unwrap() as f32;
        check("loss", loss.clone().reshape([1]), &Flat { shape: vec![1], data: vec![want] });
        loss
    }
}

/// Sets a Burn `Linear` from PyTorch's `PREFIX.weight` / `PREFIX.bias`.
pub fn set_linear(layer: &mut burn::nn::Linear, fx: &Fixture, prefix: &str, device: &burn::tensor::Device) {
    let weight = fx.param(&format!("{prefix}.weight")).t();
    assert_eq!(layer.weight.dims().to_vec(), weight.shape, "{prefix}.weight shape");
    layer.weight = weight.param(device);
    layer.bias = Some(fx.param(&format!("{prefix}.bias")).param(device));
}

/// Checks a `Linear`'s gradients against PyTorch's for `PREFIX`.
pub fn check_linear_grads(layer: &burn::nn::Linear, grads: &burn::tensor::Gradients, fx: &Fixture, prefix: &str) {
    let w = format!("{prefix}.weight");
    check(&w, layer.weight.val().grad(grads).unwrap(), &fx.grad(&w).t());
    let b = format!("{prefix}.bias");
    check(&b, layer.bias.as_ref().unwrap().val().grad(grads).unwrap(), &fx.grad(&b));
}

/// The TensorBoard run folder of a trial (`results/NAME/runs/<readable name>_<id>`), given its
/// `trials/<id>` folder; it must be the only one.
pub fn run_dir_of(trial_dir: &Path) -> PathBuf {
    let id = trial_dir.file_name().unwrap().to_string_lossy().into_owned();
    let runs = trial_dir.parent().unwrap().parent().unwrap().join("runs");
    let found: Vec<PathBuf> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().ends_with(&format!("_{id}")))
        .collect();
    assert_eq!(found.len(), 1, "one run of trial {id} in {}: {found:?}", runs.display());
    found[0].clone()
}

/// The metrics of the JSON object `v` whose names start with `prefix`, in name order.
pub fn prefixed(v: &serde_json::Value, prefix: &str) -> Vec<(String, f64)> {
    v.as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
        .collect()
}

/// The torch venv of `scripts/setup-torch-venv` (`$BURNLAB_TORCH_VENV`, which `scripts/test`
/// exports; default `~/.cache/burnlab/torch-2.9.0`), if its python imports torch and numpy; else
/// why not (tests that need it print that and pass without running).
pub fn torch_venv() -> Result<PathBuf, String> {
    let venv = match std::env::var_os("BURNLAB_TORCH_VENV") {
        Some(v) => PathBuf::from(v),
        None => Path::new(&std::env::var_os("HOME").ok_or("HOME is not set")?).join(".cache/burnlab/torch-2.9.0"),
    };
    let python = venv.join("bin/python3");
    match Command::new(&python).args(["-c", "import numpy, torch"]).output() {
        Ok(out) if out.status.success() => Ok(venv),
        Ok(out) => Err(format!("{} cannot import torch and numpy: {}", python.display(), stderr(&out).trim())),
        Err(e) => Err(format!("no torch venv ({}: {e}); run scripts/setup-torch-venv", python.display())),
    }
}
