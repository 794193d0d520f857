//! Compute backends: names in experiment files mapped to Burn devices.
//!
//! This is the one place that constructs the deprecated ndarray and LibTorch devices, so the
//! deprecation warnings are silenced here and nowhere else.

use crate::error::UserError;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[cfg(feature = "tch")]
pub mod cuda_lib;

/// A backend named in an experiment file (`backend = "flex"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Burn's pure-Rust CPU backend (the default; the fastest on CPU).
    #[default]
    Flex,
    /// Burn's ndarray CPU backend.
    Ndarray,
    /// LibTorch through burn-tch (cargo feature `tch`), on CPU or CUDA.
    Libtorch,
}

impl BackendKind {
    /// Every backend, in display order.
    pub const ALL: [BackendKind; 3] = [BackendKind::Flex, BackendKind::Ndarray, BackendKind::Libtorch];

    /// The name used in experiment files.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::Ndarray => "ndarray",
            BackendKind::Libtorch => "libtorch",
        }
    }

    /// One line saying what the backend is.
    pub fn summary(self) -> &'static str {
        match self {
            BackendKind::Flex => "pure-Rust CPU backend (default)",
            BackendKind::Ndarray => "pure-Rust CPU backend on ndarray",
            BackendKind::Libtorch => "LibTorch on CPU or CUDA (device = \"cpu\" | \"cuda\" | \"cuda:N\")",
        }
    }

    /// Whether this build of burnlab includes the backend.
    pub fn compiled_in(self) -> bool {
        match self {
            BackendKind::Flex | BackendKind::Ndarray => true,
            BackendKind::Libtorch => cfg!(feature = "tch"),
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a trial runs: the CPU or one CUDA device (LibTorch only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeviceSel {
    /// The host CPU.
    #[default]
    Cpu,
    /// A CUDA device by index.
    Cuda(usize),
}

impl fmt::Display for DeviceSel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSel::Cpu => f.write_str("cpu"),
            DeviceSel::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl FromStr for DeviceSel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cpu" => Ok(DeviceSel::Cpu),
            "cuda" => Ok(DeviceSel::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|i| i.parse().ok())
                .map(DeviceSel::Cuda)
                .ok_or_else(|| format!("invalid device `{s}`, expected \"cpu\", \"cuda\" or \"cuda:N\"")),
        }
    }
}

impl Serialize for DeviceSel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceSel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A resolved backend choice: kind and device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Backend {
    /// Which backend.
    pub kind: BackendKind,
    /// Which device (always CPU for flex and ndarray).
    pub device: DeviceSel,
}

impl Backend {
    /// Checks that the combination is valid and compiled into this build.
    pub fn check(&self) -> Result<(), UserError> {
        if !self.kind.compiled_in() {
            return Err(UserError::new(format!("backend `{}` is not compiled into this build of burnlab", self.kind))
                .help("rebuild with `--features tch` after `scripts/setup-libtorch` (see README)"));
        }
        if self.kind != BackendKind::Libtorch && self.device != DeviceSel::Cpu {
            return Err(UserError::new(format!(
                "backend `{}` runs on the CPU only, but device = \"{}\"",
                self.kind, self.device
            ))
            .help("use backend = \"libtorch\" for CUDA"));
        }
        Ok(())
    }

    /// The Burn device for training (with autodiff) after checking availability.
    pub fn training_device(&self) -> Result<Device, UserError> {
        self.check()?;
        Ok(self.base_device()?.autodiff())
    }

    /// The plain (inference) Burn device.
    ///
    /// LibTorch on CUDA uses device `BURNLAB_CUDA_DEVICE` ([`CUDA_DEVICE_ENV`], set by
    /// `burnlab run --gpus`) instead of the file's `cuda:N` when that variable is set, and fails
    /// with a user error when the device does not exist. LibTorch on the CPU takes its thread
    /// count from `RAYON_NUM_THREADS` when set, like the rayon pools of flex and ndarray, so
    /// parallel trials share the cores instead of each using all of them.
    #[allow(deprecated)] // ndarray and tch are deprecated upstream but supported here by design.
    pub fn base_device(&self) -> Result<Device, UserError> {
        match (self.kind, self.device) {
            (BackendKind::Flex, _) => Ok(Device::flex()),
            (BackendKind::Ndarray, _) => Ok(Device::ndarray()),
            #[cfg(feature = "tch")]
            (BackendKind::Libtorch, DeviceSel::Cpu) => {
                tch_support::set_threads_from_env();
                Ok(Device::libtorch())
            }
            #[cfg(feature = "tch")]
            (BackendKind::Libtorch, DeviceSel::Cuda(i)) => {
                let i = cuda_index_override()?.unwrap_or(i);
                tch_support::check_cuda(i)?;
                Ok(Device::libtorch_cuda(i))
            }
            #[cfg(not(feature = "tch"))]
            (BackendKind::Libtorch, _) => Err(self
                .check()
                .err()
                .unwrap_or_else(|| UserError::new("backend `libtorch` is not compiled into this build of burnlab"))),
        }
    }

    /// Checks, before any trial starts, that the backend can run on this machine: for LibTorch
    /// on CUDA, that the configured device (or each of `gpus`, indices as this process sees
    /// them, i.e. after `CUDA_VISIBLE_DEVICES`) exists. Other backends only need [`Self::check`].
    pub fn check_available(&self, gpus: &[usize]) -> Result<(), UserError> {
        self.check()?;
        if let Some(g) = gpus.iter().enumerate().find_map(|(k, g)| gpus[..k].contains(g).then_some(g)) {
            return Err(UserError::new(format!("--gpus lists device {g} twice"))
                .help("list each GPU once: --gpus runs one trial at a time on each"));
        }
        match (self.kind, self.device) {
            (BackendKind::Libtorch, DeviceSel::Cuda(i)) => {
                let wanted: Vec<usize> = if gpus.is_empty() { vec![i] } else { gpus.to_vec() };
                for i in wanted {
                    cuda_device_exists(i)?;
                }
                Ok(())
            }
            _ if !gpus.is_empty() => {
                Err(UserError::new(format!("--gpus needs a CUDA backend, but this experiment runs on {self}"))
                    .help("set backend = \"libtorch\" and device = \"cuda\" (or --set device=cuda), or drop --gpus"))
            }
            _ => Ok(()),
        }
    }

    /// Runs `work` (a training run) on a worker thread of a dedicated rayon pool of `threads`.
    ///
    /// Why: flex and ndarray parallelise each op with rayon. Called from a thread outside the
    /// pool, every op hands its work to a pool thread and sleeps until it is done (a futex wake
    /// and a context switch per op, thousands per step); called from inside the pool, ops run
    /// in place. This made the attention family's training step 1.5x faster on one thread
    /// (docs/benchmarks.md). Falls back to the calling thread if the pool cannot start.
    pub fn run_on_cpu_pool<R: Send>(threads: usize, work: impl FnOnce() -> R + Send) -> R {
        keep_freed_memory();
        match rayon::ThreadPoolBuilder::new().num_threads(threads.max(1)).build() {
            Ok(pool) => pool.install(work),
            Err(_) => work(),
        }
    }

    /// Whether the backend uses a CPU thread pool that parallel trials must share.
    pub fn uses_cpu_threads(&self) -> bool {
        self.device == DeviceSel::Cpu
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            BackendKind::Libtorch => write!(f, "libtorch:{}", self.device),
            k => write!(f, "{k}"),
        }
    }
}

/// The environment variable that pins a LibTorch CUDA trial to one device index (as the
/// process sees it, after `CUDA_VISIBLE_DEVICES`). `burnlab run --gpus` sets it, together with
/// `CUDA_VISIBLE_DEVICES`, for each worker; it overrides the file's `cuda:N`.
pub const CUDA_DEVICE_ENV: &str = "BURNLAB_CUDA_DEVICE";

/// The environment for a worker pinned to CUDA device `gpu` by `--gpus` (an index as this
/// process sees devices): `CUDA_VISIBLE_DEVICES` set to that one device, so the worker's
/// LibTorch creates no context on the others, and [`CUDA_DEVICE_ENV`]`=0`. When this process
/// already has `CUDA_VISIBLE_DEVICES`, index `gpu` is its `gpu`-th entry (an id or UUID).
pub fn cuda_pinning_env(gpu: usize) -> [(&'static str, String); 2] {
    let visible = std::env::var("CUDA_VISIBLE_DEVICES").ok();
    [("CUDA_VISIBLE_DEVICES", pinned_visible_device(visible.as_deref(), gpu)), (CUDA_DEVICE_ENV, "0".to_string())]
}

/// Entry `gpu` of a `CUDA_VISIBLE_DEVICES` value, or `gpu` itself when the variable is unset.
fn pinned_visible_device(visible: Option<&str>, gpu: usize) -> String {
    match visible {
        Some(v) => v.split(',').map(str::trim).nth(gpu).unwrap_or("").to_string(),
        None => gpu.to_string(),
    }
}

/// The device index from [`CUDA_DEVICE_ENV`], if set.
#[cfg_attr(not(feature = "tch"), allow(dead_code))] // only LibTorch CUDA devices read it
fn cuda_index_override() -> Result<Option<usize>, UserError> {
    match std::env::var(CUDA_DEVICE_ENV) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map(Some).map_err(|_| {
            UserError::new(format!("{CUDA_DEVICE_ENV}={v:?} is not a CUDA device index"))
                .help(format!("set it to a number such as 0, or unset {CUDA_DEVICE_ENV}"))
        }),
        _ => Ok(None),
    }
}

/// Fails with a user error naming the fix when CUDA device `i` is not usable.
fn cuda_device_exists(i: usize) -> Result<(), UserError> {
    #[cfg(feature = "tch")]
    return tch_support::check_cuda(i);
    #[cfg(not(feature = "tch"))]
    return Err(UserError::new(format!("device cuda:{i} needs the LibTorch backend, which is not compiled in"))
        .help("rebuild with `--features tch` after `scripts/setup-libtorch` (see README)"));
}

/// LibTorch specifics: CUDA device checks and the CPU thread count (through the `tch` crate).
#[cfg(feature = "tch")]
pub mod tch_support {
    use crate::error::UserError;

    /// Fails with a clear message when CUDA device `i` is not usable by LibTorch: LibTorch's
    /// CUDA library cannot be loaded ([`super::cuda_lib::load`]), or the device does not exist.
    pub fn check_cuda(i: usize) -> Result<(), UserError> {
        super::cuda_lib::load()?;
        let n = usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
        if n == 0 {
            let visible = match std::env::var("CUDA_VISIBLE_DEVICES") {
                Ok(v) => format!(" (CUDA_VISIBLE_DEVICES={v:?})"),
                Err(_) => String::new(),
            };
            return Err(UserError::new(format!(
                "device cuda:{i} is not available: LibTorch finds no CUDA device on this machine{visible}"
            ))
            .help(
                "use device = \"cpu\" (--set device=cpu), or run on a machine with an NVIDIA GPU and a driver for \
                 the CUDA version of the PyTorch loaded (`nvidia-smi` lists it); TCH_PRINT_CUDA_INIT_ERROR=1 prints \
                 LibTorch's reason",
            ));
        }
        if i >= n {
            return Err(UserError::new(format!(
                "device cuda:{i} is not available: LibTorch sees {n} CUDA device(s), cuda:0 to cuda:{}",
                n - 1
            ))
            .help("indices count the devices in CUDA_VISIBLE_DEVICES when it is set; check `nvidia-smi`"));
        }
        Ok(())
    }

    /// Sets LibTorch's intra-op CPU threads from `RAYON_NUM_THREADS` (the share of the cores
    /// the runner gives each parallel trial), once per process.
    pub fn set_threads_from_env() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            if let Some(n) = std::env::var("RAYON_NUM_THREADS").ok().and_then(|s| s.trim().parse::<i32>().ok())
                && n > 0
            {
                set_threads(n);
            }
        });
    }

    /// Sets LibTorch's intra-op CPU thread count (OpenMP and its own pool).
    pub fn set_threads(n: i32) {
        tch::set_num_threads(n);
    }

    /// LibTorch's current intra-op CPU thread count.
    pub fn threads() -> i32 {
        tch::get_num_threads()
    }

    /// How many CUDA devices LibTorch sees (0 on a machine without a usable GPU, or when
    /// LibTorch's CUDA library cannot be loaded).
    pub fn cuda_device_count() -> usize {
        if super::cuda_lib::load().is_err() {
            return 0;
        }
        usize::try_from(tch::Cuda::device_count()).unwrap_or(0)
    }
}

/// Tells glibc's allocator to keep freed memory for reuse instead of returning it to the kernel.
///
/// Why: a training step allocates and frees the same large buffers (activations, im2col
/// matrices, dropout masks) every step. By default glibc serves blocks over 128 KiB-32 MiB
/// (its threshold moves) with `mmap` and unmaps them on free, so each step pays page faults and
/// zeroing for fresh pages again: up to 1.6x on the CNN's step (docs/benchmarks.md). Blocks up to
/// 64 MiB now come from the heap, which keeps up to 256 MiB of free memory.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before the training
    // run allocates, and concurrent allocations are synchronised by glibc itself.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_strings_round_trip() {
        for s in ["cpu", "cuda:0", "cuda:3"] {
            assert_eq!(s.parse::<DeviceSel>().unwrap().to_string(), s);
        }
        assert_eq!("cuda".parse::<DeviceSel>().unwrap(), DeviceSel::Cuda(0));
        assert!("gpu".parse::<DeviceSel>().is_err());
    }

    #[test]
    fn cpu_backends_reject_cuda() {
        let b = Backend { kind: BackendKind::Flex, device: DeviceSel::Cuda(0) };
        assert!(b.check().unwrap_err().message.contains("CPU only"));
    }

    #[test]
    fn pinning_maps_indices_through_cuda_visible_devices() {
        assert_eq!(pinned_visible_device(None, 3), "3");
        assert_eq!(pinned_visible_device(Some("4,6"), 0), "4");
        assert_eq!(pinned_visible_device(Some("4, 6"), 1), "6");
        assert_eq!(pinned_visible_device(Some("GPU-ab12,GPU-cd34"), 1), "GPU-cd34");
        // Past the end (only reachable if LibTorch saw more devices): no device rather than a wrong one.
        assert_eq!(pinned_visible_device(Some("4"), 1), "");
    }

    #[test]
    fn gpus_need_a_cuda_backend() {
        let b = Backend { kind: BackendKind::Flex, device: DeviceSel::Cpu };
        assert!(b.check_available(&[]).is_ok());
        let e = b.check_available(&[0]).unwrap_err();
        assert!(e.message.contains("--gpus needs a CUDA backend"), "{e}");
        let e = b.check_available(&[0, 1, 0]).unwrap_err();
        assert!(e.message.contains("lists device 0 twice"), "{e}");
    }

    #[cfg(not(feature = "tch"))]
    #[test]
    fn libtorch_without_the_feature_names_the_fix() {
        let b = Backend { kind: BackendKind::Libtorch, device: DeviceSel::Cpu };
        let e = b.base_device().unwrap_err();
        assert!(e.message.contains("not compiled into this build"), "{e}");
        assert!(e.help.as_deref().unwrap_or("").contains("--features tch"), "{e}");
    }
}
