//! The operator's offline commands on an installation, with their clap types and how they present
//! results: the audit trail (`sejf audit`: verify, export, proofs, the pinned key, alerts) and the
//! GDPR registers and requests (`sejf gdpr`). Each opens the installation and calls core's use
//! cases as the operator; the composition root (`src/cli.rs`) only dispatches to them.

pub mod audit;
mod error;
pub mod gdpr;

pub use error::AdminError;
