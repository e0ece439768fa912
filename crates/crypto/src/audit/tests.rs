//! Tests of the parent module.

use super::*;
use proptest::prelude::*;

fn hex(s: &str) -> Hash {
    let bytes: Vec<u8> = (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect();
    bytes.try_into().unwrap()
}

/// MTH written straight from RFC 9162 §2.1.1, as an independent reference.
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => Sha256::digest(b"").into(),
        1 => d[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

fn leaves(n: usize) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&(i as u64).to_be_bytes())).collect()
}

/// The Certificate Transparency test inputs (RFC 6962 / RFC 9162 share the tree).
fn ct_leaves() -> Vec<Hash> {
    let data: [&[u8]; 8] = [
        b"",
        &[0x00],
        &[0x10],
        &[0x20, 0x21],
        &[0x30, 0x31],
        &[0x40, 0x41, 0x42, 0x43],
        &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        &[0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f],
    ];
    data.iter().map(|d| leaf_hash(d)).collect()
}

const CT_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn roots_match_the_ct_test_vectors() {
    let l = ct_leaves();
    let mut b = TreeBuilder::new();
    assert_eq!(b.root(), hex(CT_ROOTS[0]));
    for (n, want) in CT_ROOTS.iter().enumerate() {
        assert_eq!(root(&l[..n]), hex(want), "root of size {n}");
        assert_eq!(mth(&l[..n]), hex(want), "reference MTH of size {n}");
        if n > 0 {
            b.push(l[n - 1]);
            assert_eq!(b.root(), hex(want), "builder at size {n}");
        }
    }
}

#[test]
fn inclusion_proofs_match_the_ct_test_vectors() {
    let l = ct_leaves();
    let vectors: [(u64, u64, &[&str]); 4] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (index, size, want) in vectors {
        let proof = inclusion_proof(&l, index, size).unwrap();
        let want: Vec<Hash> = want.iter().map(|h| hex(h)).collect();
        assert_eq!(proof, want, "proof for {index} in {size}");
        assert!(verify_inclusion(&l[index as usize], index, size, &proof, &hex(CT_ROOTS[size as usize])));
    }
}

#[test]
fn known_hash_values() {
    // SHA-256(0x00): the CT leaf hash of empty data.
    assert_eq!(leaf_hash(b""), hex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"));
    let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
    let mut manual = vec![0x01];
    manual.extend_from_slice(&a);
    manual.extend_from_slice(&b);
    assert_eq!(node_hash(&a, &b), <Hash>::from(Sha256::digest(&manual)));
    let mut manual = b"sejf-audit-chain-v2".to_vec();
    manual.extend_from_slice(&a);
    manual.extend_from_slice(&b);
    assert_eq!(chain_link(&a, &b), <Hash>::from(Sha256::digest(&manual)));
    assert_ne!(leaf_hash(b"x"), <Hash>::from(Sha256::digest(b"x")), "leaves are domain separated");
}

#[test]
fn builder_root_and_reference_agree_for_sizes_0_to_40() {
    let l = leaves(40);
    let mut b = TreeBuilder::new();
    for n in 0..=40usize {
        if n > 0 {
            b.push(l[n - 1]);
        }
        let want = mth(&l[..n]);
        assert_eq!(root(&l[..n]), want, "root of {n}");
        assert_eq!(b.root(), want, "builder of {n}");
        assert_eq!(b.len(), n as u64);
        assert_eq!(b.frontier().len(), (n as u64).count_ones() as usize, "O(log n) state at {n}");
        // Reading the root does not disturb later pushes.
        assert_eq!(b.root(), want);
    }
    assert!(TreeBuilder::new().is_empty());
}

#[test]
fn builder_resumes_from_its_frontier() {
    let l = leaves(29);
    let mut a = TreeBuilder::new();
    for leaf in &l[..13] {
        a.push(*leaf);
    }
    let mut b = TreeBuilder::from_frontier(a.len(), a.frontier().to_vec()).unwrap();
    for leaf in &l[13..] {
        a.push(*leaf);
        b.push(*leaf);
    }
    assert_eq!(b.root(), mth(&l));
    assert_eq!(a, b);
    assert!(TreeBuilder::from_frontier(13, vec![[0; 32]; 2]).is_err());
}

#[test]
fn every_inclusion_proof_verifies_and_tampering_fails() {
    let l = leaves(33);
    for size in 1..=33u64 {
        let r = root(&l[..size as usize]);
        for index in 0..size {
            let leaf = l[index as usize];
            let proof = inclusion_proof(&l, index, size).unwrap();
            assert!(verify_inclusion(&leaf, index, size, &proof, &r), "{index} in {size}");

            // Wrong index.
            for other in 0..size {
                if other != index {
                    assert!(!verify_inclusion(&leaf, other, size, &proof, &r), "{index} as {other} in {size}");
                }
            }
            assert!(!verify_inclusion(&leaf, size, size, &proof, &r));
            // Wrong leaf.
            assert!(!verify_inclusion(&leaf_hash(b"forged"), index, size, &proof, &r));
            // Wrong root.
            let mut bad_root = r;
            bad_root[0] ^= 1;
            assert!(!verify_inclusion(&leaf, index, size, &proof, &bad_root));
            // Truncated or extended path.
            if let Some((_, short)) = proof.split_last() {
                assert!(!verify_inclusion(&leaf, index, size, short, &r), "truncated {index} in {size}");
            }
            let mut long = proof.clone();
            long.push(r);
            assert!(!verify_inclusion(&leaf, index, size, &long, &r));
            // A changed path element.
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i][31] ^= 0x80;
                assert!(!verify_inclusion(&leaf, index, size, &bad, &r));
            }
        }
    }
}

#[test]
fn inclusion_proof_rejects_impossible_arguments() {
    let l = leaves(5);
    assert!(matches!(inclusion_proof(&l, 5, 5), Err(CryptoError::InvalidArgument(_))));
    assert!(matches!(inclusion_proof(&l, 0, 0), Err(CryptoError::InvalidArgument(_))));
    assert!(matches!(inclusion_proof(&l, 0, 6), Err(CryptoError::InvalidArgument(_))));
    assert!(inclusion_proof(&l, 0, 1).unwrap().is_empty());
    assert!(!verify_inclusion(&l[0], 0, 0, &[], &root(&[])));
}

fn chain(items: &[Hash]) -> Vec<Hash> {
    let mut prev = CHAIN_GENESIS;
    items
        .iter()
        .map(|leaf| {
            prev = chain_link(&prev, leaf);
            prev
        })
        .collect()
}

#[test]
fn chain_detects_change_swap_and_deletion() {
    let l = leaves(6);
    let good = chain(&l);

    let mut changed = l.clone();
    changed[2] = leaf_hash(b"edited");
    let c = chain(&changed);
    assert_eq!(c[..2], good[..2], "links before the change stay");
    assert!(c[2..].iter().zip(&good[2..]).all(|(a, b)| a != b), "every later link moves");

    let mut swapped = l.clone();
    swapped.swap(1, 4);
    assert_ne!(chain(&swapped).last(), good.last());

    let mut deleted = l.clone();
    deleted.remove(3);
    let d = chain(&deleted);
    assert!(!d.contains(&good[5]) && d[3] != good[4]);

    // The chain depends on the position, not only on the set of leaves.
    assert_ne!(chain_link(&CHAIN_GENESIS, &l[0]), chain_link(&l[0], &CHAIN_GENESIS));
}

fn signer() -> AuditSigner {
    AuditSigner::from_seed(&Key32::from_bytes([7u8; 32]))
}

fn sample_checkpoint(s: &AuditSigner) -> Checkpoint {
    let l = leaves(10);
    let head = *chain(&l).last().unwrap();
    s.sign(DEFAULT_ORIGIN, 10, &root(&l), &head, 1_700_000_000_000_000)
}

#[test]
fn checkpoint_sign_verify_and_format() {
    let s = signer();
    let pk = s.public_key();
    let cp = sample_checkpoint(&s);
    assert!(verify_checkpoint(&cp, &pk));
    assert_eq!(cp.key_id, key_id(&pk));
    assert_eq!(cp.key_id.len(), 16);
    assert_eq!(cp.root_hash().unwrap(), root(&leaves(10)));
    let text = String::from_utf8(cp.signed_bytes()).unwrap();
    assert_eq!(text, format!("sejf-audit\n10\n{}\n{}\n1700000000000000\n", cp.root, cp.chain_head));

    // JSON round trip keeps it valid.
    let json = serde_json::to_string(&cp).unwrap();
    let back: Checkpoint = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cp);
    assert!(verify_checkpoint(&back, &pk));
}

#[test]
fn checkpoint_with_a_changed_field_or_other_key_fails() {
    let s = signer();
    let pk = s.public_key();
    let cp = sample_checkpoint(&s);
    let other_root = STANDARD.encode(leaf_hash(b"other"));

    let tampered: Vec<Checkpoint> = vec![
        Checkpoint { origin: "other-log".into(), ..cp.clone() },
        Checkpoint { tree_size: 9, ..cp.clone() },
        Checkpoint { root: other_root.clone(), ..cp.clone() },
        Checkpoint { chain_head: other_root, ..cp.clone() },
        Checkpoint { at: cp.at + 1, ..cp.clone() },
        Checkpoint { key_id: "0000000000000000".into(), ..cp.clone() },
        Checkpoint { signature: STANDARD.encode([0u8; 64]), ..cp.clone() },
        Checkpoint { signature: "not base64!".into(), ..cp.clone() },
        Checkpoint { root: "AAAA".into(), ..cp.clone() },
    ];
    for (i, t) in tampered.iter().enumerate() {
        assert!(!verify_checkpoint(t, &pk), "tampered variant {i} verified");
    }

    let other = AuditSigner::generate().unwrap();
    assert!(!verify_checkpoint(&cp, &other.public_key()));
    // Even with the key id rewritten to match the other key.
    let relabelled = Checkpoint { key_id: key_id(&other.public_key()), ..cp.clone() };
    assert!(!verify_checkpoint(&relabelled, &other.public_key()));
    // An origin that would make the signed text ambiguous never verifies.
    let bad_origin = s.sign("a\nb", 1, &[0; 32], &[0; 32], 0);
    assert!(!verify_checkpoint(&bad_origin, &pk));
}

#[test]
fn signer_seed_round_trip() {
    let a = AuditSigner::generate().unwrap();
    let b = AuditSigner::from_seed(&a.seed());
    assert_eq!(a.public_key(), b.public_key());
    assert_ne!(a.public_key(), AuditSigner::generate().unwrap().public_key());
    // Ed25519 signatures are deterministic: the same key signs the same bytes identically.
    assert_eq!(sample_checkpoint(&a), sample_checkpoint(&b));
}

fn sample_proof(s: &AuditSigner, index: u64) -> InclusionProof {
    let bodies: Vec<String> = (1..=21).map(|seq| format!("[{seq},\"person.read\"]")).collect();
    let l: Vec<Hash> = bodies.iter().zip(1..).map(|(b, seq)| event_leaf(seq, b.as_bytes())).collect();
    let head = *chain(&l).last().unwrap();
    let cp = s.sign(DEFAULT_ORIGIN, 21, &root(&l), &head, 42);
    InclusionProof {
        seq: index + 1,
        leaf: STANDARD.encode(l[index as usize]),
        event: serde_json::json!({"seq": index + 1, "action": "person.read"}),
        body: bodies[index as usize].clone(),
        tree_size: 21,
        path: inclusion_proof(&l, index, 21).unwrap().iter().map(|h| STANDARD.encode(h)).collect(),
        checkpoint: cp,
        public_key: STANDARD.encode(s.public_key()),
    }
}

#[test]
fn check_proof_round_trip() {
    let s = signer();
    let pk = s.public_key();
    for index in 0..21 {
        let p = sample_proof(&s, index);
        assert_eq!(check_proof(&p, None), Ok(()));
        assert_eq!(check_proof(&p, Some(&pk)), Ok(()));
        let json = serde_json::to_string_pretty(&p).unwrap();
        let back: InclusionProof = serde_json::from_str(&json).unwrap();
        assert_eq!(check_proof(&back, Some(&pk)), Ok(()));
    }
}

#[test]
fn check_proof_rejects_tampering_with_a_reason() {
    let s = signer();
    let pk = s.public_key();
    let good = sample_proof(&s, 6);
    let other = AuditSigner::generate().unwrap();

    let mut bad_path = good.clone();
    bad_path.path[0] = "!".into();
    let mut bad_cp = good.clone();
    bad_cp.checkpoint.tree_size = 22;
    bad_cp.tree_size = 22;
    // A forger re-signs with their own key: passes self-consistency, fails against the pin.
    let forged = sample_proof(&other, 6);
    assert_eq!(check_proof(&forged, None), Ok(()));

    let cases: Vec<(InclusionProof, Option<[u8; 32]>, &str)> = vec![
        (good.clone(), Some(other.public_key()), "not the trusted key"),
        (forged, Some(pk), "not the trusted key"),
        (InclusionProof { seq: 8, ..good.clone() }, None, "does not hash to its leaf"),
        (InclusionProof { seq: 0, ..good.clone() }, None, "outside the tree"),
        (InclusionProof { seq: 22, ..good.clone() }, None, "outside the tree"),
        (
            InclusionProof { leaf: STANDARD.encode(event_leaf(good.seq, b"forged")), body: "forged".into(), ..good.clone() },
            None,
            "is not in the tree",
        ),
        (InclusionProof { body: "[8,\"person.read\"]".into(), ..good.clone() }, None, "does not hash to its leaf"),
        (InclusionProof { seq: 8, leaf: STANDARD.encode(event_leaf(8, good.body.as_bytes())), ..good.clone() }, None, "is not in the tree"),
        (InclusionProof { tree_size: 20, ..good.clone() }, None, "tree size"),
        (InclusionProof { path: good.path[1..].to_vec(), ..good.clone() }, None, "is not in the tree"),
        (InclusionProof { public_key: "short".into(), ..good.clone() }, None, "public key"),
        (InclusionProof { leaf: "%%".into(), ..good.clone() }, None, "leaf hash"),
        (bad_path, None, "path element 0"),
        (bad_cp, None, "signature does not verify"),
        // Swapping in another key without re-signing.
        (InclusionProof { public_key: STANDARD.encode(other.public_key()), ..good.clone() }, None, "signature does not verify"),
    ];

    for (i, (p, trusted, why)) in cases.iter().enumerate() {
        let err = check_proof(p, trusted.as_ref()).expect_err(&format!("case {i} passed"));
        assert!(err.contains(why), "case {i}: {err:?} lacks {why:?}");
        assert!(!err.contains('\n'), "one line");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_trees_agree_and_prove(n in 1usize..300, pick in any::<prop::sample::Index>(), salt in any::<u64>()) {
        let l: Vec<Hash> = (0..n).map(|i| leaf_hash(&[salt.to_le_bytes(), (i as u64).to_le_bytes()].concat())).collect();
        let r = mth(&l);
        prop_assert_eq!(root(&l), r);
        let index = pick.index(n) as u64;
        let proof = inclusion_proof(&l, index, n as u64).unwrap();
        prop_assert!(proof.len() <= 64 - (n as u64).leading_zeros() as usize);
        prop_assert!(verify_inclusion(&l[index as usize], index, n as u64, &proof, &r));
    }
}

#[test]
fn event_leaves_cover_the_position_and_the_body() {
    assert_eq!(event_leaf(0, b"x"), leaf_hash(b"0:x"));
    assert_eq!(event_leaf(1234567, b"[1]"), leaf_hash(b"1234567:[1]"));
    assert_eq!(event_leaf(u64::MAX, b""), leaf_hash(format!("{}:", u64::MAX).as_bytes()));
    assert_ne!(event_leaf(12, b"3:x"), event_leaf(123, b"x"), "the colon after the position separates it from the body");
}

#[test]
fn statements_verify_only_with_their_key_context_and_body() {
    let signer = AuditSigner::generate().unwrap();
    let other = AuditSigner::generate().unwrap();
    let sig = signer.sign_statement("erasure-receipt", b"{\"person_id\":\"x\"}");
    assert!(verify_statement(&signer.public_key(), "erasure-receipt", b"{\"person_id\":\"x\"}", &sig));
    assert!(!verify_statement(&other.public_key(), "erasure-receipt", b"{\"person_id\":\"x\"}", &sig), "another key");
    assert!(!verify_statement(&signer.public_key(), "checkpoint", b"{\"person_id\":\"x\"}", &sig), "another context");
    assert!(!verify_statement(&signer.public_key(), "erasure-receipt", b"{\"person_id\":\"y\"}", &sig), "another body");
    assert!(!verify_statement(&signer.public_key(), "erasure-receipt", b"{\"person_id\":\"x\"}", &sig[..63]), "truncated");
}
