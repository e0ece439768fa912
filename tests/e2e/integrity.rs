//! Audit integrity under hostile input: no single input can make the trail's group commit fail
//! for everyone (NUL and other control characters, an event the database refuses).

use std::sync::Arc;

use serde_json::json;

use crate::harness::{Backend, Install, PASSPHRASE, person, raw_db};
use crate::on_both;

/// The installation opened in this process, as a second server would open it.
pub async fn open_app(install: &Install) -> sejf::serve::Opened {
    let loc = sejf::serve::Location {
        data_dir: install.data_dir.clone(),
        database_url: install.database_url.clone(),
        passphrase: sejf::keyfile::PassphraseSource { file: None, given: Some(zeroize::Zeroizing::new(PASSPHRASE.to_string())) },
    };
    sejf::serve::open(&loc).await.unwrap()
}

on_both!(nul_and_refused_events_never_poison_the_group_commit);

async fn nul_and_refused_events_never_poison_the_group_commit(backend: Backend) {
    let install = Install::new(backend).await;
    let server = Arc::new(install.serve());
    let t = server.staff_token(&install).await;
    let p = server.call("POST", "/people", &t, Some(person("Zofia", "Nul", "zofia@nul.example", "601 000 101", Some("44051401359")))).await;
    let id = p.body["id"].as_str().unwrap().to_string();

    // An event the database refuses, whatever the reason (here a trigger stands in for it).
    let db = raw_db(&install).await;
    match backend {
        Backend::Sqlite => {
            sqlx::query(
                "CREATE TRIGGER refuse_marked BEFORE INSERT ON audit_events WHEN NEW.body LIKE '%refuse-me%' \
                 BEGIN SELECT RAISE(ABORT, 'refused'); END",
            )
            .execute(&db)
            .await
            .unwrap();
        }
        Backend::Postgres => {
            sqlx::query(
                "CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF NEW.body LIKE '%refuse-me%' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END; $$",
            )
            .execute(&db)
            .await
            .unwrap();
            sqlx::query("CREATE TRIGGER refuse_marked BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_marked()")
                .execute(&db)
                .await
                .unwrap();
        }
    }
    db.close().await;

    let opened = open_app(&install).await;
    let app = opened.app.clone();
    let mut tasks = Vec::new();
    // Directly through App::audit: events full of NUL and control characters, events the
    // database refuses, and ordinary ones, all sharing the same group commits.
    for worker in 0..4 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let (mut refused, mut written) = (0, 0);
            for i in 0..60 {
                let operator = sejf_core::Actor::operator();
                let mut ev = app.event(&operator, "test.input", "test", "");
                match (worker + i) % 3 {
                    0 => {
                        ev.detail = format!("a\0b\u{1}\n{i}");
                        ev.purpose = "\0\0\0".into();
                        ev.actor = "x\0".into();
                        app.audit(vec![ev]).await.expect("an event with NUL characters is stored");
                        written += 1;
                    }
                    1 => {
                        ev.detail = "refuse-me".into();
                        if app.audit(vec![ev]).await.is_err() {
                            refused += 1;
                        }
                    }
                    _ => {
                        app.audit(vec![ev.clone(), ev]).await.expect("an ordinary event is never refused for its neighbour");
                        written += 1;
                    }
                }
            }
            (refused, written)
        }));
    }
    // Through the API: reveal purposes with NUL characters are refused as bad input, never
    // stored, and never turn into a 5xx for anyone.
    for purpose in
        ["a\u{0}", "\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}", "contract\u{0}signature", "\u{200b}\u{200b}\u{200b}", "x"].iter().cycle().take(40)
    {
        let server = server.clone();
        let (t, id, purpose) = (t.clone(), id.clone(), purpose.to_string());
        tasks.push(tokio::spawn(async move {
            let r = server
                .call("POST", &format!("/people/{id}/reveal"), &t, Some(json!({"fields": ["national_id"], "purpose": purpose})))
                .await;
            r.assert_problem(422, Some("purpose"));
            (0, 0)
        }));
    }
    // Meanwhile another client reads people: no read fails.
    let reader = {
        let (server, t, id) = (server.clone(), t.clone(), id.clone());
        tokio::spawn(async move {
            for _ in 0..150 {
                let r = server.call("GET", &format!("/people/{id}"), &t, None).await;
                assert_eq!(r.status, 200, "a read failed: {}", r.body);
                let l = server.call("GET", "/people", &t, None).await;
                assert_eq!(l.status, 200, "a list failed: {}", l.body);
            }
        })
    };
    let mut refused = 0;
    let mut written = 0;
    for task in tasks {
        let (r, w) = task.await.unwrap();
        refused += r;
        written += w;
    }
    reader.await.unwrap();
    assert_eq!(refused, 80, "every refused event fails on its own");
    assert_eq!(written, 160);
    opened.store.close().await;
}
