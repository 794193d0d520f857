//! burnlab's command-line tool with one more model family, `gated_mlp` (src/gated_mlp.rs):
//! `custom-family list`, `custom-family run experiments/gated-mlp.toml`, and every other
//! `burnlab` command, with the built-in families and datasets as well.

mod gated_mlp;

use burnlab::plugin::{Registry, main_with};

fn main() {
    std::process::exit(main_with(Registry::builtin().with_family::<gated_mlp::GatedMlpSpec>()));
}
