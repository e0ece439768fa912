//! End-to-end tests: the real `sejf` binary, driven through its CLI and HTTP contract, on
//! SQLite and (when `SEJF_TEST_DATABASE_URL` is set) PostgreSQL. One test binary, many modules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod mfa;

mod access;
mod audit;
mod backup;
mod browser;
mod budgets;
mod classes;
mod cli;
mod cluster;
mod dataio;
mod duties;
mod exports;
mod gdpr;
mod guard;
mod integrity;
mod layering;
mod listeners;
mod office;
mod people;
mod records;
mod recordsio;
mod registers;
mod security;
mod sessions;
mod tls;
mod web;
mod web_edit;
