//! Imports are the operator's (the host's CLI, which holds the master key and places people for
//! any owner): anyone else is refused before a row is read, and nothing is written.

use std::collections::HashMap;

use sejf_core::import::{ImportError, ImportReport, ImportRows, ImportRules, RecordCells};
use sejf_core::people::PersonInput;
use sejf_core::{Actor, CoreError};
use sejf_domain::records::RecordKind;
use sejf_domain::roles::Role;

use crate::{Fixture, on_both, person};

on_both!(only_the_operator_imports);

/// A report that tells nobody.
struct Quiet;

impl ImportReport for Quiet {
    fn problem(&self, _: &str, _: u64, _: &str, _: &str) {}
    fn more_problems(&self, _: usize) {}
    fn writing(&self, _: Option<usize>) {}
    fn sent(&self, _: usize) {}
    fn done(&self) {}
}

/// Rows as a file's, from line 2 on.
struct Rows(Vec<PersonInput>);

impl ImportRows for Rows {
    fn digest(&self) -> &str {
        "sha256:usecase"
    }
    fn unit(&self) -> &'static str {
        "line"
    }
    fn rows(&self) -> Box<dyn Iterator<Item = Result<(u64, PersonInput), sejf_core::import::UnreadableRow>> + '_> {
        Box::new(self.0.iter().enumerate().map(|(i, p)| Ok((i as u64 + 2, p.clone()))))
    }
}

fn refused<T: std::fmt::Debug>(what: &str, r: Result<T, ImportError>) {
    assert!(matches!(r, Err(ImportError::Core(CoreError::Forbidden(_)))), "{what}: {r:?}");
}

async fn only_the_operator_imports(fx: &Fixture) {
    let app = &fx.app;
    let sam = fx.user("sam", Role::Sales).await;
    let rules = ImportRules::default();
    let people = Rows(vec![person("Ewa", "ewa@firma.pl")]);
    let company = [RecordCells { line: 2, values: HashMap::from([("name", "Firma Sp. z o.o.".to_string())]) }];

    refused("sales imports people", app.import_people(&sam, &sam, &people, &rules, &Quiet).await);
    refused("sales imports companies", app.import_records(&sam, &sam, RecordKind::Company, &company, &rules, &Quiet).await);
    assert_eq!(app.people_count().await.unwrap(), 0, "a refused import writes nothing");

    let operator = Actor::operator();
    assert_eq!(app.import_people(&operator, &sam, &people, &rules, &Quiet).await.unwrap().imported, 1);
    assert_eq!(app.import_records(&operator, &sam, RecordKind::Company, &company, &rules, &Quiet).await.unwrap().imported, 1);
}
