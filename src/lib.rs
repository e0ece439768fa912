//! The composition root of Sejf: command line, configuration, key loading, server start-up,
//! demo data and CSV import/export. It wires the crates together and owns the process's
//! clock, randomness and environment.

pub mod alerts;
pub mod auditcli;
pub mod backup;
pub mod bait;
pub mod cli;
pub mod config;
pub mod csvio;
pub mod demo;
pub mod gdprcli;
pub mod keyfile;
pub mod policyfile;
pub mod recordio;
pub mod serve;
pub mod synth;
pub mod tls;
pub mod tools;
pub mod transfer;
