//! Tamper evidence for the audit trail: a hash chain, an RFC 9162 Merkle tree, and Ed25519-signed
//! checkpoints (docs/adr/0007-audit-tamper-evidence.md).
//!
//! Every audit event is hashed once into a leaf hash (`SHA-256(0x00 || event bytes)`). The leaf
//! feeds two structures, each covering a gap the other leaves:
//!
//! - the **hash chain** (`link = SHA-256("sejf-audit-chain-v1" || prev_link || leaf)`) makes any
//!   change, reordering or deletion of an event break every later link, so `audit verify` can
//!   name the first bad sequence number, not just say "something is wrong";
//! - the **Merkle tree** (Certificate Transparency v2, RFC 9162 §2.1) gives logarithmic inclusion
//!   proofs that a third party can check without the database.
//!
//! A [`Checkpoint`] signs the tree size, tree root and chain head together. The signature is
//! Ed25519 rather than a MAC so that anyone holding only the public key can verify; copies of
//! the checkpoints kept outside the database (the witness file) make truncation and rewriting by
//! someone with database access detectable.
//!
//! Invariants:
//! - Hashes are domain separated: leaf (`0x00`), interior node (`0x01`) and chain link (a text
//!   label) inputs can never be confused for one another, so no second-preimage trick turns a
//!   node into a leaf or a link into a node.
//! - The tree is exactly RFC 9162's: other implementations compute the same roots and proofs
//!   (checked against the published CT test vectors below).
//! - Verification is streaming: [`TreeBuilder`] keeps O(log n) hashes and does amortised O(1)
//!   work per event, so millions of events verify in seconds.
//! - The signing key is never printed, cloned or serialised and is wiped on drop; callers store
//!   its seed only wrapped by the master key.
//! - Nothing here takes plaintext personal data: events are hashed as the caller encodes them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::{CryptoError, Key32};

/// A SHA-256 output: a leaf hash, interior node hash, tree root or chain link.
pub type Hash = [u8; 32];

/// The `prev` of the first event's chain link.
pub const CHAIN_GENESIS: Hash = [0u8; 32];

/// The origin line Sejf's own audit log puts in its checkpoints.
pub const DEFAULT_ORIGIN: &str = "sejf-audit";

/// Domain label of chain links; the version lets a future format coexist with old logs.
const CHAIN_LABEL: &[u8] = b"sejf-audit-chain-v1";

/// Leaf hash: SHA-256(0x00 || data) (RFC 9162 §2.1.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// Interior node hash: SHA-256(0x01 || left || right) (RFC 9162 §2.1.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of the empty string.
fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The Merkle tree head (MTH) of leaves given as leaf hashes (RFC 9162 §2.1.1); the empty tree's
/// is SHA-256(""). O(n) hashes, O(log n) memory.
pub fn root(leaves: &[Hash]) -> Hash {
    let mut b = TreeBuilder::new();
    for leaf in leaves {
        b.push(*leaf);
    }
    b.root()
}

/// Builds a Merkle tree one leaf at a time, keeping only the roots of the perfect subtrees that
/// make up the leaves so far (one per set bit of the size, left to right, largest first).
///
/// Why this shape: RFC 9162 splits a tree of n leaves at the largest power of two below n, so
/// the tree is exactly the chain of those perfect subtrees folded from the right. Pushing a leaf
/// merges equal-sized subtrees like a binary counter carries: amortised one node hash per leaf,
/// and never more than 64 hashes held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeBuilder {
    /// Roots of the perfect subtrees, left to right; subtree `i` has `2^h` leaves where `h` is
    /// the position of the `i`-th highest set bit of `size`.
    stack: Vec<Hash>,
    size: u64,
}

impl TreeBuilder {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes a tree from a saved [`frontier`](Self::frontier), so a sealer that restarts
    /// need not rehash the whole log. Fails unless the frontier has one hash per set bit of
    /// `size`.
    pub fn from_frontier(size: u64, frontier: Vec<Hash>) -> Result<Self, CryptoError> {
        if frontier.len() != size.count_ones() as usize {
            return Err(CryptoError::InvalidArgument("a tree frontier needs one hash per set bit of the tree size"));
        }
        Ok(Self { stack: frontier, size })
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut h = leaf;
        // Each trailing one bit of the old size is a perfect subtree of the same height as the
        // one being carried: merge it, exactly as adding 1 to a binary counter carries.
        let mut carries = self.size;
        while carries & 1 == 1 {
            match self.stack.pop() {
                Some(left) => h = node_hash(&left, &h),
                // Unreachable while the stack matches the size's bits (constructors ensure it);
                // stopping is safer than inventing a hash.
                None => break,
            }
            carries >>= 1;
        }
        self.stack.push(h);
        self.size += 1;
    }

    /// How many leaves were pushed.
    pub fn len(&self) -> u64 {
        self.size
    }

    /// Whether no leaf was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The root of the leaves pushed so far, without consuming the builder: the perfect
    /// subtrees folded from the right (O(log n) hashes).
    pub fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(last) => it.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }

    /// The perfect-subtree roots, left to right: with [`len`](Self::len), all the state needed
    /// to resume with [`from_frontier`](Self::from_frontier).
    pub fn frontier(&self) -> &[Hash] {
        &self.stack
    }
}

/// The largest power of two strictly below `n`; `n` must be at least 2.
fn split_point(n: usize) -> usize {
    1usize << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The inclusion proof (audit path) of leaf `index` in the tree made of the first `size` of
/// `leaves` (RFC 9162 §2.1.3.1), nearest sibling first. Fails if `index >= size` or `size`
/// exceeds the leaves given.
pub fn inclusion_proof(leaves: &[Hash], index: u64, size: u64) -> Result<Vec<Hash>, CryptoError> {
    let size = usize::try_from(size).map_err(|_| CryptoError::InvalidArgument("tree size does not fit in memory"))?;
    let index = usize::try_from(index).map_err(|_| CryptoError::InvalidArgument("leaf index outside the tree"))?;
    if index >= size {
        return Err(CryptoError::InvalidArgument("leaf index outside the tree"));
    }
    let tree = leaves.get(..size).ok_or(CryptoError::InvalidArgument("tree size exceeds the leaves given"))?;
    let mut path = Vec::with_capacity(64);
    path_into(index, tree, &mut path);
    Ok(path)
}

/// PATH(m, D[n]) of RFC 9162 §2.1.3.1. Recursion depth is log2(n), and each level hashes only
/// the sibling subtree, so the whole proof costs O(n) hashes.
fn path_into(m: usize, tree: &[Hash], out: &mut Vec<Hash>) {
    let n = tree.len();
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    let Some((left, right)) = tree.split_at_checked(k) else {
        return;
    };
    if m < k {
        path_into(m, left, out);
        out.push(root(right));
    } else {
        path_into(m - k, right, out);
        out.push(root(left));
    }
}

/// Verifies that `leaf` is leaf number `index` of the tree of `size` leaves whose root is
/// `root`, given its inclusion proof (RFC 9162 §2.1.3.2). A proof that is too short or too long
/// fails.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let mut fnode = index;
    let mut snode = size - 1;
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            // A right-edge node with no right sibling at this level: climb until it is a right
            // child again (or reaches the top), as the RFC's algorithm does.
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

/// One link of the hash chain: SHA-256("sejf-audit-chain-v1" || prev || leaf). The first
/// event's `prev` is [`CHAIN_GENESIS`] (32 zero bytes).
pub fn chain_link(prev: &Hash, leaf: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(CHAIN_LABEL);
    h.update(prev);
    h.update(leaf);
    h.finalize().into()
}

/// The key id of an audit public key: hex of the first 8 bytes of its SHA-256. A hint for
/// picking the right key, never a substitute for checking the signature.
pub fn key_id(public_key: &[u8; 32]) -> String {
    let digest = Sha256::digest(public_key);
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A signed checkpoint of the log: tree size, root, chain head (the link of the last event) and
/// time, signed by the audit key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    /// Which log this is, e.g. [`DEFAULT_ORIGIN`]; non-empty, no newline.
    pub origin: String,
    /// Number of events covered.
    pub tree_size: u64,
    /// Merkle root of the first `tree_size` events, standard base64.
    pub root: String,
    /// Chain link of event `tree_size` (or [`CHAIN_GENESIS`] when empty), standard base64.
    pub chain_head: String,
    /// When it was signed, Unix microseconds.
    pub at: i64,
    /// [`key_id`] of the signing key.
    pub key_id: String,
    /// Ed25519 signature over [`signed_bytes`](Self::signed_bytes), standard base64.
    pub signature: String,
}

impl Checkpoint {
    /// The canonical text that is signed, in the spirit of a C2SP signed-note body:
    /// `origin\n<size>\n<root b64>\n<chain b64>\n<at>\n`. Fixed lines, each ending in a newline,
    /// so no two different checkpoints (with newline-free origins) share a signed form.
    pub fn signed_bytes(&self) -> Vec<u8> {
        format!("{}\n{}\n{}\n{}\n{}\n", self.origin, self.tree_size, self.root, self.chain_head, self.at).into_bytes()
    }

    /// The tree root as bytes.
    pub fn root_hash(&self) -> Result<Hash, CryptoError> {
        decode32(&self.root).ok_or(CryptoError::Format("checkpoint root is not 32 bytes of base64"))
    }

    /// The chain head as bytes.
    pub fn chain_hash(&self) -> Result<Hash, CryptoError> {
        decode32(&self.chain_head).ok_or(CryptoError::Format("checkpoint chain head is not 32 bytes of base64"))
    }
}

/// Standard base64 of 32 bytes, or `None`. The engine rejects non-canonical encodings, so each
/// hash has exactly one accepted text form.
fn decode32(s: &str) -> Option<[u8; 32]> {
    STANDARD.decode(s).ok()?.try_into().ok()
}

/// Whether an origin can sit on one line of the signed form: otherwise the text would be
/// ambiguous.
fn origin_is_valid(origin: &str) -> bool {
    !origin.is_empty() && !origin.contains('\n')
}

/// The Ed25519 signing key of the audit log. Not `Debug`, `Clone` or `Serialize`; zeroised on
/// drop (ed25519-dalek's `zeroize` feature). Callers store its 32-byte seed wrapped by the
/// master key, as they store any [`Key32`].
pub struct AuditSigner {
    key: SigningKey,
}

impl AuditSigner {
    /// A new key, seeded from [`crate::random`].
    pub fn generate() -> Result<Self, CryptoError> {
        let seed = Key32::generate()?;
        Ok(Self::from_seed(&seed))
    }

    /// The key whose seed (RFC 8032 private key) is `seed`.
    pub fn from_seed(seed: &Key32) -> Self {
        Self { key: SigningKey::from_bytes(seed.expose()) }
    }

    /// The seed, to wrap and store.
    pub fn seed(&self) -> Key32 {
        let mut bytes = self.key.to_bytes();
        let seed = Key32::from_bytes(bytes);
        // `from_bytes` copied the array; wipe the stack copy too.
        zeroize::Zeroize::zeroize(&mut bytes);
        seed
    }

    /// The public key, to publish next to the witness file.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Signs a checkpoint. `origin` must be non-empty without newlines, or the checkpoint will
    /// not verify.
    pub fn sign(&self, origin: &str, tree_size: u64, root: &Hash, chain_head: &Hash, at: i64) -> Checkpoint {
        let mut cp = Checkpoint {
            origin: origin.to_owned(),
            tree_size,
            root: STANDARD.encode(root),
            chain_head: STANDARD.encode(chain_head),
            at,
            key_id: key_id(&self.public_key()),
            signature: String::new(),
        };
        let sig = self.key.sign(&cp.signed_bytes());
        cp.signature = STANDARD.encode(sig.to_bytes());
        cp
    }
}

/// Verifies a checkpoint's signature with a 32-byte Ed25519 public key. Also requires a valid
/// origin, well-formed hashes and a `key_id` that names this key, so a checkpoint that claims
/// another key never passes. Uses strict verification (no malleable or small-order
/// signatures).
pub fn verify_checkpoint(cp: &Checkpoint, public_key: &[u8; 32]) -> bool {
    if !origin_is_valid(&cp.origin) || cp.key_id != key_id(public_key) || cp.root_hash().is_err() || cp.chain_hash().is_err() {
        return false;
    }
    let Ok(vk) = VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    let Some(sig) = STANDARD.decode(&cp.signature).ok().and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
        return false;
    };
    vk.verify_strict(&cp.signed_bytes(), &Signature::from_bytes(&sig)).is_ok()
}

/// A self-contained inclusion proof that a third party can check without the database.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct InclusionProof {
    /// 1-based sequence number of the event (leaf index + 1).
    pub seq: u64,
    /// The event's leaf hash, standard base64.
    pub leaf: String,
    /// The event as exported, for the reader; the leaf hash is what the proof covers.
    pub event: serde_json::Value,
    /// Size of the tree the path leads through; equals the checkpoint's.
    pub tree_size: u64,
    /// The audit path, nearest sibling first, standard base64.
    pub path: Vec<String>,
    /// The signed checkpoint whose root the path leads to.
    pub checkpoint: Checkpoint,
    /// The audit public key, standard base64.
    pub public_key: String,
}

/// Checks an [`InclusionProof`]: the checkpoint's signature under the embedded public key (and,
/// when `trusted_key` is given, that the embedded key is that one), then the path against the
/// checkpoint's root. Errors are one line saying what failed.
///
/// Without `trusted_key` this proves only self-consistency: anyone can make a key and sign a
/// checkpoint, so a verifier should pin the key published by the operator.
pub fn check_proof(p: &InclusionProof, trusted_key: Option<&[u8; 32]>) -> Result<(), String> {
    let public_key = decode32(&p.public_key).ok_or("the public key is not 32 bytes of base64")?;
    if let Some(trusted) = trusted_key
        && *trusted != public_key
    {
        return Err(format!("the proof is signed by key {}, not the trusted key {}", key_id(&public_key), key_id(trusted)));
    }
    if !verify_checkpoint(&p.checkpoint, &public_key) {
        return Err(format!("the checkpoint signature does not verify under key {}", key_id(&public_key)));
    }
    if p.tree_size != p.checkpoint.tree_size {
        return Err(format!("the proof is for tree size {}, the checkpoint for {}", p.tree_size, p.checkpoint.tree_size));
    }
    if p.seq == 0 || p.seq > p.tree_size {
        return Err(format!("seq {} is outside the tree of size {}", p.seq, p.tree_size));
    }
    let leaf = decode32(&p.leaf).ok_or("the leaf hash is not 32 bytes of base64")?;
    let path = p
        .path
        .iter()
        .enumerate()
        .map(|(i, s)| decode32(s).ok_or_else(|| format!("path element {i} is not 32 bytes of base64")))
        .collect::<Result<Vec<Hash>, String>>()?;
    let root = p.checkpoint.root_hash().map_err(|e| e.to_string())?;
    if !verify_inclusion(&leaf, p.seq - 1, p.tree_size, &path, &root) {
        return Err(format!("seq {} is not in the tree of size {} under the checkpoint's root", p.seq, p.tree_size));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
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
        let mut manual = b"sejf-audit-chain-v1".to_vec();
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
        let l = leaves(21);
        let head = *chain(&l).last().unwrap();
        let cp = s.sign(DEFAULT_ORIGIN, 21, &root(&l), &head, 42);
        InclusionProof {
            seq: index + 1,
            leaf: STANDARD.encode(l[index as usize]),
            event: serde_json::json!({"seq": index + 1, "action": "person.read"}),
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
            (InclusionProof { seq: 8, ..good.clone() }, None, "is not in the tree"),
            (InclusionProof { seq: 0, ..good.clone() }, None, "outside the tree"),
            (InclusionProof { seq: 22, ..good.clone() }, None, "outside the tree"),
            (InclusionProof { leaf: STANDARD.encode(leaf_hash(b"forged")), ..good.clone() }, None, "is not in the tree"),
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
}
