//! Throughput of audit verification's hashing: every event goes through `leaf_hash`, `chain_link`
//! and `TreeBuilder::push`, as `sejf audit verify` does. Target (shared/DESIGN.md): ≥ 1,000,000
//! events/s. Run with `cargo bench -p sejf-crypto --bench audit`.

use std::hint::black_box;
use std::time::Instant;

use sejf_crypto::Key32;
use sejf_crypto::audit::{AuditSigner, CHAIN_GENESIS, DEFAULT_ORIGIN, TreeBuilder, chain_link, leaf_hash, verify_checkpoint};

const EVENTS: u64 = 2_000_000;
const EVENT_BYTES: usize = 200;

fn main() {
    // A synthetic event whose first bytes carry the sequence number, so no two leaves are equal
    // and the work cannot be skipped; building it costs a few stores per event.
    let mut event = [b'x'; EVENT_BYTES];
    let mut tree = TreeBuilder::new();
    let mut head = CHAIN_GENESIS;

    let start = Instant::now();
    for seq in 1..=EVENTS {
        event[..8].copy_from_slice(&seq.to_le_bytes());
        let leaf = leaf_hash(black_box(&event));
        head = chain_link(&head, &leaf);
        tree.push(leaf);
    }
    let root = tree.root();
    let elapsed = start.elapsed();
    black_box((root, head));

    let per_second = EVENTS as f64 / elapsed.as_secs_f64();
    println!(
        "audit verify hashing: {EVENTS} events of {EVENT_BYTES} bytes (leaf + chain + tree) in {:.3} s = {:.0} events/s (target >= 1000000)",
        elapsed.as_secs_f64(),
        per_second
    );

    // One checkpoint signature and verification, for scale: done once per checkpoint, not per event.
    let signer = AuditSigner::from_seed(&Key32::from_bytes([1u8; 32]));
    let t = Instant::now();
    let cp = signer.sign(DEFAULT_ORIGIN, tree.len(), &root, &head, 0);
    let signed = t.elapsed();
    let t = Instant::now();
    let ok = verify_checkpoint(&cp, &signer.public_key());
    let verified = t.elapsed();
    println!("checkpoint: sign {:?}, verify {:?} (valid: {ok})", signed, verified);
}
