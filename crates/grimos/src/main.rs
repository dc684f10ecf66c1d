//! `grimos`: the one binary of the grimOS platform. It only parses the command line and
//! hands over to the library crates.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
