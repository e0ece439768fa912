//! The composition root of Sejf: the command line's top level (clap types and dispatch), start-up
//! and the demo. It wires the crates together and owns the process's clock, randomness and
//! environment; the installation (`sejf-install`), the server (`sejf-server`), backups
//! (`sejf-backup`), data in and out (`sejf-transfer`) and the operator's audit and GDPR commands
//! (`sejf-admin`) are crates of their own.

pub mod cli;
pub mod demo;
pub mod error;
pub mod tools;
pub mod transfer;
