//! The `burnlab` binary: the CLI with the built-in model families and datasets.

fn main() {
    std::process::exit(burnlab::cli::main_with(burnlab::registry::Registry::builtin()));
}
