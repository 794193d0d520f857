//! The `burnlab` binary.

use clap::Parser;

fn main() {
    let cli = burnlab::cli::Cli::parse();
    let code = match burnlab::cli::execute(cli) {
        Ok(code) => code,
        Err(e) => {
            burnlab::cli::report_error(&e);
            e.exit_code()
        }
    };
    std::process::exit(code);
}
