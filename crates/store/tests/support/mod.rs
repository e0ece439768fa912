//! Fixtures of the conformance suite: a fresh database per test, and rows with made-up
//! "ciphertexts" (the store never interprets them, so any bytes do).

use std::path::PathBuf;
use std::sync::Mutex;

use sejf_core::ports::{
    AccountChange, AuditEvent, EncryptedPerson, ListQuery, MfaEnable, NewPerson, PersonField, PersonRow, RecordKind, RecordRow, UserRow,
    Visibility,
};
use sejf_store::{SqlStore, sqlite_url, testing};
use uuid::Uuid;

/// A database of one test, removed by [`TestDb::finish`] (left behind if the test fails, for
/// inspection).
pub struct TestDb {
    pub store: SqlStore,
    pub url: String,
    engine: Engine,
    extra: Mutex<Vec<String>>,
}

enum Engine {
    Sqlite { dir: PathBuf },
    Postgres { base: String },
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = testing::fresh_temp_dir().unwrap();
        let url = sqlite_url(&dir.join("sejf.db"));
        let store = SqlStore::connect(&url).await.unwrap();
        TestDb { store, url, engine: Engine::Sqlite { dir }, extra: Mutex::new(Vec::new()) }
    }

    pub async fn postgres() -> Option<TestDb> {
        let base = testing::test_database_url()?;
        let url = testing::fresh_postgres_database(&base).await.unwrap();
        let store = SqlStore::connect(&url).await.unwrap();
        Some(TestDb { store, url, engine: Engine::Postgres { base }, extra: Mutex::new(Vec::new()) })
    }

    /// The URL of another empty database of the same engine, cleaned up with this one.
    pub async fn another_database(&self) -> String {
        let url = match &self.engine {
            Engine::Sqlite { dir } => sqlite_url(&dir.join(format!("{}.db", Uuid::now_v7().simple()))),
            Engine::Postgres { base } => testing::fresh_postgres_database(base).await.unwrap(),
        };
        self.extra.lock().unwrap().push(url.clone());
        url
    }

    pub async fn finish(self) {
        self.store.close().await;
        match self.engine {
            Engine::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Engine::Postgres { base } => {
                let extra = self.extra.into_inner().unwrap();
                for url in extra.iter().chain([&self.url]) {
                    testing::drop_postgres_database(&base, url).await;
                }
            }
        }
    }
}

const T0: i64 = 1_700_000_000_000_000;

pub fn new_user(name: &str, units: &[&str]) -> UserRow {
    UserRow {
        id: Uuid::now_v7(),
        username: name.to_owned(),
        password_hash: format!("$argon2id$v=19$fake${name}"),
        role: "sales".to_owned(),
        disabled: false,
        units: units.iter().map(|u| (*u).to_owned()).collect(),
        created_at: T0,
        service: false,
        mfa_enabled: false,
        must_change_password: false,
    }
}

/// A person with every field set to distinct bytes, an e-mail and phone index, no tags.
pub fn new_person(owner: Uuid, unit: &str) -> NewPerson {
    let id = Uuid::now_v7();
    let blob = |field: &str| Some(format!("ct:{field}:{id}").into_bytes());
    NewPerson {
        row: PersonRow {
            id,
            owner_id: owner,
            unit: unit.to_owned(),
            company_id: None,
            version: 1,
            created_at: T0,
            updated_at: T0 + 1,
            enc: EncryptedPerson::from_fn(|f| if f == PersonField::NationalId { None } else { blob(f.name()) }),
            tags: Vec::new(),
            email_bidx: Some(i64::from(id.as_bytes()[15])),
            phone_bidx: Some(-1),
            national_id_bidx: None,
        },
        name_bidx: Vec::new(),
        wrapped_key: format!("wrapped:{id}").into_bytes(),
        master_version: 1,
    }
}

pub fn new_record(kind: RecordKind, owner: Uuid, unit: &str) -> RecordRow {
    let id = Uuid::now_v7();
    RecordRow {
        kind,
        id,
        owner_id: owner,
        unit: unit.to_owned(),
        person_id: None,
        company_id: None,
        deal_id: None,
        attrs: format!(r#"{{"kind":"{}"}}"#, kind.plural()),
        payload: format!("payload:{id}").into_bytes(),
        version: 1,
        created_at: T0,
        updated_at: T0 + 1,
    }
}

pub fn query_for(visibility: Visibility) -> ListQuery {
    ListQuery { visibility, owner: None, unit: None, tag: None, after: None, limit: 100, links: Default::default() }
}

/// An audit event of `action` at `at`, for a change that is written with its events.
pub fn event(action: &str, at: i64) -> AuditEvent {
    AuditEvent { at, actor: "admin".into(), role: "admin".into(), action: action.into(), outcome: "ok".into(), ..AuditEvent::default() }
}

/// The account change that confirms TOTP for `user` with these recovery-code digests.
pub fn enable(user: Uuid, recovery_hashes: Vec<Vec<u8>>) -> AccountChange {
    AccountChange { user, mfa_enable: Some(MfaEnable { secret: vec![9; 40], step: 100, recovery_hashes }), ..AccountChange::default() }
}
