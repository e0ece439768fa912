//! The `sejf` binary: parses the command line and hands over to the library's composition root.

use std::process::ExitCode;

/// mimalloc rather than glibc's malloc: glibc keeps an arena per thread that holds on to freed
/// memory, which doubled the server's resident memory after a load run unless operators set
/// `MALLOC_ARENA_MAX=2` (docs/benchmarks.md). The crate's `override` feature (Cargo.toml) makes
/// it the C libraries' `malloc` too, SQLite's among them.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    sejf::cli::main()
}
