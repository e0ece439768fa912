//! The plaintext baseline server of the `http` bench: bare axum over the plaintext SQLite copy
//! of [`super::PlainDb`], with no authentication, crypto, policy or access log. It reads on the
//! request's own thread and writes through the group-commit writer, as Sejf does. It runs on its
//! own tokio runtime (as a separate process would) and stops when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::extract::{Json, Path as UrlPath, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sejf_transfer::synth::Synth;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{BATCH, PlainDb, PlainPerson};

#[derive(serde::Deserialize)]
struct PlainIn {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    national_id: Option<String>,
    birth_date: Option<String>,
    address: Option<Value>,
    #[serde(default)]
    tags: Vec<String>,
    notes: Option<String>,
}

#[derive(serde::Deserialize)]
struct SearchIn {
    email: String,
}

#[derive(Clone)]
struct PlainState {
    db: PlainDb,
    owner: String,
    unit: String,
}

fn internal(e: impl std::fmt::Display) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
}

async fn plain_get(State(s): State<PlainState>, UrlPath(id): UrlPath<Uuid>) -> Response {
    match s.db.by_id(&id.to_string()) {
        Ok(Some(person)) => Json(person).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => internal(e),
    }
}

async fn plain_search(State(s): State<PlainState>, Json(q): Json<SearchIn>) -> Response {
    match s.db.by_email(&q.email.to_lowercase()) {
        Ok(items) => Json(json!({"items": items, "next_cursor": null})).into_response(),
        Err(e) => internal(e),
    }
}

async fn plain_post(State(s): State<PlainState>, Json(p): Json<PlainIn>) -> Response {
    let mut tokens: Vec<String> = Vec::new();
    for part in [&p.first_name, &p.last_name].into_iter().flatten() {
        for t in sejf_domain::values::name_tokens(part) {
            if !tokens.contains(&t) {
                tokens.push(t);
            }
        }
    }
    let person = PlainPerson {
        id: Uuid::now_v7().to_string(),
        owner_id: s.owner.clone(),
        unit: s.unit.clone(),
        created_at: super::now_micros(),
        first_name: p.first_name,
        last_name: p.last_name,
        email: p.email,
        phone: p.phone,
        national_id: p.national_id,
        birth_date: p.birth_date,
        address: p.address.map(|a| a.to_string()),
        notes: p.notes,
        tags: p.tags,
        name_tokens: tokens,
    };
    let created = json!({
        "id": person.id, "owner_id": person.owner_id, "unit": person.unit, "first_name": person.first_name,
        "last_name": person.last_name, "email": person.email, "phone": person.phone, "national_id": person.national_id,
        "birth_date": person.birth_date, "address": person.address, "notes": person.notes, "tags": person.tags,
    });
    match s.db.insert_batch(vec![person]).await {
        Ok(()) => (StatusCode::CREATED, Json(created)).into_response(),
        Err(e) => internal(e),
    }
}

#[derive(serde::Deserialize)]
struct NotesIn {
    notes: Option<String>,
}

/// Changes the notes where `If-Match` names the stored version: 412 when it does not.
async fn plain_patch(State(s): State<PlainState>, UrlPath(id): UrlPath<Uuid>, headers: HeaderMap, Json(p): Json<NotesIn>) -> Response {
    let Some(version) = headers.get("if-match").and_then(|v| v.to_str().ok()).and_then(|v| v.trim_matches('"').parse::<i64>().ok()) else {
        return StatusCode::PRECONDITION_REQUIRED.into_response();
    };
    match s.db.update_notes(id.to_string(), version, p.notes).await {
        Ok(true) => match s.db.by_id(&id.to_string()) {
            Ok(Some(person)) => Json(person).into_response(),
            Ok(None) => StatusCode::NOT_FOUND.into_response(),
            Err(e) => internal(e),
        },
        Ok(false) => StatusCode::PRECONDITION_FAILED.into_response(),
        Err(e) => internal(e),
    }
}

async fn plain_delete(State(s): State<PlainState>, UrlPath(id): UrlPath<Uuid>) -> Response {
    match s.db.delete(id.to_string()).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => internal(e),
    }
}

/// The baseline server, on its own tokio runtime (like a separate process would have); stopped
/// and joined when dropped.
pub struct Baseline {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Baseline {
    pub fn start(db_path: PathBuf, owner: String, unit: String) -> Baseline {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            // Named apart from the load generator's workers, so their CPU time can be told apart.
            let rt =
                tokio::runtime::Builder::new_multi_thread().thread_name("baseline-worker").enable_all().build().expect("baseline runtime");
            rt.block_on(async move {
                let db = PlainDb::connect(&db_path).await.expect("baseline db");
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("baseline listener");
                addr_tx.send(listener.local_addr().expect("baseline address")).expect("send address");
                let app = Router::new()
                    .route("/people", post(plain_post))
                    .route("/people/search", post(plain_search))
                    .route("/people/{id}", get(plain_get).patch(plain_patch).delete(plain_delete))
                    .with_state(PlainState { db: db.clone(), owner, unit });
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("baseline serve");
                db.close().await;
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(60)).expect("baseline server did not start");
        Baseline { addr, stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for Baseline {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Fills the plaintext database with the same `n` synthetic people (from `seed`) as the CSV.
pub async fn build_plain_db(path: &Path, owner: &str, unit: &str, n: usize, seed: u64) {
    let db = PlainDb::create(path, owner, unit).await.expect("plaintext db");
    let mut synth = Synth::new(seed);
    let now = super::now_micros();
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..n {
        let p = synth.person(i);
        batch.push(PlainPerson::from_raw(&p.raw, &p.tags, owner, unit, now).expect("synthetic people are valid"));
        if batch.len() == BATCH || i + 1 == n {
            db.insert_batch(std::mem::take(&mut batch)).await.expect("plaintext insert");
        }
    }
    db.close().await;
}
