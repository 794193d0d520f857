//! Loading LibTorch's CUDA library at run time (Linux), before the first CUDA call.
//!
//! LibTorch finds CUDA through hooks that `libtorch_cuda.so` registers from its static
//! initialisers when it is loaded; without it, LibTorch sees no CUDA device on any machine.
//! torch-sys links with `--as-needed`, so a `tch` binary keeps `libtorch_cuda.so` only if it uses
//! one of its symbols. burnlab does today (tch's C++ wrapper calls
//! `at::cuda::getCurrentCUDABlasHandle` and `at::cuda::warp_size`; `ldd` lists it, against
//! PyTorch 2.9 and 2.11), but a small program on tch does not, and a later tch may not. So when a
//! CUDA device is asked for, this module `dlopen`s `libtorch_cuda.so` (`RTLD_NOW | RTLD_GLOBAL`)
//! from the LibTorch the process already loaded, before LibTorch caches its hooks on the first
//! CUDA query; when the library is already loaded this only returns its handle.
//!
//! Where the library is looked for, first match wins:
//! 1. `$BURNLAB_TORCH_LIB/libtorch_cuda.so` ([`TORCH_LIB_ENV`], a folder, e.g. a node's
//!    `.../site-packages/torch/lib`);
//! 2. the folder of the `libtorch_cpu.so` this process mapped (read from `/proc/self/maps`);
//! 3. `libtorch_cuda.so` by name (the loader's search: `LD_LIBRARY_PATH`, the run path).
//!
//! The wheel's `libtorch_cuda.so` finds its own CUDA libraries (cuDNN, cuBLAS, the CUDA runtime
//! of the `nvidia-*` wheels) through its run path, so the node's PyTorch installation must be
//! complete; the NVIDIA driver (`libcuda.so.1`) is loaded later by the CUDA runtime itself.

use crate::error::UserError;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Environment variable naming the folder that holds LibTorch's libraries (`libtorch_cuda.so`).
pub const TORCH_LIB_ENV: &str = "BURNLAB_TORCH_LIB";

/// The CUDA library's file name.
const CUDA_LIB: &str = "libtorch_cuda.so";

/// Loads `libtorch_cuda.so` once per process (later calls return the first outcome).
///
/// # Errors
/// A user error naming the library path and the loader's message (`dlerror`) when it cannot be
/// loaded, e.g. a CPU-only PyTorch, or CUDA runtime libraries missing beside it.
pub fn load() -> Result<(), UserError> {
    static LOADED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let outcome = LOADED.get_or_init(|| {
        let path = candidate();
        open_global(&path).map(|()| path.clone()).map_err(|e| format!("{}: {e}", path.display()))
    });
    outcome.as_ref().map(|_| ()).map_err(|e| {
        UserError::new(format!("cannot load LibTorch's CUDA library, needed for a CUDA device: {e}")).help(format!(
            "point burnlab at the torch/lib folder of a PyTorch built with CUDA: LD_LIBRARY_PATH or \
             {TORCH_LIB_ENV}=DIR (scripts/gpu-check sets it from `python3 -c 'import torch'`); \
             or use device = \"cpu\""
        ))
    })
}

/// Where [`load`] looks for the library (see the module documentation).
fn candidate() -> PathBuf {
    if let Some(dir) = std::env::var_os(TORCH_LIB_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join(CUDA_LIB);
    }
    loaded_torch_dir().map_or_else(|| PathBuf::from(CUDA_LIB), |dir| dir.join(CUDA_LIB))
}

/// The folder of the `libtorch_cpu.so` mapped into this process, from `/proc/self/maps`.
fn loaded_torch_dir() -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|p| p.ends_with("/libtorch_cpu.so"))
        .and_then(|p| PathBuf::from(p).parent().map(PathBuf::from))
}

/// `dlopen(path, RTLD_NOW | RTLD_GLOBAL)`; the loader's message on failure. The handle is
/// never closed: the library stays loaded for the life of the process, as LibTorch needs.
#[cfg(target_os = "linux")]
fn open_global(path: &std::path::Path) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: `c_path` is a valid NUL-terminated string; dlopen/dlerror have no other
    // preconditions. The library's initialisers run here, before any CUDA call of LibTorch.
    unsafe {
        if libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL).is_null() {
            let err = libc::dlerror();
            return Err(if err.is_null() {
                "dlopen failed".to_string()
            } else {
                std::ffi::CStr::from_ptr(err).to_string_lossy().into_owned()
            });
        }
    }
    Ok(())
}

/// Elsewhere (macOS: no CUDA) there is nothing to load.
#[cfg(not(target_os = "linux"))]
fn open_global(_path: &std::path::Path) -> Result<(), String> {
    Ok(())
}
