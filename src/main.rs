//! The `sejf` binary: parses the command line and hands over to the library's composition root.

use std::process::ExitCode;

fn main() -> ExitCode {
    sejf::cli::main()
}
