//! The audit trail: events for every access, written durably before data leaves (group commit
//! for reads, the same transaction for writes); a sealer that links events into a hash chain
//! and an RFC 9162 Merkle tree and signs checkpoints (Ed25519), also appended to a witness file
//! outside the database; verification that names the first bad sequence number; and inclusion
//! proofs a third party can check without the database.
//!
//! Invariants: no event holds a personal value (ids, field names, counts, outcomes only); an
//! event's leaf hash covers its sequence number and every field, so changing, deleting,
//! inserting or reordering an event changes what `verify` recomputes.

use crate::actions::AuditAction;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sejf_crypto::audit::{self as tree, AuditSigner, Checkpoint, Hash, InclusionProof, TreeBuilder};

use crate::authz::Actor;
use crate::batch::Batcher;
use crate::ports::{AuditEvent, ChainRow, KeyKind, Store, StoreError};
use crate::{App, CoreError};

const SIGNING_KEY: &str = "audit-signing";
const ORIGIN: &str = "sejf-audit";
/// Events read per page while sealing or verifying: small, so a server catching up on a large
/// import keeps its memory flat.
const PAGE: u32 = 1_000;
/// Events hashed per page while sealing: about half a megabyte of canonical text, which the
/// database, the driver and the sealer each hold a copy of while it is read. At 10,000 a page was
/// five megabytes, built by doubling; a seal every ten seconds under load then left tens of
/// megabytes for the allocator to hand back later (docs/benchmarks.md §4p).
const SEAL_PAGE: u32 = 1_000;
/// Most events written by one group commit.
const GROUP_MAX: usize = 4_096;

/// The group-commit writer: concurrent requests' events share one transaction, one at a time.
pub struct AuditLog(Batcher<Vec<AuditEvent>, Result<(), StoreError>>);

impl AuditLog {
    /// Starts the writer task on the current runtime.
    pub fn start(store: std::sync::Arc<dyn Store>) -> Self {
        Self(Batcher::start(GROUP_MAX, 1, Vec::len, move |batches: Vec<Vec<AuditEvent>>| {
            let store = store.clone();
            async move { group_commit(batches, |events| store.audit_append(events)).await }
        }))
    }

    /// Requests whose events wait for the next group commit.
    pub fn queued(&self) -> usize {
        self.0.queued()
    }

    /// Whether the writer task still runs.
    pub fn running(&self) -> bool {
        !self.0.is_closed()
    }

    /// Writes `events` durably; returns once they are committed. A failure means the caller
    /// must not hand out the data the events describe.
    pub async fn record(&self, events: Vec<AuditEvent>) -> Result<(), CoreError> {
        if events.is_empty() {
            return Ok(());
        }
        self.0
            .call(events)
            .await
            .ok_or_else(|| CoreError::Storage("the audit writer stopped".into()))?
            .map_err(|e| CoreError::Storage(format!("audit write failed: {e}")))
    }
}

/// Writes the events of several requests in one commit; if that fails, writes each request's
/// events on their own, so one request whose events the database refuses (whatever slipped past
/// validation) fails alone instead of failing every request that shared its commit. Answers one
/// result per request, in order.
async fn group_commit<'a, F>(batches: Vec<Vec<AuditEvent>>, append: F) -> Vec<Result<(), StoreError>>
where
    F: Fn(Vec<AuditEvent>) -> crate::ports::Fut<'a, ()>,
{
    let n = batches.len();
    if n == 1 {
        let result = append(batches.into_iter().flatten().collect()).await;
        return vec![result];
    }
    let all: Vec<AuditEvent> = batches.iter().flatten().cloned().collect();
    match append(all).await {
        Ok(()) => vec![Ok(()); n],
        Err(e) => {
            tracing::warn!(error = %e, requests = n, "audit group commit failed; writing each request's events alone");
            let mut results = Vec::with_capacity(n);
            for events in batches {
                results.push(append(events).await);
            }
            results
        }
    }
}

/// An event's canonical body: the compact JSON array `[at, actor_id, actor, role, action,
/// resource_type, resource_id, subject_id, fields, purpose, outcome, client, request_id,
/// detail]`. It is what the store keeps, byte for byte; the leaf hash covers it with its
/// sequence number ([`tree::event_leaf`]); the columns searches filter on are generated from it.
///
/// Both engines must store every body: PostgreSQL refuses `\u0000` in `jsonb` (the filter
/// columns are computed through it), so a NUL that slipped past validation is written as U+FFFD
/// instead. Free text is validated before it gets here (`sejf_domain::text`); this is the last
/// line, so no input can make an event unstorable.
pub fn canonical(e: &AuditEvent) -> String {
    let texts = e.texts().map(|t| if t.contains('\0') { std::borrow::Cow::Owned(t.replace('\0', "\u{fffd}")) } else { t.into() });
    let [a, b, c, d, f, g, h, i, j, k, l, m, n] = texts;
    serde_json::to_string(&(e.at, a, b, c, d, f, g, h, i, j, k, l, m, n)).unwrap_or_default()
}

/// The body's fields in [`canonical`] order, as parsed back.
type Body = (i64, String, String, String, String, String, String, String, String, String, String, String, String, String);

/// Reads a stored body back into its event.
pub fn parse_body(body: &str) -> Result<AuditEvent, CoreError> {
    let b: Body = serde_json::from_str(body).map_err(|_| CoreError::Integrity("an audit event body is malformed".into()))?;
    Ok(AuditEvent {
        at: b.0,
        actor_id: b.1,
        actor: b.2,
        role: b.3,
        action: b.4,
        resource_type: b.5,
        resource_id: b.6,
        subject_id: b.7,
        fields: b.8,
        purpose: b.9,
        outcome: b.10,
        client: b.11,
        request_id: b.12,
        detail: b.13,
    })
}

/// The leaf hash of event `seq` stored as `body`.
fn leaf_of(seq: i64, body: &[u8]) -> Hash {
    tree::event_leaf(seq as u64, body)
}

/// Splits a page of stored bodies ([`Store::audit_canonical_range`]: `seq:length:body`, one
/// after another) into `(seq, body bytes)` in `seq` order, checking the framing.
pub fn split_pages(page: &[u8]) -> Result<Vec<(i64, &[u8])>, CoreError> {
    let bad = |at: usize| CoreError::Integrity(format!("a page of audit events is malformed at byte {at}"));
    let number = |pos: &mut usize| -> Result<i64, CoreError> {
        let start = *pos;
        let stop = page[start..].iter().position(|b| *b == b':').ok_or_else(|| bad(start))? + start;
        *pos = stop + 1;
        std::str::from_utf8(&page[start..stop]).ok().and_then(|t| t.parse().ok()).ok_or_else(|| bad(start))
    };
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < page.len() {
        let seq = number(&mut pos)?;
        let len = usize::try_from(number(&mut pos)?).map_err(|_| bad(pos))?;
        let end = pos.checked_add(len).filter(|end| *end <= page.len()).ok_or_else(|| bad(pos))?;
        out.push((seq, &page[pos..end]));
        pos = end;
    }
    // The database concatenates in whatever order its aggregate runs (in sequence order in
    // practice, which makes this a linear check).
    out.sort_by_key(|(seq, _)| *seq);
    Ok(out)
}

/// What `sejf audit verify` found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub events: i64,
    pub checkpoints: usize,
    /// The first bad sequence number and why.
    pub first_bad: Option<(i64, String)>,
}

impl App {
    /// A new event about `actor`, with the request's client address and id.
    pub fn event(&self, actor: &Actor, action: AuditAction, resource_type: &str, resource_id: &str) -> AuditEvent {
        AuditEvent {
            at: self.now(),
            actor_id: if actor.user_id.is_nil() { String::new() } else { actor.user_id.to_string() },
            actor: actor.username.clone(),
            role: if actor.scope == crate::authz::Scope::Operator { "operator".into() } else { actor.role.as_str().to_string() },
            action: action.as_str().to_string(),
            resource_type: resource_type.to_string(),
            resource_id: resource_id.to_string(),
            outcome: "ok".into(),
            client: actor.client.clone(),
            request_id: actor.request_id.clone(),
            ..Default::default()
        }
    }

    /// Records a refused request (`request.refused`): `what` is the method and path (ids, never
    /// a personal value), `status` the answer; the actor when the token was good.
    pub async fn record_refusal(
        &self,
        actor: Option<&Actor>,
        client: &str,
        request_id: &str,
        what: &str,
        status: u16,
    ) -> Result<(), CoreError> {
        // Anonymous refusals: the first per client block and minute is written, the rest are
        // summed into one summary event (`crate::guard`), so they cannot grow the trail freely.
        if actor.is_none() && !self.tally_refusal(client, self.now()) {
            return Ok(());
        }
        let mut ev = match actor {
            Some(a) => self.event(a, AuditAction::RequestRefused, "request", what),
            None => AuditEvent {
                at: self.now(),
                action: AuditAction::RequestRefused.as_str().into(),
                resource_type: "request".into(),
                resource_id: what.into(),
                ..Default::default()
            },
        };
        ev.outcome = status.to_string();
        ev.client = client.to_string();
        ev.request_id = request_id.to_string();
        self.audit(vec![ev]).await
    }

    /// Records events durably (group commit); see [`AuditLog::record`].
    pub async fn audit(&self, events: Vec<AuditEvent>) -> Result<(), CoreError> {
        self.audit_log.record(events).await
    }

    /// Pins the audit public key that `config.toml` names: the sealer signs with nothing else
    /// and `verify` trusts nothing else. Only the first call takes effect.
    pub fn pin_audit_key(&self, public_key: [u8; 32]) {
        let _ = self.audit_pin.set(public_key);
    }

    /// Creates the audit signing key. Only `sejf init` calls this, once: every other path uses
    /// the key that exists, so a key deleted or never made is an error rather than a new,
    /// unpinned key. Returns its public key, to be pinned.
    pub async fn create_audit_key(&self) -> Result<[u8; 32], CoreError> {
        if self.store.key_get(KeyKind::System, SIGNING_KEY).await?.is_some() {
            return Err(CoreError::Conflict("this database already has an audit signing key".into()));
        }
        let seed = self.keys.named_key(self.store.as_ref(), KeyKind::System, SIGNING_KEY).await?;
        Ok(AuditSigner::from_seed(&seed).public_key())
    }

    /// The signing key the database holds, if any.
    async fn stored_signer(&self) -> Result<Option<AuditSigner>, CoreError> {
        let seed = self.keys.existing_named_key(self.store.as_ref(), KeyKind::System, SIGNING_KEY).await?;
        Ok(seed.map(|s| AuditSigner::from_seed(&s)))
    }

    /// The signing key, provided it is the pinned one.
    pub(crate) async fn audit_signer(&self) -> Result<AuditSigner, CoreError> {
        let pinned = self.audit_pin.get().ok_or_else(|| {
            CoreError::Integrity("no audit public key is pinned (audit_public_key in config.toml; see `sejf audit pin-key`)".into())
        })?;
        let signer = self
            .stored_signer()
            .await?
            .ok_or_else(|| CoreError::Integrity("the database holds no audit signing key (it is made by `sejf init`)".into()))?;
        if &signer.public_key() != pinned {
            return Err(CoreError::Integrity("the audit signing key in the database is not the pinned one: it was replaced".into()));
        }
        Ok(signer)
    }

    /// The audit log's public key (base64), for pinning by verifiers.
    pub async fn audit_public_key(&self) -> Result<String, CoreError> {
        Ok(STANDARD.encode(self.audit_signer().await?.public_key()))
    }

    /// The public key of the signing key the database holds, pinned or not (`sejf audit
    /// pin-key` pins it for an installation made before keys were pinned).
    pub async fn stored_audit_public_key(&self) -> Result<Option<[u8; 32]>, CoreError> {
        Ok(self.stored_signer().await?.map(|s| s.public_key()))
    }

    /// Seals every event not yet sealed: stores leaf hashes and chain links, signs a checkpoint
    /// of the whole log, stores it, appends it to the witness file and hands it to the alert
    /// sinks. Returns the checkpoint (None if nothing was new, or another server holds the
    /// sealer lease this round). With several servers on one PostgreSQL exactly one seals at a
    /// time (an advisory lock); the rows it writes are deterministic and never overwritten, so
    /// an interrupted seal is finished by whichever server seals next.
    ///
    /// Refuses to seal with any key but the pinned one, into a witness file that is missing or
    /// pins another key, or over stored chain rows that disagree with the last signed
    /// checkpoint or with their events. `witness` None is for benchmarks and tests only.
    pub async fn seal(&self, witness: Option<&Path>) -> Result<Option<Checkpoint>, CoreError> {
        let result = self.seal_once(witness).await;
        let at = if result.is_ok() { self.now() } else { -1 };
        self.seal_state.store(at, std::sync::atomic::Ordering::Relaxed);
        result
    }

    async fn seal_once(&self, witness: Option<&Path>) -> Result<Option<Checkpoint>, CoreError> {
        let mut state = self.sealer.lock().await;
        // One sealer at a time across every server on the database; the others skip this round.
        let Some(_lease) = self.store.audit_sealer_lock().await? else { return Ok(None) };
        let signer = self.audit_signer().await?;
        if let Some(path) = witness {
            crate::witness::check_header(path, &signer.public_key()).map_err(|e| CoreError::Integrity(e.to_string()))?;
        }
        // The state is put back only after a complete seal: after a failure it is rebuilt from
        // what the database holds.
        let mut st = state.take().unwrap_or_else(SealerState::empty);
        let checkpoint = self.seal_from(&mut st, witness, &signer).await?;
        *state = Some(st);
        Ok(checkpoint)
    }

    async fn seal_from(&self, st: &mut SealerState, witness: Option<&Path>, signer: &AuditSigner) -> Result<Option<Checkpoint>, CoreError> {
        // The last signed checkpoint: the stored chain rows must agree with it before anything
        // is built on them.
        let last = match self.store.audit_checkpoint_last().await? {
            Some((size, body)) => {
                let cp: Checkpoint =
                    serde_json::from_str(&body).map_err(|_| CoreError::Integrity(format!("checkpoint {size} is unreadable")))?;
                if !tree::verify_checkpoint(&cp, &signer.public_key()) || cp.tree_size as i64 != size {
                    return Err(CoreError::Integrity(format!(
                        "the checkpoint at size {size} has a bad signature; run `sejf audit verify`"
                    )));
                }
                Some(cp)
            }
            None => None,
        };
        let signed_to = last.as_ref().map_or(0, |c| c.tree_size as i64);
        if st.sealed > signed_to {
            // This process sealed past the last checkpoint without storing one: start afresh.
            *st = SealerState::empty();
        }
        // Catch up on what was sealed and signed elsewhere (or before this process started)
        // from the stored leaves and links, which is cheaper than hashing those events again...
        while st.sealed < signed_to {
            let want = u32::try_from(signed_to - st.sealed).unwrap_or(u32::MAX).min(PAGE);
            let rows = self.store.audit_chain_range(st.sealed, want).await?;
            if rows.is_empty() {
                return Err(CoreError::Integrity(format!("audit chain row {} is missing below the last checkpoint", st.sealed + 1)));
            }
            for (seq, leaf, l) in &rows {
                if *seq != st.sealed + 1 {
                    return Err(CoreError::Integrity(format!("audit chain row {} missing", st.sealed + 1)));
                }
                st.builder.push(to_hash(leaf)?);
                st.link = to_hash(l)?;
                st.sealed = *seq;
            }
        }
        // ...provided they are what the checkpoint signed.
        if let Some(cp) = &last
            && (cp.root_hash().ok() != Some(st.builder.root()) || cp.chain_hash().ok() != Some(st.link))
        {
            *st = SealerState::empty();
            return Err(CoreError::Integrity(format!(
                "the stored audit chain does not match the last signed checkpoint (size {signed_to}); run `sejf audit verify`"
            )));
        }
        // Past it, the events are hashed; rows an interrupted seal left there must agree.
        let mut stored = StoredChain::after(st.sealed);
        let mut new_rows = Vec::new();
        loop {
            let page = self.store.audit_canonical_range(st.sealed, SEAL_PAGE).await?;
            if page.is_empty() {
                break;
            }
            for (seq, bytes) in split_pages(page.as_bytes())? {
                if seq != st.sealed + 1 {
                    return Err(CoreError::Integrity(format!("audit seq {} missing while sealing", st.sealed + 1)));
                }
                let leaf = leaf_of(seq, bytes);
                st.link = tree::chain_link(&st.link, &leaf);
                st.builder.push(leaf);
                st.sealed = seq;
                if let Some((bad, why)) = stored.check(self.store.as_ref(), seq, &leaf, &st.link).await? {
                    return Err(CoreError::Integrity(format!(
                        "stored audit chain row {bad} disagrees with its event ({why}); run `sejf audit verify`"
                    )));
                }
                new_rows.push((seq, leaf.to_vec(), st.link.to_vec()));
            }
            if new_rows.len() >= PAGE as usize {
                self.store.audit_chain_put(std::mem::take(&mut new_rows)).await?;
            }
        }
        if !new_rows.is_empty() {
            self.store.audit_chain_put(new_rows).await?;
        }
        if st.sealed == 0 || st.sealed == signed_to {
            return Ok(None);
        }
        let cp = signer.sign(ORIGIN, st.sealed as u64, &st.builder.root(), &st.link, self.now());
        let body = serde_json::to_string(&cp).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.store.audit_checkpoint_put(st.sealed, body, cp.at).await?;
        // Another server may have stored its own checkpoint of the same size first (they differ
        // only in time and signature): witness the one the database keeps.
        let stored = self
            .store
            .audit_checkpoints()
            .await?
            .into_iter()
            .find(|(size, _)| *size == st.sealed)
            .ok_or_else(|| CoreError::Storage("the checkpoint just stored is missing".into()))?;
        let kept: Checkpoint = serde_json::from_str(&stored.1).map_err(|_| CoreError::Integrity("stored checkpoint unreadable".into()))?;
        if let Some(path) = witness {
            crate::witness::append(path, &stored.1).map_err(|e| CoreError::Storage(format!("witness file {}: {e}", path.display())))?;
        }
        self.notify(crate::insider::Notice::Checkpoint(kept.clone()));
        Ok(Some(kept))
    }

    /// Recomputes the whole trail: sequence, leaf hashes, chain, tree roots and checkpoint
    /// signatures, against the anchors kept outside the database. Names the first bad
    /// sequence number (1 for what concerns the whole trail). Fails closed:
    /// - the key is the pinned one (`config.toml`; `key`, when given, must agree with it), the
    ///   database's signing key must be it, and so must each witness file's header;
    /// - a database that holds events must hold a signed checkpoint, and witness files with
    ///   at least one checkpoint (a missing or empty witness is a failure, not "intact");
    /// - every witnessed checkpoint is in the database, unchanged, and none covers more events
    ///   than the log holds.
    pub async fn verify_audit(&self, witnesses: &[std::path::PathBuf], key: Option<[u8; 32]>) -> Result<VerifyReport, CoreError> {
        let whole = |why: String| Ok(VerifyReport { events: 0, checkpoints: 0, first_bad: Some((1, why)) });
        let public = match (self.audit_pin.get(), key) {
            (Some(pinned), Some(given)) if *pinned != given => return whole("the key given is not the one config.toml pins".into()),
            (_, Some(given)) => given,
            (Some(pinned), None) => *pinned,
            (None, None) => return whole("no audit public key is pinned (audit_public_key in config.toml, or --key)".into()),
        };
        match self.stored_signer().await? {
            None => return whole("the database holds no audit signing key".into()),
            Some(s) if s.public_key() != public => {
                return whole("the audit signing key in the database is not the pinned one: it was replaced".into());
            }
            Some(_) => {}
        }
        let has_events = !self.store.audit_canonical_range(0, 1).await?.is_empty();
        let mut checkpoints: Vec<(i64, Checkpoint)> = Vec::new();
        for (size, body) in self.store.audit_checkpoints().await? {
            let cp: Checkpoint =
                serde_json::from_str(&body).map_err(|_| CoreError::Integrity(format!("checkpoint {size} is unreadable")))?;
            checkpoints.push((size, cp));
        }
        let mut witnessed: Vec<Checkpoint> = Vec::new();
        for path in witnesses {
            let w = match crate::witness::read_pinned(path, &public) {
                Ok(Some(w)) => w,
                Ok(None) if has_events => return whole(crate::witness::WitnessError::Missing(path.to_path_buf()).to_string()),
                Ok(None) => continue,
                Err(e) => return whole(e.to_string()),
            };
            witnessed.extend(w.checkpoints);
        }
        if has_events && checkpoints.is_empty() {
            return whole("the database holds events but no signed checkpoint (were the checkpoints deleted?)".into());
        }
        if has_events && witnessed.is_empty() {
            return whole(if witnesses.is_empty() {
                "no witness file to check the trail against".to_string()
            } else {
                "the witness file holds no checkpoint while the database holds events".to_string()
            });
        }
        let report = |events: i64, first_bad: Option<(i64, String)>| VerifyReport { events, checkpoints: checkpoints.len(), first_bad };

        // Every checkpoint must carry a valid signature, and the witness must agree with the database.
        let mut previous = 0i64;
        for (size, cp) in &checkpoints {
            if !tree::verify_checkpoint(cp, &public) || cp.tree_size as i64 != *size {
                return Ok(report(0, Some((previous + 1, format!("checkpoint at size {size} has a bad signature")))));
            }
            previous = *size;
        }
        for w in &witnessed {
            if !tree::verify_checkpoint(w, &public) {
                return Ok(report(0, Some((1, "the witness file holds a checkpoint with a bad signature".into()))));
            }
            match checkpoints.iter().find(|(s, _)| *s == w.tree_size as i64) {
                Some((_, cp)) if cp != w => {
                    return Ok(report(0, Some((1, format!("checkpoint at size {} differs from the witness file", w.tree_size)))));
                }
                Some(_) => {}
                None => {
                    return Ok(report(
                        0,
                        Some((1, format!("checkpoint at size {} is in the witness file but not in the database (deleted?)", w.tree_size))),
                    ));
                }
            }
        }

        let mut builder = TreeBuilder::new();
        let mut link: Hash = [0u8; 32];
        let mut expected = 1i64;
        // The first event of the current checkpoint interval, and the chain link before it.
        let (mut interval_start, mut interval_link) = (1i64, link);
        let all_checkpoints: Vec<Checkpoint> = checkpoints.iter().map(|(_, c)| c.clone()).collect();
        // Up to the last checkpoint the signed roots vouch for the events, and the stored chain
        // rows are read only to name the first bad event of an interval that fails. Past it only
        // the chain rows do, so they are compared event by event.
        let signed_to = all_checkpoints.last().map_or(0, |c| c.tree_size as i64);
        let mut tail = StoredChain::after(signed_to);
        let mut next_cp = all_checkpoints.iter().peekable();
        // The next page is read on another task while this one is hashed.
        let mut ahead = read_ahead(&self.store, 0);
        loop {
            let page = joined(ahead).await?;
            let records = split_pages(page.as_bytes())?;
            let Some(&(last, _)) = records.last() else { break };
            ahead = read_ahead(&self.store, last);
            for (seq, bytes) in records {
                if seq != expected {
                    return Ok(report(expected - 1, Some((expected, format!("event missing (next stored is seq {seq})")))));
                }
                let leaf = leaf_of(seq, bytes);
                link = tree::chain_link(&link, &leaf);
                builder.push(leaf);
                if seq > signed_to
                    && let Some(bad) = tail.check(self.store.as_ref(), seq, &leaf, &link).await?
                {
                    return Ok(report(seq, Some(bad)));
                }
                while let Some(cp) = next_cp.peek() {
                    if cp.tree_size as i64 != seq {
                        break;
                    }
                    if cp.root_hash().ok() != Some(builder.root()) || cp.chain_hash().ok() != Some(link) {
                        let why = match self.first_changed_between(interval_start, seq, interval_link).await? {
                            Some(bad) => bad,
                            None => (interval_start, format!("events {interval_start}..{seq} do not match their signed checkpoint")),
                        };
                        return Ok(report(seq, Some(why)));
                    }
                    (interval_start, interval_link) = (seq + 1, link);
                    next_cp.next();
                }
                expected += 1;
            }
        }
        let events = expected - 1;
        if let Some(cp) = next_cp.peek() {
            return Ok(report(
                events,
                Some((events + 1, format!("the log ends at seq {events} but a checkpoint covers {}", cp.tree_size))),
            ));
        }
        if !self.store.audit_chain_range(events, 1).await?.is_empty() {
            return Ok(report(events, Some((events + 1, "a sealed event is missing from the end of the log".into()))));
        }
        Ok(report(events, None))
    }

    /// Within events `from..=to`, which failed their checkpoint, the first whose recomputed leaf
    /// or link differs from the stored chain row; `link` is the chain link before `from`. None
    /// when the chain rows were rewritten to match (the checkpoint still catches that).
    async fn first_changed_between(&self, from: i64, to: i64, mut link: Hash) -> Result<Option<(i64, String)>, CoreError> {
        let mut chain = StoredChain::after(from - 1);
        let mut after = from - 1;
        while after < to {
            let limit = u32::try_from(to - after).unwrap_or(u32::MAX).min(SEAL_PAGE);
            let page = self.store.audit_canonical_range(after, limit).await?;
            let records = split_pages(page.as_bytes())?;
            let Some(&(last, _)) = records.last() else { break };
            for (seq, bytes) in records {
                let leaf = leaf_of(seq, bytes);
                link = tree::chain_link(&link, &leaf);
                if let Some(bad) = chain.check(self.store.as_ref(), seq, &leaf, &link).await? {
                    return Ok(Some(bad));
                }
            }
            after = last;
        }
        Ok(None)
    }

    /// An inclusion proof for event `seq` against the latest checkpoint.
    pub async fn audit_prove(&self, seq: i64) -> Result<InclusionProof, CoreError> {
        let (size, body) =
            self.store.audit_checkpoints().await?.pop().ok_or_else(|| CoreError::Conflict("nothing is sealed yet".into()))?;
        if seq < 1 || seq > size {
            return Err(CoreError::Conflict(format!("seq {seq} is not covered by the latest checkpoint (size {size})")));
        }
        let cp: Checkpoint = serde_json::from_str(&body).map_err(|_| CoreError::Integrity("latest checkpoint unreadable".into()))?;
        let mut leaves = Vec::with_capacity(size as usize);
        let mut after = 0;
        while (leaves.len() as i64) < size {
            let rows = self.store.audit_chain_range(after, PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            for (s, leaf, _) in rows {
                if s <= size {
                    leaves.push(to_hash(&leaf)?);
                }
            }
        }
        let path = tree::inclusion_proof(&leaves, (seq - 1) as u64, size as u64)?;
        // The stored body, byte for byte: the leaf covers exactly these bytes.
        let page = self.store.audit_canonical_range(seq - 1, 1).await?;
        let body = match split_pages(page.as_bytes())?.first() {
            Some((s, body)) if *s == seq => {
                String::from_utf8(body.to_vec()).map_err(|_| CoreError::Integrity("an audit body is not UTF-8".into()))?
            }
            _ => return Err(CoreError::NotFound),
        };
        let event = parse_body(&body)?;
        Ok(InclusionProof {
            seq: seq as u64,
            leaf: STANDARD.encode(leaves[(seq - 1) as usize]),
            event: serde_json::to_value(&event).map_err(|e| CoreError::Internal(e.to_string()))?,
            body,
            tree_size: size as u64,
            path: path.iter().map(|h| STANDARD.encode(h)).collect(),
            checkpoint: cp,
            public_key: self.audit_public_key().await?,
        })
    }
}

/// The sealer's running state: the tree frontier, the last link, the last sealed seq.
pub struct SealerState {
    builder: TreeBuilder,
    link: Hash,
    sealed: i64,
}

impl SealerState {
    fn empty() -> Self {
        Self { builder: TreeBuilder::new(), link: [0u8; 32], sealed: 0 }
    }
}

/// Events read per page while verifying (two pages may be in memory at once).
const VERIFY_PAGE: u32 = 10_000;

/// The sealer's stored chain rows, read in pages from a cursor and compared with what the
/// verifier recomputes.
struct StoredChain {
    after: i64,
    rows: std::collections::VecDeque<ChainRow>,
    done: bool,
}

impl StoredChain {
    fn after(seq: i64) -> Self {
        Self { after: seq, rows: Default::default(), done: false }
    }

    /// Compares event `seq`'s recomputed leaf and link with its stored row, if it has one.
    async fn check(&mut self, store: &dyn Store, seq: i64, leaf: &Hash, link: &Hash) -> Result<Option<(i64, String)>, CoreError> {
        while self.rows.front().is_some_and(|(s, _, _)| *s < seq) {
            self.rows.pop_front();
        }
        if self.rows.is_empty() && !self.done {
            let rows = store.audit_chain_range(self.after, PAGE).await?;
            match rows.last() {
                Some(last) => self.after = last.0,
                None => self.done = true,
            }
            self.rows.extend(rows);
        }
        match self.rows.front() {
            Some((s, sealed_leaf, _)) if *s == seq && sealed_leaf.as_slice() != leaf => {
                Ok(Some((seq, "event changed since it was sealed".into())))
            }
            Some((s, _, sealed_link)) if *s == seq && sealed_link.as_slice() != link => {
                Ok(Some((seq, "chain broken (an earlier event was changed or removed)".into())))
            }
            _ => Ok(None),
        }
    }
}

type Ahead = tokio::task::JoinHandle<Result<String, crate::ports::StoreError>>;

/// Starts reading the page of events after `after` on another task.
fn read_ahead(store: &std::sync::Arc<dyn Store>, after: i64) -> Ahead {
    let store = store.clone();
    tokio::spawn(async move { store.audit_canonical_range(after, VERIFY_PAGE).await })
}

async fn joined(page: Ahead) -> Result<String, CoreError> {
    Ok(page.await.map_err(|e| CoreError::Internal(format!("audit read task: {e}")))??)
}

fn to_hash(v: &[u8]) -> Result<Hash, CoreError> {
    v.try_into().map_err(|_| CoreError::Integrity("a stored audit hash is not 32 bytes".into()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn event(detail: &str) -> AuditEvent {
        AuditEvent { at: -5, actor: "łukasz".into(), action: "person.read".into(), detail: detail.into(), ..Default::default() }
    }

    #[test]
    fn bodies_are_compact_json_arrays_that_parse_back() {
        let e = event("a\"b\n:7:");
        let body = canonical(&e);
        assert_eq!(body, r#"[-5,"","łukasz","","person.read","","","","","","","","","a\"b\n:7:"]"#);
        assert_eq!(parse_body(&body).unwrap(), e);
        assert!(matches!(parse_body("[3,-5]"), Err(CoreError::Integrity(_))));
    }

    #[test]
    fn no_text_makes_a_body_one_engine_cannot_store() {
        let e = event("a\0b");
        let body = canonical(&e);
        assert!(!body.contains("\\u0000") && !body.contains('\0'), "{body}");
        assert_eq!(parse_body(&body).unwrap().detail, "a\u{fffd}b");
    }

    #[tokio::test]
    async fn a_refused_request_fails_alone_in_its_group_commit() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let append = move |events: Vec<AuditEvent>| -> crate::ports::Fut<'static, ()> {
            log.lock().unwrap().push(events.len());
            let bad = events.iter().any(|e| e.detail == "poison");
            Box::pin(async move { if bad { Err(crate::ports::StoreError::Backend("refused".into())) } else { Ok(()) } })
        };
        let results = group_commit(vec![vec![event("a")], vec![event("poison"), event("b")], vec![event("c"), event("d")]], &append).await;
        assert_eq!(results.iter().map(Result::is_ok).collect::<Vec<_>>(), [true, false, true]);
        assert!(matches!(&results[1], Err(StoreError::Backend(m)) if m == "refused"), "the store's own error: {results:?}");
        assert_eq!(*seen.lock().unwrap(), [5, 1, 2, 2], "one commit, then each request alone");
        let alone = group_commit(vec![vec![event("a"), event("b")]], &append).await;
        assert!(alone[0].is_ok());
        assert_eq!(seen.lock().unwrap().len(), 5, "a lone request is written once");
    }

    #[test]
    fn pages_split_back_into_bodies_in_seq_order() {
        let (a, b) = (canonical(&event("12:ab")), canonical(&event("")));
        let page = format!("2:{}:{b}1:{}:{a}", b.len(), a.len());
        let split = split_pages(page.as_bytes()).unwrap();
        assert_eq!(split, vec![(1, a.as_bytes()), (2, b.as_bytes())]);
        assert!(split_pages(b"").unwrap().is_empty());
        for bad in [&page[..page.len() - 1], "1:5:abc", "x:1:a", "1:99999999999999999999:", "1:-1:"] {
            assert!(matches!(split_pages(bad.as_bytes()), Err(CoreError::Integrity(_))), "{bad}");
        }
    }

    #[test]
    fn every_field_changes_the_body() {
        let base = event("d");
        let encoded = canonical(&base);
        assert_ne!(leaf_of(3, encoded.as_bytes()), leaf_of(4, encoded.as_bytes()), "the leaf covers the position");
        for i in 0..13 {
            let mut changed = base.clone();
            let field = [
                &mut changed.actor_id,
                &mut changed.actor,
                &mut changed.role,
                &mut changed.action,
                &mut changed.resource_type,
                &mut changed.resource_id,
                &mut changed.subject_id,
                &mut changed.fields,
                &mut changed.purpose,
                &mut changed.outcome,
                &mut changed.client,
                &mut changed.request_id,
                &mut changed.detail,
            ];
            field.into_iter().nth(i).unwrap().push('!');
            assert_ne!(canonical(&changed), encoded, "field {i}");
        }
    }
}
