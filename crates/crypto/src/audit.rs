//! Tamper evidence for the audit trail: a hash chain, an RFC 9162 Merkle tree, and Ed25519-signed
//! checkpoints (docs/adr/0007-audit-tamper-evidence.md).
//!
//! Every audit event is hashed once into a leaf hash (`SHA-256(0x00 || event bytes)`). The leaf
//! feeds two structures, each covering a gap the other leaves:
//!
//! - the **hash chain** (`link = SHA-256("sejf-audit-chain-v2" || prev_link || leaf)`) makes any
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
const CHAIN_LABEL: &[u8] = b"sejf-audit-chain-v2";

/// Leaf hash: SHA-256(0x00 || data) (RFC 9162 §2.1.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// The leaf of audit event `seq` whose stored body is `body`: the leaf hash of the entry
/// `seq ":" body` (decimal seq), so the position is covered as well as the content.
pub fn event_leaf(seq: u64, body: &[u8]) -> Hash {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = seq;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(&digits[at..]);
    h.update(b":");
    h.update(body);
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

/// One link of the hash chain: SHA-256("sejf-audit-chain-v2" || prev || leaf). The first
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

impl AuditSigner {
    /// Signs a statement other than a checkpoint (an erasure receipt). `context` separates the
    /// kinds of statement, so no signature of one kind verifies as another or as a checkpoint.
    pub fn sign_statement(&self, context: &str, body: &[u8]) -> [u8; 64] {
        self.key.sign(&statement_bytes(context, body)).to_bytes()
    }
}

fn statement_bytes(context: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(context.len() + body.len() + 16);
    m.extend_from_slice(b"sejf statement\n");
    m.extend_from_slice(context.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(body);
    m
}

/// Verifies a signature made by [`AuditSigner::sign_statement`] (strict Ed25519).
pub fn verify_statement(public_key: &[u8; 32], context: &str, body: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public_key) else { return false };
    let Ok(sig) = Signature::from_slice(signature) else { return false };
    key.verify_strict(&statement_bytes(context, body), &sig).is_ok()
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
    /// The event's stored body, byte for byte: the leaf is [`event_leaf`]`(seq, body)`.
    pub body: String,
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
    if event_leaf(p.seq, p.body.as_bytes()) != leaf {
        return Err("the event body does not hash to its leaf".into());
    }
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
mod tests;
