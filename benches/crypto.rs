//! Micro-benchmarks of Sejf's field cryptography, each next to a plaintext baseline (criterion).
//!
//! Measured:
//! - `field/email_24B` and `field/note_1KiB`: `sejf_crypto::encrypt_field` and `decrypt_field`
//!   (AES-256-GCM-SIV, random nonce, associated data binding table/column/record/subject) of a
//!   24-byte e-mail and a 1 KiB note; baseline `plain_copy`: copying the same plaintext into a
//!   fresh `Vec<u8>` (what storing or reading the field in clear costs at least).
//! - `blind_index/email`: `BlindIndexKey::compute` (HMAC-SHA256, truncated to 64 bits) of a
//!   normalised e-mail; baseline `plain_hashmap_lookup`: looking the same e-mail up in a
//!   `HashMap<String, u64>` of 10,000 e-mails (std's SipHash, what a plaintext in-memory index
//!   would do).
//! - `subject_key`: `MasterKey::wrap` and `MasterKey::unwrap_key` of a 32-byte subject key, and
//!   both together (`wrap_unwrap`); baseline `plain_copy_32B`: copying a 32-byte key kept in clear.
//!
//! Run: `cargo bench --bench crypto` (about a minute; warm-up 1 s, measurement 2 s per function).
//! Filter with e.g. `cargo bench --bench crypto -- field/`. Measurements, not tests.

// Benches abort on setup failure: a failed step has no measurement worth reporting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_methods, reason = "measures the field cipher itself")]

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sejf_crypto::{BlindIndexKey, FieldContext, Key32, MasterKey, decrypt_field, encrypt_field};

const EMAIL: &str = "jan.kowalski@example.com";

/// 1 KiB of note text.
fn note() -> Vec<u8> {
    let sentence = "Prefers contact by e-mail; met at the Gdańsk fair, interested in the premium plan. ";
    sentence.bytes().cycle().take(1024).collect()
}

fn field(c: &mut Criterion) {
    assert_eq!(EMAIL.len(), 24);
    let key = Key32::generate().unwrap();
    let id = uuid::Uuid::now_v7().to_string();
    for (name, column, plain) in [("email_24B", "email", EMAIL.as_bytes().to_vec()), ("note_1KiB", "notes", note())] {
        let ctx = FieldContext { table: "people", column, record_id: &id, subject_id: &id };
        let blob = encrypt_field(&key, 1, &ctx, &plain).unwrap();
        let mut g = c.benchmark_group(format!("field/{name}"));
        g.throughput(Throughput::Bytes(plain.len() as u64));
        g.bench_function("encrypt", |b| b.iter(|| encrypt_field(&key, 1, black_box(&ctx), black_box(&plain)).unwrap()));
        g.bench_function("decrypt", |b| b.iter(|| decrypt_field(&key, black_box(&ctx), black_box(&blob)).unwrap()));
        g.bench_function("plain_copy", |b| b.iter(|| black_box(plain.as_slice()).to_vec()));
        g.finish();
    }
}

fn blind_index(c: &mut Criterion) {
    let bidx = BlindIndexKey::new(Key32::generate().unwrap());
    let map: HashMap<String, u64> = (0..10_000u64).map(|i| (format!("person{i}@example.com"), i)).chain([(EMAIL.to_string(), 1)]).collect();
    let mut g = c.benchmark_group("blind_index/email");
    g.bench_function("hmac_compute", |b| b.iter(|| bidx.compute(black_box(EMAIL))));
    g.bench_function("plain_hashmap_lookup", |b| b.iter(|| map.get(black_box(EMAIL)).copied()));
    g.finish();
}

fn subject_key(c: &mut Criterion) {
    let master = MasterKey::generate(1).unwrap();
    let subject = Key32::generate().unwrap();
    let key_id = format!("subject/{}", uuid::Uuid::now_v7());
    let wrapped = master.wrap(&subject, &key_id).unwrap();
    let mut g = c.benchmark_group("subject_key");
    g.bench_function("wrap", |b| b.iter(|| master.wrap(black_box(&subject), black_box(&key_id)).unwrap()));
    g.bench_function("unwrap", |b| b.iter(|| master.unwrap_key(black_box(&wrapped), black_box(&key_id)).unwrap()));
    g.bench_function("wrap_unwrap", |b| {
        b.iter(|| {
            let w = master.wrap(black_box(&subject), &key_id).unwrap();
            master.unwrap_key(&w, &key_id).unwrap()
        })
    });
    let clear = [7u8; 32];
    g.bench_function("plain_copy_32B", |b| b.iter(|| *black_box(&clear)));
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2)).sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = field, blind_index, subject_key
}
criterion_main!(benches);
