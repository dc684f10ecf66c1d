//! `grimos`: the one binary of the grimOS platform. It only parses the command line and
//! hands over to the library crates.

mod cli;
mod policy;

use std::process::ExitCode;

/// mimalloc rather than the system allocator: a flow run allocates many small values on
/// the thread that reads and frees them on the thread that writes, where glibc's malloc
/// spent a third of a PostgreSQL -> PostgreSQL run (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::run()
}
