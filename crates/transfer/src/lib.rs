//! Data in and out of Sejf in the formats people already use: CSV as Excel and LibreOffice write
//! it (`csvio` for people, `recordio` for companies, deals and activities), vCards as phones
//! export them, and synthetic people for the demo and the benchmarks (`synth`, with `bait` for
//! honeytokens indistinguishable from them). The rules of an import live in core
//! (`App::import_people`, `App::import_records`); these modules parse and format.

pub mod bait;
pub mod csvio;
mod error;
pub mod recordio;
pub mod synth;

pub use error::TransferError;
