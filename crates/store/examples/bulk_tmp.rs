#![allow(clippy::unwrap_used)]
use sejf_core::ports::*;
use sejf_store::*;
use uuid::Uuid;
#[tokio::main]
async fn main() {
    let dir = testing::fresh_temp_dir().unwrap();
    let url = std::env::args().nth(1).unwrap_or_else(|| sqlite_url(&dir.join("b.db")));
    let url = if url.starts_with("postgres") { testing::fresh_postgres_database(&url).await.unwrap() } else { url };
    let s = SqlStore::connect(&url).await.unwrap();
    let owner = Uuid::now_v7();
    s.user_create(UserRow {
        id: owner,
        username: "u".into(),
        password_hash: "h".into(),
        role: "r".into(),
        disabled: false,
        units: vec!["north".into()],
        created_at: 1,
    })
    .await
    .unwrap();
    let mk = || {
        let id = Uuid::now_v7();
        let b = Some(vec![7u8; 40]);
        NewPerson {
            row: PersonRow {
                id,
                owner_id: owner,
                unit: "north".into(),
                company_id: None,
                version: 1,
                created_at: 1,
                updated_at: 1,
                enc: EncryptedPerson {
                    first_name: b.clone(),
                    last_name: b.clone(),
                    email: b.clone(),
                    phone: b.clone(),
                    national_id: None,
                    birth_date: None,
                    address: b.clone(),
                    notes: None,
                },
                tags: vec!["customer".into()],
                email_bidx: Some(1),
                phone_bidx: Some(2),
                national_id_bidx: None,
                name_bidx: vec![3, 4],
            },
            wrapped_key: vec![9; 60],
            master_version: 1,
        }
    };
    for round in 0..5 {
        let batch: Vec<_> = (0..10_000).map(|_| mk()).collect();
        let t = std::time::Instant::now();
        s.people_insert_batch(batch).await.unwrap();
        let e = t.elapsed();
        println!("round {round}: 10000 people in {:?} = {:.0}/s", e, 10_000.0 / e.as_secs_f64());
    }
    s.close().await;
    let _ = std::fs::remove_dir_all(dir);
}
