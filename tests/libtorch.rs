//! The LibTorch backend (cargo feature `tch`; run by the last stage of `scripts/test`):
//!
//! - every registered model family trains a few steps on LibTorch CPU through the real binary;
//! - parity: the same initial weights (initialised on ndarray, saved with `save_file`, loaded on
//!   LibTorch with `load_file`) give the same forward outputs on both backends within 1e-5, and
//!   the same losses over the first Adam steps on identical batches;
//! - a missing CUDA device or a misused `--gpus` is a user error (exit code 2) that names the fix;
//! - LibTorch's CPU thread count follows `RAYON_NUM_THREADS`, the runner's per-trial share.
//!
//! Families and datasets come from the registries (`models::families()`, `data::datasets()`):
//! each family runs on the first shipped dataset its default parameters fit.

#![cfg(feature = "tch")]

mod common;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor};
use burnlab::backend::{Backend, BackendKind, DeviceSel, tch_support};
use burnlab::data::{Dataset, DeviceSplit};
use burnlab::models::{Classifier, Families, Family, Inputs, ModelSpec, families};
use burnlab::open::Entry;
use burnlab::train::{TrainingSpec, build_optimizer};
use common::{Scratch, stderr};
use std::collections::BTreeMap;
use std::path::Path;

/// Forward outputs must agree within this (absolute, or relative to the ndarray value).
const FORWARD_TOL: f32 = 1e-5;
/// Training losses over the first steps must agree within this (absolute or relative).
const TRAIN_TOL: f32 = 1e-5;
/// Adam steps compared.
const TRAIN_STEPS: usize = 3;
/// Examples per batch in the parity tests.
const BATCH: usize = 16;

const LIBTORCH_CPU: Backend = Backend { kind: BackendKind::Libtorch, device: DeviceSel::Cpu };
const NDARRAY: Backend = Backend { kind: BackendKind::Ndarray, device: DeviceSel::Cpu };

/// A registered family's default spec with the shipped dataset it runs on.
struct Case {
    family: &'static str,
    spec: ModelSpec,
    dataset_name: &'static str,
    dataset_spec: burnlab::data::DatasetSpec,
    data: Dataset,
}

/// The classifier families: not `gan` (it trains adversarially and has no logits to compare)
/// and not `command` (the user's program, which runs on no backend of ours).
fn classifier_families() -> impl Iterator<Item = &'static Entry<Families>> {
    families().iter().filter(|f| !matches!(f.name, "gan" | "command"))
}

/// One case per classifier family: its defaults on the first dataset that loads and fits them.
fn cases() -> Vec<Case> {
    let datasets: Vec<_> = burnlab::data::datasets()
        .iter()
        .filter_map(|d| {
            // No validation split: these cases compare the backends on the plain splits.
            let spec = burnlab::data::DatasetSpec::resolve(d.default_value(), Some(0.0));
            spec.load().ok().map(|data| (d.name, spec, data))
        })
        .collect();
    assert!(!datasets.is_empty(), "no shipped dataset loads");
    classifier_families()
        .map(|f| {
            let spec = f.default_value();
            let (dataset_name, dataset_spec, data) = datasets
                .iter()
                .find(|(_, _, data)| spec.validate(&data.info).is_ok())
                .unwrap_or_else(|| panic!("family `{}`: its defaults fit no shipped dataset", f.name));
            Case { family: f.name, spec, dataset_name, dataset_spec: dataset_spec.clone(), data: data.clone() }
        })
        .collect()
}

/// `spec` with every top-level `*dropout*` parameter set to 0, so that training is deterministic.
fn without_dropout(spec: &ModelSpec) -> ModelSpec {
    let mut t = toml::Table::try_from(spec).unwrap();
    for (k, v) in t.iter_mut() {
        if k.contains("dropout") {
            *v = match v {
                toml::Value::Integer(_) => toml::Value::Integer(0),
                _ => toml::Value::Float(0.0),
            };
        }
    }
    t.try_into().unwrap()
}

fn assert_close(what: &str, ours: &[f32], reference: &[f32], tol: f32) {
    assert_eq!(ours.len(), reference.len(), "{what}: lengths differ");
    let mut worst = (0.0f32, 0usize);
    for (i, (a, b)) in ours.iter().zip(reference).enumerate() {
        let err = (a - b).abs() / b.abs().max(1.0);
        assert!(a.is_finite() && b.is_finite(), "{what}[{i}]: libtorch {a}, ndarray {b}");
        if err > worst.0 {
            worst = (err, i);
        }
    }
    let (err, i) = worst;
    eprintln!("{what}: largest error {err:.1e} (tolerance {tol:.0e})");
    assert!(err <= tol, "{what}[{i}]: libtorch {} vs ndarray {} (error {err:e} > {tol:e})", ours[i], reference[i]);
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// What a parity run produced on one backend.
struct Trace {
    /// Validation-mode logits of the first batch before training.
    logits: Vec<f32>,
    /// The training loss at each step.
    losses: Vec<f32>,
    /// Validation-mode logits of the first batch after training.
    logits_after: Vec<f32>,
}

/// Runs `model` on `backend`: forward on the first batch, then `TRAIN_STEPS` Adam steps on the
/// first `TRAIN_STEPS` batches of the training split.
fn trace<M: Classifier>(mut model: M, data: &Dataset, device: &Device) -> Trace {
    let split = DeviceSplit::new(&data.train, &data.info, device);
    assert!(split.len >= BATCH * TRAIN_STEPS, "training split too small");
    // Every modality of the batch (fusion reads several).
    let batch = |k: usize| split.slice_all(k * BATCH, (k + 1) * BATCH);
    let forward_valid = |model: &M| {
        let (xs, _) = batch(0);
        let modalities = xs.into_iter().map(|x| x.without_autodiff()).collect();
        values(model.valid().forward(&Inputs { modalities }))
    };
    let logits = forward_valid(&model);
    let cfg = TrainingSpec { lr: 1e-3, ..TrainingSpec::default() };
    let mut optim = build_optimizer(&cfg);
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let mut losses = Vec::new();
    for k in 0..TRAIN_STEPS {
        let (modalities, y): (Vec<Tensor<3>>, Tensor<1, Int>) = batch(k);
        let loss = loss_fn.forward(model.forward(&Inputs { modalities }), y);
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(cfg.lr, model, grads);
    }
    Trace { logits, losses, logits_after: forward_valid(&model) }
}

/// Initialises on ndarray, copies the weights to LibTorch through a file, runs both.
fn parity<F: Family>(family: &str, spec: &F, data: &Dataset, dir: &Path) {
    let nd = NDARRAY.training_device().unwrap();
    let lt = LIBTORCH_CPU.training_device().unwrap();
    assert!(format!("{lt:?}").contains("LibTorch"), "{lt:?}");
    nd.seed(7);
    let reference = spec.init(&data.info, &nd);
    let file = dir.join(format!("{family}.bpk"));
    reference.clone().save_file(&file).unwrap_or_else(|e| panic!("{family}: save_file: {e:?}"));
    let copy = spec.init(&data.info, &lt).load_file(&file);

    let want = trace(reference, data, &nd);
    let got = trace(copy, data, &lt);
    assert_close(&format!("{family} logits"), &got.logits, &want.logits, FORWARD_TOL);
    assert_close(&format!("{family} training losses"), &got.losses, &want.losses, TRAIN_TOL);
    assert_close(&format!("{family} logits after training"), &got.logits_after, &want.logits_after, TRAIN_TOL);
    // The comparison means something only if training changed the model.
    assert!(
        want.logits.iter().zip(&want.logits_after).any(|(a, b)| (a - b).abs() > 10.0 * TRAIN_TOL),
        "{family}: {TRAIN_STEPS} Adam steps did not change the logits"
    );
}

/// Runs `$body` with `$s` bound to the concrete spec behind `$spec` if it is one of the listed
/// [`Family`] types (parity needs the concrete Burn module); evaluates to whether it was.
macro_rules! with_classifier {
    ($spec:expr, $s:ident => $body:expr, $($ty:ty),+) => {{
        $(if let Some($s) = $spec.downcast_ref::<$ty>() {
            $body;
            true
        } else)+ {
            false
        }
    }};
}

#[test]
fn every_family_matches_ndarray_on_libtorch_cpu() {
    use burnlab::models::{
        attention::AttentionSpec, cnn::CnnSpec, fusion::FusionSpec, linear::LinearSpec, resnet::ResNetSpec,
    };
    use burnlab::models::{mlp::MlpSpec, rnn::GruSpec, rnn::LstmSpec};
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    for case in &cases {
        let spec = without_dropout(&case.spec);
        let ran = with_classifier!(spec, s => parity(case.family, s, &case.data, dir.path()),
            LinearSpec, MlpSpec, CnnSpec, ResNetSpec, GruSpec, LstmSpec, AttentionSpec, FusionSpec);
        assert!(ran, "{}: not a built-in classifier family (add its type above)", case.family);
    }
    assert_eq!(cases.len(), classifier_families().count());
}

/// An experiment file running every family in `cases` (same dataset) on `backend` for 3 steps.
fn experiment(name: &str, cases: &[&Case], backend: &str, device: &str) -> String {
    let mut doc = toml::Table::new();
    doc.insert("name".into(), name.into());
    doc.insert("backend".into(), backend.into());
    doc.insert("device".into(), device.into());
    doc.insert("dataset".into(), toml::Value::Table(toml::Table::try_from(&cases[0].dataset_spec).unwrap()));
    let training: toml::Table =
        toml::from_str("steps = 3\nbatch_size = 16\neval_every = 3\nlog_every = 1\nlr = 1e-3").unwrap();
    doc.insert("training".into(), toml::Value::Table(training));
    let models = cases.iter().map(|c| toml::Value::Table(toml::Table::try_from(&c.spec).unwrap())).collect();
    doc.insert("models".into(), toml::Value::Array(models));
    toml::to_string(&doc).unwrap()
}

fn summaries(results: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(results.join("trials")).unwrap() {
        let p = entry.unwrap().path().join("summary.json");
        out.push(serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap());
    }
    out
}

#[test]
fn every_family_trains_on_libtorch_cpu_through_the_binary() {
    let cases = cases();
    let mut by_dataset: BTreeMap<&str, Vec<&Case>> = BTreeMap::new();
    for c in &cases {
        by_dataset.entry(c.dataset_name).or_default().push(c);
    }
    let mut trained = Vec::new();
    for (dataset, group) in by_dataset {
        let s = Scratch::new();
        let name = format!("libtorch-{dataset}");
        let file = s.file("exp.toml", &experiment(&name, &group, "libtorch", "cpu"));
        let out = s.run(&file, &["--jobs", "2"]);
        assert!(out.status.success(), "{dataset}: {}", stderr(&out));
        let results = s.results().join(&name);
        for summary in summaries(&results) {
            let family = summary["family"].as_str().unwrap().to_string();
            assert_eq!(summary["status"], "completed", "{family}: {summary}");
            assert_eq!(summary["steps"], 3, "{family}");
            assert!(summary["backend"].as_str().unwrap().contains("libtorch"), "{family}: {summary}");
            // Two parallel trials on this machine's cores: each gets its share, at least one.
            let threads = summary["threads"].as_u64().unwrap();
            assert!(threads >= 1 && threads as usize <= burnlab::runner::worker::default_threads(), "{threads}");
            for metric in ["test.loss", "test.accuracy"] {
                let v = summary["final_metrics"][metric].as_f64().unwrap();
                assert!(v.is_finite() && v >= 0.0, "{family} {metric} = {v}");
            }
            // Three steps from a fresh initialisation: the test loss is still near ln(classes).
            let loss = summary["final_metrics"]["test.loss"].as_f64().unwrap();
            assert!(loss < 3.0 * (group[0].data.info.num_classes as f64).ln(), "{family}: test loss {loss}");
            trained.push(family);
        }
    }
    trained.sort();
    let mut want: Vec<String> = classifier_families().map(|f| f.name.to_string()).collect();
    want.sort();
    assert_eq!(trained, want);
}

#[test]
fn a_missing_cuda_device_is_a_user_error_naming_the_fix() {
    let cases = cases();
    let case = cases.iter().find(|c| c.family == "mlp").unwrap_or(&cases[0]);
    // One past the last device LibTorch sees: missing on any machine, GPU or not.
    let n = tch_support::cuda_device_count();
    let s = Scratch::new();
    let file = s.file("exp.toml", &experiment("cuda", &[case], "libtorch", &format!("cuda:{n}")));
    let out = s.run(&file, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("device cuda:{n} is not available")), "{err}");
    assert!(err.contains("help:"), "{err}");
    if n == 0 {
        assert!(err.contains("no CUDA device") && err.contains("device = \"cpu\""), "{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    // Nothing ran: no trial directory was created.
    assert!(!s.results().join("cuda").join("trials").exists());
}

#[test]
fn gpus_are_checked_before_any_trial_runs() {
    let cases = cases();
    let case = cases.iter().find(|c| c.family == "mlp").unwrap_or(&cases[0]);
    let s = Scratch::new();
    // --gpus on a CPU backend.
    let file = s.file("cpu.toml", &experiment("cpu", &[case], "libtorch", "cpu"));
    let out = s.run(&file, &["--gpus", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--gpus needs a CUDA backend"), "{}", stderr(&out));
    // --gpus listing a device LibTorch does not see, on a CUDA experiment.
    let n = tch_support::cuda_device_count();
    let file = s.file("gpu.toml", &experiment("gpu", &[case], "libtorch", "cuda"));
    let out = s.run(&file, &["--gpus", &n.to_string()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("device cuda:{n} is not available")), "{}", stderr(&out));
    // --gpus and --jobs together.
    let out = s.run(&file, &["--gpus", "0", "--jobs", "2"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot be used with"), "{}", stderr(&out));
}

#[test]
fn list_shows_libtorch_as_available() {
    let out = Scratch::new().burnlab(&["list", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let libtorch = v["backends"].as_array().unwrap().iter().find(|b| b["name"] == "libtorch").unwrap();
    assert_eq!(libtorch["available"], true);
}

/// Set by [`libtorch_threads_follow_rayon_num_threads`] for the copy of this test binary it starts.
const CHILD: &str = "BURNLAB_TEST_THREADS_CHILD";

#[test]
fn libtorch_threads_follow_rayon_num_threads() {
    if std::env::var_os(CHILD).is_some() {
        // In the child: LibTorch's thread count is process-wide, so it is checked in its own process.
        LIBTORCH_CPU.training_device().unwrap();
        let want: i32 = std::env::var("RAYON_NUM_THREADS").unwrap().parse().unwrap();
        assert_eq!(tch_support::threads(), want);
        return;
    }
    let cores = burnlab::runner::worker::default_threads();
    for n in [1, cores + 1] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "libtorch_threads_follow_rayon_num_threads", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .env("RAYON_NUM_THREADS", n.to_string())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "RAYON_NUM_THREADS={n}: {text}");
        assert!(text.contains("1 passed"), "{text}");
    }
}
