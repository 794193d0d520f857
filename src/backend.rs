//! Compute backends: names in experiment files mapped to Burn devices.
//!
//! This is the one place that constructs the deprecated ndarray and LibTorch devices, so the
//! deprecation warnings are silenced here and nowhere else.

use crate::error::UserError;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

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
    #[allow(deprecated)] // ndarray and tch are deprecated upstream but supported here by design.
    pub fn base_device(&self) -> Result<Device, UserError> {
        match (self.kind, self.device) {
            (BackendKind::Flex, _) => Ok(Device::flex()),
            (BackendKind::Ndarray, _) => Ok(Device::ndarray()),
            #[cfg(feature = "tch")]
            (BackendKind::Libtorch, DeviceSel::Cpu) => Ok(Device::libtorch()),
            #[cfg(feature = "tch")]
            (BackendKind::Libtorch, DeviceSel::Cuda(i)) => {
                crate::backend::tch_support::check_cuda(i)?;
                Ok(Device::libtorch_cuda(i))
            }
            #[cfg(not(feature = "tch"))]
            (BackendKind::Libtorch, _) => Err(UserError::new("backend `libtorch` is not compiled in")),
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

#[cfg(feature = "tch")]
mod tch_support {
    use crate::error::UserError;

    /// Fails with a clear message when CUDA device `i` is not usable by LibTorch.
    pub fn check_cuda(i: usize) -> Result<(), UserError> {
        let n = tch::Cuda::device_count() as usize;
        if i >= n {
            return Err(UserError::new(format!("device cuda:{i} is not available: LibTorch sees {n} CUDA device(s)"))
                .help("check CUDA_VISIBLE_DEVICES and `nvidia-smi`, or use device = \"cpu\""));
        }
        Ok(())
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
}
