//! Sejf's use cases driven in process, without HTTP: an [`App`] over a real store (SQLite in a
//! temporary directory, and PostgreSQL when `SEJF_TEST_DATABASE_URL` is set), called the way
//! the edges call it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod imports;
mod names;
mod patching;
mod redaction;
mod rollback;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use sejf_core::people::PersonInput;
use sejf_core::{Actor, App, Settings, SystemClock};
use sejf_domain::people::PersonRaw;
use sejf_domain::roles::Role;
use sejf_store::{Backend, SqlStore, sqlite_url, testing};

/// Runs each named case on both engines: `sqlite::NAME` and `postgres::NAME`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let fx = crate::Fixture::sqlite().await;
                    super::$name(&fx).await;
                    fx.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(fx) = crate::Fixture::postgres().await else {
                        println!("skipped: SEJF_TEST_DATABASE_URL not set");
                        return;
                    };
                    super::$name(&fx).await;
                    fx.finish().await;
                }
            )*
        }
    };
}
pub(crate) use on_both;

pub const PASSWORD: &str = "correct horse battery staple 42";
pub const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// A fresh installation: its store and the application over it.
pub struct Fixture {
    pub app: Arc<App>,
    pub store: SqlStore,
    engine: Engine,
}

enum Engine {
    Sqlite(PathBuf),
    Postgres { base: String, url: String },
}

impl Fixture {
    pub async fn sqlite() -> Fixture {
        let dir = testing::fresh_temp_dir().unwrap();
        let store = SqlStore::connect(&sqlite_url(&dir.join("sejf.db"))).await.unwrap();
        Fixture::open(store, Engine::Sqlite(dir)).await
    }

    pub async fn postgres() -> Option<Fixture> {
        let base = testing::test_database_url()?;
        let url = testing::fresh_postgres_database(&base).await.unwrap();
        let store = SqlStore::connect(&url).await.unwrap();
        Some(Fixture::open(store, Engine::Postgres { base, url }).await)
    }

    async fn open(store: SqlStore, engine: Engine) -> Fixture {
        let master = sejf_crypto::MasterKey::generate(1).unwrap();
        // Sign-in answers a full token without TOTP here; the MFA cases enrol explicitly.
        let settings = Settings { mfa_required: false, read_budgets: Default::default(), ..Settings::standard() };
        let app = App::new(Arc::new(store.clone()), master, settings, Arc::new(SystemClock)).await.unwrap();
        Fixture { app: Arc::new(app), store, engine }
    }

    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// Creates `name` with `role` in unit `north` (the host's path) and signs them in.
    pub async fn user(&self, name: &str, role: Role) -> Signed {
        self.app.create_user(name, role, &["north".into()], PASSWORD).await.unwrap();
        self.sign_in(name).await
    }

    /// Signs `name` in with the fixture's password.
    pub async fn sign_in(&self, name: &str) -> Signed {
        let login = self.app.login(name, PASSWORD, None, CLIENT).await.unwrap();
        let actor = self.app.authenticate(&login.token, CLIENT).await.unwrap();
        Signed { actor, token: login.token }
    }

    pub async fn finish(self) {
        self.store.close().await;
        match self.engine {
            Engine::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Engine::Postgres { base, url } => testing::drop_postgres_database(&base, &url).await,
        }
    }
}

/// A signed-in user: who they act as, and the bearer token that says so.
pub struct Signed {
    pub actor: Actor,
    pub token: String,
}

impl std::ops::Deref for Signed {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.actor
    }
}

/// A person with a name and an e-mail address, in the caller's unit.
pub fn person(first: &str, email: &str) -> PersonInput {
    PersonInput {
        raw: PersonRaw { first_name: Some(first.into()), email: Some(email.into()), ..PersonRaw::default() },
        ..PersonInput::default()
    }
}
