//! Build script: only does something with the `tch` feature.
//!
//! torch-sys links the LibTorch shared libraries (`libtorch_cpu.so`, ...) dynamically but does
//! not record where they are, so a `--features tch` binary would need `LD_LIBRARY_PATH` at run
//! time. torch-sys publishes the LibTorch library folder it linked against (its `links = "tch"`
//! metadata, `DEP_TCH_LIBTORCH_LIB`); this script embeds it as a run path into burnlab's
//! binaries, tests and benches, so they run without any environment. `LD_LIBRARY_PATH` still
//! takes precedence (the run path is a `DT_RUNPATH`). Done here rather than with `RUSTFLAGS`,
//! which would change the fingerprint of every crate and rebuild all of them.
//!
//! `BURNLAB_TORCH_RPATH=0` leaves the run path out: the binary of `scripts/gpu-bundle`, which
//! runs on another machine and finds that machine's LibTorch through `LD_LIBRARY_PATH`, must
//! not look into this machine's venv.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=BURNLAB_TORCH_RPATH");
    if std::env::var_os("CARGO_FEATURE_TCH").is_none() {
        return;
    }
    let rpath = std::env::var("BURNLAB_TORCH_RPATH").as_deref() != Ok("0");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if let Some(lib) = std::env::var_os("DEP_TCH_LIBTORCH_LIB")
        && rpath
        && (target_os == "linux" || target_os == "macos")
    {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.to_string_lossy());
    }
}
