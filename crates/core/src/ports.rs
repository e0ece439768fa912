//! Ports: what the use-cases need from storage, as a trait the `sejf-store` crate implements.
//!
//! The store sees only ciphertexts, wrapped keys and blind indexes: never a key or a plaintext
//! personal value. Each method is one atomic unit of work (its own transaction).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use uuid::Uuid;

/// A boxed future, so the store can be used as `Arc<dyn Store>`.
pub type Fut<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (e.g. a user name that exists).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A referenced record does not exist (foreign key).
    #[error("reference: {0}")]
    Reference(String),
    /// The schema in the database is newer than this binary knows.
    #[error("{0}")]
    SchemaTooNew(String),
    /// Anything else the database reported. The text names no personal value.
    #[error("database error: {0}")]
    Backend(String),
}

/// What a key-store row holds: a key wrapped by the master key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Subject,
    Unit,
    Index,
    /// Keys of the installation itself (e.g. the one sealing TOTP secrets).
    System,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Subject => "subject",
            KeyKind::Unit => "unit",
            KeyKind::Index => "index",
            KeyKind::System => "system",
        }
    }
}

#[derive(Clone)]
pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub units: Vec<String>,
    pub created_at: i64,
    /// A service account: signs in only with API tokens, never with a password.
    pub service: bool,
    /// TOTP is enrolled and confirmed.
    pub mfa_enabled: bool,
    /// The password was set by an administrator through the admin API: the next sign-in may
    /// only change it.
    pub must_change_password: bool,
}

sejf_domain::redacted_debug!(UserRow { id, username, role, disabled, units, service, mfa_enabled, must_change_password });

/// A processing purpose of the register (GDPR Art. 6 lawful basis, Art. 30 records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurposeRow {
    /// A short slug, e.g. `newsletter`.
    pub name: String,
    /// `consent`, `contract`, `legal_obligation`, `vital_interests`, `public_task` or
    /// `legitimate_interests`.
    pub lawful_basis: String,
    /// Data categories, comma-separated.
    pub categories: String,
    pub retention: String,
    pub recipients: String,
    /// The purpose markets: it needs current consent for the channel used.
    pub marketing: bool,
    /// The purpose covers every person without a consent of its own.
    pub applies_to_all: bool,
    pub created_at: i64,
}

/// One grant or withdrawal of consent; the newest per (purpose, channel) is in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    pub id: Uuid,
    pub person_id: Uuid,
    pub purpose: String,
    /// `email`, `sms` or `phone`.
    pub channel: String,
    pub granted: bool,
    pub wording_version: String,
    /// How it was collected, e.g. `web form`, `phone call`.
    pub source: String,
    /// The client address that recorded it.
    pub client: String,
    /// The user who recorded it.
    pub recorded_by: String,
    pub recorded_at: i64,
}

/// A flag on a data subject: `restricted`, `legal_hold` or `marketing_objection`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagRow {
    pub person_id: Uuid,
    pub flag: String,
    pub reason: String,
    pub set_by: String,
    pub set_at: i64,
}

/// What an erasure leaves behind: keyed hashes for the suppression list and the signed receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub person_id: Uuid,
    /// (`email` | `phone`, blind-index value).
    pub suppress: Vec<(String, i64)>,
    pub receipt_body: String,
    pub receipt_signature: String,
    pub at: i64,
}

/// One step of an import fed to [`Store::people_import`].
#[derive(Debug)]
pub enum ImportStep {
    /// People to insert, their events, and how many of the file's data rows are now done.
    Batch { people: Vec<NewPerson>, audit: Vec<AuditEvent>, rows_done: i64 },
    /// The whole file is in: commit. Without it, a closed channel rolls everything back.
    Finish,
}

/// The blind-index values of a person, for matching an import's rows to people already held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonKeys {
    pub id: Uuid,
    pub email_bidx: Option<i64>,
    pub phone_bidx: Option<i64>,
    pub national_id_bidx: Option<i64>,
}

/// One disclosure of a person's data to a registered processor (GDPR Art. 15(1)(c), Art. 19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisclosureRow {
    pub person_id: Uuid,
    pub processor: String,
    pub purpose: String,
    /// The data categories sent, comma-separated.
    pub categories: String,
    pub disclosed_at: i64,
}

/// A data-subject request of the register (times unix µs; 0 and '' mean "not yet").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsrRow {
    pub id: Uuid,
    /// access, rectification, erasure, restriction, portability or objection.
    pub kind: String,
    /// The person, once identified ('' before).
    pub person_id: String,
    pub received_at: i64,
    pub due_at: i64,
    /// How the requester's identity was checked.
    pub identity_check: String,
    /// Why the deadline was extended ('' if it was not).
    pub extension_reason: String,
    /// open, done or refused.
    pub status: String,
    pub handled_by: String,
    pub closed_at: i64,
    pub note: String,
    pub created_by: String,
    /// When the overdue alert was raised (0: not yet).
    pub alerted_at: i64,
}

/// A grant of a privileged role through the admin API, waiting for a second administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrantRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    pub role: String,
    /// "create" (the account waits disabled) or "role" (a role change).
    pub kind: String,
    pub requested_by_id: Uuid,
    pub requested_by: String,
    pub requested_at: i64,
    /// pending, approved or refused.
    pub status: String,
    pub decided_by: String,
    pub decided_at: i64,
}

/// A user's TOTP state: secrets are encrypted blobs; the last accepted step stops replays.
#[derive(Debug, Clone, Default)]
pub struct MfaRow {
    pub secret: Option<Vec<u8>>,
    pub pending: Option<Vec<u8>>,
    pub last_step: i64,
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub token_hash: Vec<u8>,
    pub created_at: i64,
    pub last_seen: i64,
    pub expires_at: i64,
    /// `full`, `enroll` (may only enrol TOTP), or `api <scope>…` for an integration token.
    pub scope: String,
    /// A name for an API token, shown in lists.
    pub label: String,
}

/// Sign-in attempts counted under one key (see `auth`), its lock, and its verification lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleRow {
    pub key: String,
    pub failures: i64,
    pub window_start: i64,
    pub locked_until: i64,
    /// How many locks this key has earned since its last success: each doubles the next.
    pub locks: i64,
    /// An account key's verification lease, then its delay before the next verification.
    pub busy_until: i64,
}

/// One audit event. Never a personal value: ids, field names, counts and outcomes only.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEvent {
    /// Unix microseconds.
    pub at: i64,
    /// The user or service account ("" for none, e.g. a failed sign-in).
    pub actor_id: String,
    /// The user name as given (for failed sign-ins: the name that was tried).
    pub actor: String,
    pub role: String,
    /// What happened, e.g. `person.read`, `auth.login` (see `outcome`), `people.search`, `alert`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    /// The data subject (person) the event concerns, if any.
    pub subject_id: String,
    /// Field names touched or shown, comma-separated.
    pub fields: String,
    pub purpose: String,
    /// `ok`, `denied`, `not_found`, `failed`, …
    pub outcome: String,
    pub client: String,
    pub request_id: String,
    /// Non-personal detail, e.g. `results=3`.
    pub detail: String,
}

impl AuditEvent {
    /// The text fields in their canonical order (after `seq` and `at`); see
    /// [`crate::audit::canonical`].
    pub fn texts(&self) -> [&str; 13] {
        [
            &self.actor_id,
            &self.actor,
            &self.role,
            &self.action,
            &self.resource_type,
            &self.resource_id,
            &self.subject_id,
            &self.fields,
            &self.purpose,
            &self.outcome,
            &self.client,
            &self.request_id,
            &self.detail,
        ]
    }
}

/// The sealer's record of one event: (seq, leaf hash, chain link).
pub type ChainRow = (i64, Vec<u8>, Vec<u8>);

/// A stored event with its sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedEvent {
    pub seq: i64,
    pub event: AuditEvent,
}

/// A bulk export request (see `exports`): the ids it covers are packed 16 bytes each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportRow {
    pub id: Uuid,
    pub requester_id: Uuid,
    pub requester: String,
    pub purpose: String,
    /// The list filter, as JSON (owner id, unit slug, tag).
    pub filter: String,
    pub people: Vec<u8>,
    pub record_count: i64,
    /// `pending`, `approved`, `rejected` or `downloaded`.
    pub status: String,
    pub created_at: i64,
    /// Who approved or rejected it ("" while pending, or when approval was not needed).
    pub decided_by: String,
    pub decided_at: i64,
    pub reason: String,
    pub expires_at: i64,
    pub downloaded_at: i64,
    /// The business units of the people covered, as a sorted JSON array of slugs ("[]" for a
    /// request made before they were recorded).
    pub units: String,
}

/// What recording a user's reads against their budget found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetOutcome {
    /// Within the budget: the reads are recorded. Otherwise nothing was recorded.
    pub granted: bool,
    /// Distinct people the user had read in the window before these reads.
    pub read_before: i64,
    /// Of the people asked for, how many were new in the window.
    pub asked: i64,
}

/// A user's read of a person at a time (unix microseconds), counted against their read budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadMark {
    pub user: Uuid,
    pub person: Uuid,
    pub at: i64,
}

/// Held by the one process sealing the audit trail; dropping it ends the lease.
pub type SealerLease = Box<dyn std::any::Any + Send>;

/// Filters of `GET /audit`; empty strings mean no filter.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: String,
    pub subject: String,
    pub action: String,
    /// Unix µs bounds (0 = open).
    pub from: i64,
    pub to: i64,
    pub after_seq: i64,
    pub limit: u32,
}

/// A person's personal fields, each sealed under the subject key (absent fields are `None`).
pub type EncryptedPerson = sejf_domain::fields::PersonFields<Option<Vec<u8>>>;

/// A person's name blind index: one value per name token and per prefix of one (ADR 0003), a
/// score of rows in a table of their own. Only a search by name, an update and a rebuild need
/// them, so a person's read leaves them out ([`PeopleStore::people_name_tokens`] reads them).
pub type NameIndex = Vec<i64>;

#[derive(Debug, Clone)]
pub struct PersonRow {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub unit: String,
    pub company_id: Option<Uuid>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub enc: EncryptedPerson,
    pub tags: Vec<String>,
    pub email_bidx: Option<i64>,
    pub phone_bidx: Option<i64>,
    pub national_id_bidx: Option<i64>,
}

/// A person with the wrapped subject key that opens it (absent if the key was destroyed).
#[derive(Debug, Clone)]
pub struct StoredPerson {
    pub row: PersonRow,
    pub wrapped_key: Option<Vec<u8>>,
}

/// A new person with their name blind index and freshly wrapped subject key.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub row: PersonRow,
    /// [`NameIndex`]: written with the person, never read back with them.
    pub name_bidx: NameIndex,
    pub wrapped_key: Vec<u8>,
    pub master_version: u32,
}

pub use sejf_domain::fields::{BlindIndex, PersonField, PersonFields};
pub use sejf_domain::records::RecordKind;

/// A company, deal or activity: plaintext links and non-personal attributes (JSON), and one
/// encrypted payload with its free text.
#[derive(Debug, Clone)]
pub struct RecordRow {
    pub kind: RecordKind,
    pub id: Uuid,
    pub owner_id: Uuid,
    pub unit: String,
    pub person_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
    pub attrs: String,
    pub payload: Vec<u8>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Who may be listed: the visibility rule of `authz`, in a form the store turns into SQL.
#[derive(Debug, Clone)]
pub struct Visibility {
    /// Everything (admins).
    pub all: bool,
    /// Records owned by this user.
    pub owner: Uuid,
    /// Also records in the units this user belongs to (managers).
    pub member_units: bool,
}

/// Filters and cursor of a list. Empty strings mean "no filter".
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub visibility: Visibility,
    pub owner: Option<Uuid>,
    pub unit: Option<String>,
    pub tag: Option<String>,
    /// Only ids strictly greater than this (ids are UUIDv7: creation order).
    pub after: Option<Uuid>,
    pub limit: u32,
    /// Records (companies, deals, activities) linked to this person, company or deal, and deals
    /// in this stage; people lists ignore these.
    pub links: LinkFilter,
}

/// Narrowing of a record list by its links and, for deals, the stage.
#[derive(Debug, Clone, Default)]
pub struct LinkFilter {
    pub person: Option<Uuid>,
    pub company: Option<Uuid>,
    pub deal: Option<Uuid>,
    pub stage: Option<String>,
    /// Activities of this kind (`task`, `call`, …); the store narrows by it as by a stage.
    pub kind: Option<String>,
}

/// One change to an account: any of its parts, applied together with the change's audit events
/// by [`Store::account_change`]. Parts left `None`/`false` are not touched.
#[derive(Clone, Default)]
pub struct AccountChange {
    pub user: Uuid,
    /// Decided first: the change applies only if this grant was still pending.
    pub decide_grant: Option<GrantDecision>,
    pub password_hash: Option<String>,
    pub must_change_password: Option<bool>,
    pub disabled: Option<bool>,
    pub role: Option<String>,
    /// A TOTP enrolment begun: its sealed secret, pending until confirmed.
    pub mfa_pending: Option<Vec<u8>>,
    /// TOTP confirmed: the secret, the step just used, fresh recovery-code digests.
    pub mfa_enable: Option<MfaEnable>,
    /// TOTP and recovery codes removed (an administrator's reset).
    pub mfa_reset: bool,
    /// Ends every session of the user (after the other parts), but `keep_session`.
    pub end_sessions: bool,
    /// With `end_sessions`: the session that stays (the caller's own, changing their password).
    pub keep_session: Option<Uuid>,
    /// Ends these sessions of the user (a logout, a token that has done its one job).
    pub end_session: Vec<Uuid>,
}

sejf_domain::redacted_debug!(AccountChange {
    user,
    decide_grant,
    must_change_password,
    disabled,
    role,
    mfa_reset,
    end_sessions,
    keep_session,
    end_session
});

/// A pending role grant moved to `status` ("approved" or "refused").
#[derive(Debug, Clone)]
pub struct GrantDecision {
    pub id: Uuid,
    pub status: String,
    pub decided_by: String,
    pub at: i64,
}

/// What confirming a TOTP enrolment stores.
#[derive(Clone)]
pub struct MfaEnable {
    pub secret: Vec<u8>,
    pub step: i64,
    pub recovery_hashes: Vec<Vec<u8>>,
}

impl std::fmt::Debug for MfaEnable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaEnable").field("step", &self.step).field("recovery_hashes", &self.recovery_hashes.len()).finish_non_exhaustive()
    }
}

/// Everything Sejf keeps, one port per aggregate; an adapter implements each part and is then a
/// `Store` (the blanket impl below). Core holds it as `Arc<dyn Store>`; a use case calls the
/// parts through `ports::prelude`.
pub trait Store:
    KeyStore + AccountStore + PeopleStore + RecordStore + GdprStore + AuditStore + InsiderStore + ExportStore + Housekeeping + 'static
{
}

impl<T: KeyStore + AccountStore + PeopleStore + RecordStore + GdprStore + AuditStore + InsiderStore + ExportStore + Housekeeping + 'static>
    Store for T
{
}

/// The store's parts, for `use crate::ports::prelude::*` where a use case calls them.
pub mod prelude {
    pub use super::{
        AccountStore, AuditStore, ExportStore, GdprStore, Housekeeping, InsiderStore, KeyStore, PeopleStore, RecordStore, Store,
    };
}

/// Wrapped keys: the master-key-wrapped subject, unit, index and system keys.
pub trait KeyStore: Send + Sync {
    fn key_get<'a>(&'a self, kind: KeyKind, id: &'a str) -> Fut<'a, Option<Vec<u8>>>;
    /// Inserts a wrapped key unless one exists (several servers may race); never overwrites.
    fn key_insert_if_absent<'a>(&'a self, kind: KeyKind, id: &'a str, master_version: u32, wrapped: &'a [u8]) -> Fut<'a, ()>;
}

/// Accounts: users, units, role grants, sessions, TOTP state and sign-in throttling.
pub trait AccountStore: Send + Sync {
    /// Creates a user (and the units it names), with its events, in one transaction.
    fn user_create(&self, user: UserRow, audit: Vec<AuditEvent>) -> Fut<'_, ()>;
    fn user_by_name<'a>(&'a self, username: &'a str) -> Fut<'a, Option<UserRow>>;
    fn user_by_id(&self, id: Uuid) -> Fut<'_, Option<UserRow>>;
    fn users_list(&self) -> Fut<'_, Vec<UserRow>>;
    /// Applies every part of `change` and writes `audit`, in one transaction: all of it or
    /// nothing. False, with nothing written, if the account does not exist or the grant it
    /// decides was no longer pending (decided once).
    fn account_change(&self, change: AccountChange, audit: Vec<AuditEvent>) -> Fut<'_, bool>;
    /// Records a grant waiting for a second administrator, with its events.
    fn role_grant_create(&self, grant: RoleGrantRow, audit: Vec<AuditEvent>) -> Fut<'_, ()>;
    fn role_grant_get(&self, id: Uuid) -> Fut<'_, Option<RoleGrantRow>>;
    /// Grants still waiting, oldest first.
    fn role_grants_pending(&self) -> Fut<'_, Vec<RoleGrantRow>>;
    /// Stores a new session, with its events (a sign-in, a token issued), in one transaction.
    fn session_create(&self, session: SessionRow, audit: Vec<AuditEvent>) -> Fut<'_, ()>;
    fn session_by_hash<'a>(&'a self, token_hash: &'a [u8]) -> Fut<'a, Option<SessionRow>>;
    /// The session a token hash names together with its user, in one indexed read: what
    /// authenticating a bearer token costs (besides an occasional `session_touch`).
    fn session_with_user<'a>(&'a self, token_hash: &'a [u8]) -> Fut<'a, Option<(SessionRow, UserRow)>>;
    fn session_touch(&self, id: Uuid, last_seen: i64) -> Fut<'_, ()>;
    /// A user's sessions, newest first.
    fn sessions_for_user(&self, user_id: Uuid) -> Fut<'_, Vec<SessionRow>>;
    fn mfa_get(&self, user_id: Uuid) -> Fut<'_, MfaRow>;
    /// Records `step` as used if it is newer than the last one; false means a replay.
    fn mfa_use_step(&self, user_id: Uuid, step: i64) -> Fut<'_, bool>;
    /// Marks an unused recovery code used; false if unknown or already used.
    fn recovery_code_use<'a>(&'a self, user_id: Uuid, hash: &'a [u8], now: i64) -> Fut<'a, bool>;
    fn throttle_get<'a>(&'a self, key: &'a str) -> Fut<'a, Option<ThrottleRow>>;
    /// Counts one attempt under `key` in one atomic statement, before the attempt is checked,
    /// and answers the row after it: a count whose window began before `window_from` starts
    /// again at 1; a key locked past `now` is not counted.
    fn throttle_hit<'a>(&'a self, key: &'a str, now: i64, window_from: i64) -> Fut<'a, ThrottleRow>;
    /// Locks `key` until `until`: one more lock, and the count restarts at `now`.
    fn throttle_lock<'a>(&'a self, key: &'a str, now: i64, until: i64) -> Fut<'a, ()>;
    /// Takes back one counted attempt (`reset`: every failure and the lock history) unless the
    /// key was locked or its window restarted after `since`, when the request began.
    fn throttle_refund<'a>(&'a self, key: &'a str, since: i64, reset: bool) -> Fut<'a, ()>;
    /// Takes the key's lease until `until` when nobody holds it at `now`; false when held.
    fn throttle_lease<'a>(&'a self, key: &'a str, now: i64, until: i64) -> Fut<'a, bool>;
    /// Gives back the lease taken until `lease`, leaving the key busy until `busy_until` (a
    /// delay before the next holder; `0` for none). A lease already taken over is left alone.
    fn throttle_release<'a>(&'a self, key: &'a str, lease: i64, busy_until: i64) -> Fut<'a, ()>;
    /// Deletes rows with nothing left to remember: no lock or lease past `now`, and a window
    /// that began before `window_from`. Answers how many.
    fn throttle_sweep(&self, now: i64, window_from: i64) -> Fut<'_, u64>;
    /// Deletes every row whose key starts with `prefix`.
    fn throttle_clear<'a>(&'a self, prefix: &'a str) -> Fut<'a, ()>;
    /// Deletes the address row (`a:{block}`) of every block named by a pair row
    /// (`{pair_prefix}{block}`), leaving the pair rows themselves.
    fn throttle_clear_addresses<'a>(&'a self, pair_prefix: &'a str) -> Fut<'a, ()>;
}

/// People (data subjects): their sealed rows, blind indexes, bulk import and derived indexes.
/// Writes take their audit events, committed in the same transaction.
pub trait PeopleStore: Send + Sync {
    fn person_insert(&self, person: NewPerson, audit: Vec<AuditEvent>) -> Fut<'_, ()>;
    /// Inserts many people in one transaction: all or nothing.
    fn people_insert_batch(&self, people: Vec<NewPerson>, audit: Vec<AuditEvent>) -> Fut<'_, ()>;
    fn person_get(&self, id: Uuid) -> Fut<'_, Option<StoredPerson>>;
    /// The people among `ids` that exist, in no particular order, in one round trip.
    fn people_get(&self, ids: Vec<Uuid>) -> Fut<'_, Vec<StoredPerson>>;
    /// Replaces a person's fields and name index if its version is still `expected_version`;
    /// false otherwise (and then the events are not written either).
    fn person_update(&self, row: PersonRow, names: NameIndex, expected_version: i64, audit: Vec<AuditEvent>) -> Fut<'_, bool>;
    /// Deletes a person, their activities and their subject key. False if absent. Nothing of
    /// them may stay behind in the database's files: on SQLite the write-ahead log is
    /// checkpointed and truncated afterwards.
    fn person_delete(&self, id: Uuid, audit: Vec<AuditEvent>) -> Fut<'_, bool>;
    fn people_list(&self, query: ListQuery) -> Fut<'_, Vec<StoredPerson>>;
    fn people_by_bidx(&self, column: BlindIndex, value: i64, query: ListQuery) -> Fut<'_, Vec<StoredPerson>>;
    /// How many people are stored (for progress bars).
    fn people_count(&self) -> Fut<'_, i64>;
    /// Inserts the people `steps` bring. `job` None: one transaction for the whole import,
    /// committed at [`ImportStep::Finish`] (a kill or an error leaves nothing). `job` Some (a
    /// file digest): each batch commits with the job's `rows_done`, so a killed run resumes.
    /// Returns the people inserted.
    fn people_import(&self, job: Option<String>, now: i64, steps: tokio::sync::mpsc::Receiver<ImportStep>) -> Fut<'_, u64>;
    /// Rows done and whether finished, of a resumable import of the file with this digest.
    fn import_job<'a>(&'a self, id: &'a str) -> Fut<'a, Option<(i64, bool)>>;
    /// Marks a resumable import finished.
    fn import_job_finish<'a>(&'a self, id: &'a str, now: i64) -> Fut<'a, ()>;
    /// A page of every person's blind-index values in id order, after `after`.
    fn people_keys(&self, after: Option<Uuid>, limit: u32) -> Fut<'_, Vec<PersonKeys>>;
    /// The name index of each of `ids`, sorted (empty for a person without a name, or none
    /// stored), in one round trip.
    fn people_name_tokens(&self, ids: Vec<Uuid>) -> Fut<'_, HashMap<Uuid, NameIndex>>;
    /// Replaces a person's name-index tokens (a rebuild; nothing else of the person changes) if
    /// the person is still at `version`, the version the tokens were derived from: false, with
    /// nothing written, if they have changed or gone since (an update writes its own tokens).
    fn person_name_tokens_replace(&self, id: Uuid, version: i64, tokens: NameIndex) -> Fut<'_, bool>;
    /// The version of a derived index (`names`): 0 when never recorded.
    fn index_version<'a>(&'a self, name: &'a str) -> Fut<'a, i64>;
    fn set_index_version<'a>(&'a self, name: &'a str, version: i64) -> Fut<'a, ()>;
}

/// Companies, deals and activities.
pub trait RecordStore: Send + Sync {
    /// Inserts records (of any kinds, in order, so a deal may follow its company) and their
    /// events in one transaction: all of them or none.
    fn records_insert(&self, rows: Vec<RecordRow>, audit: Vec<AuditEvent>) -> Fut<'_, ()>;
    fn record_get(&self, kind: RecordKind, id: Uuid) -> Fut<'_, Option<RecordRow>>;
    fn record_update(&self, row: RecordRow, expected_version: i64, audit: Vec<AuditEvent>) -> Fut<'_, bool>;
    fn record_delete(&self, kind: RecordKind, id: Uuid, audit: Vec<AuditEvent>) -> Fut<'_, bool>;
    fn records_list(&self, kind: RecordKind, query: ListQuery) -> Fut<'_, Vec<RecordRow>>;
}

/// GDPR (see `gdpr`): purposes, consents, flags, erasure and suppression, retention, data-subject
/// requests, registers and disclosures.
pub trait GdprStore: Send + Sync {
    fn gdpr_purposes(&self) -> Fut<'_, Vec<PurposeRow>>;
    /// Adds or replaces a purpose.
    fn gdpr_purpose_put(&self, row: PurposeRow, audit: Vec<AuditEvent>) -> Fut<'_, ()>;
    /// A person's consent history, oldest first.
    fn consents(&self, person: Uuid) -> Fut<'_, Vec<ConsentRow>>;
    fn consent_insert(&self, row: ConsentRow, audit: Vec<AuditEvent>) -> Fut<'_, ()>;
    fn person_flags(&self, person: Uuid) -> Fut<'_, Vec<FlagRow>>;
    /// Every person carrying `flag`.
    fn flagged<'a>(&'a self, flag: &'a str) -> Fut<'a, Vec<Uuid>>;
    /// Sets (or replaces) a flag.
    fn person_flag_set(&self, row: FlagRow, audit: Vec<AuditEvent>) -> Fut<'_, ()>;
    /// Clears a flag; false, with nothing written, if it was not set.
    fn person_flag_clear<'a>(&'a self, person: Uuid, flag: &'a str, audit: Vec<AuditEvent>) -> Fut<'a, bool>;
    /// Deletes the person as `person_delete` does and records the suppression entries and the
    /// receipt in the same transaction. False, with nothing changed, if there is no such person.
    fn person_erase(&self, erasure: Erasure, audit: Vec<AuditEvent>) -> Fut<'_, bool>;
    /// The suppression list: (`email` | `phone`, blind-index value) of erased people.
    fn suppression_list(&self) -> Fut<'_, Vec<(String, i64)>>;
    /// The signed receipt (body, signature) of an erasure.
    fn erasure_receipt(&self, person: Uuid) -> Fut<'_, Option<(String, String)>>;
    /// People with no change to them or their activities since `before` (unix µs), carrying
    /// `tag` when given, and under no legal hold, in id order: what a retention rule selects.
    fn retention_candidates(&self, tag: Option<String>, before: i64) -> Fut<'_, Vec<Uuid>>;
    /// Adds or replaces a data-subject request (with its events, in one transaction).
    fn dsr_put(&self, row: DsrRow, audit: Vec<AuditEvent>) -> Fut<'_, ()>;
    fn dsr_get(&self, id: Uuid) -> Fut<'_, Option<DsrRow>>;
    /// Requests, by status ('' for all), in id order.
    fn dsr_list<'a>(&'a self, status: &'a str) -> Fut<'a, Vec<DsrRow>>;
    /// The entries (id, JSON body) of a small register kept as documents (`processor`,
    /// `breach`), in id order.
    fn gdpr_register<'a>(&'a self, kind: &'a str) -> Fut<'a, Vec<(String, String)>>;
    /// Adds or replaces a register entry, with its events, in one transaction.
    fn gdpr_register_put<'a>(&'a self, kind: &'a str, id: String, body: String, at: i64, audit: Vec<AuditEvent>) -> Fut<'a, ()>;
    /// Records disclosures to processors, with their events, in one transaction.
    fn disclose(&self, rows: Vec<DisclosureRow>, audit: Vec<AuditEvent>) -> Fut<'_, ()>;
    /// A person's disclosures, oldest first.
    fn disclosures(&self, person: Uuid) -> Fut<'_, Vec<DisclosureRow>>;
}

/// The audit trail. Events get gap-free sequence numbers in the transaction that writes them.
pub trait AuditStore: Send + Sync {
    /// Appends events in one transaction (reads: before the response leaves).
    fn audit_append(&self, events: Vec<AuditEvent>) -> Fut<'_, ()>;
    /// Events with `seq > after`, in order, at most `limit`.
    fn audit_range(&self, after: i64, limit: u32) -> Fut<'_, Vec<SealedEvent>>;
    /// The same events' stored bodies ([`crate::audit::canonical`]), byte for byte, each framed
    /// as `seq:length:body` and concatenated into one text in no promised order
    /// ([`crate::audit::split_pages`] orders them): what sealing and verifying hash. Empty after
    /// the end.
    fn audit_canonical_range(&self, after: i64, limit: u32) -> Fut<'_, String>;
    fn audit_query(&self, query: AuditQuery) -> Fut<'_, Vec<SealedEvent>>;
    /// Stores a signed checkpoint (JSON) unless one of that size exists.
    fn audit_checkpoint_put(&self, tree_size: i64, body: String, at: i64) -> Fut<'_, ()>;
    /// Every checkpoint, by tree size.
    fn audit_checkpoints(&self) -> Fut<'_, Vec<(i64, String)>>;
    /// The checkpoint of the largest tree size, if any.
    fn audit_checkpoint_last(&self) -> Fut<'_, Option<(i64, String)>>;
    /// The sealer's record of each event: (seq, leaf hash, chain link); never overwritten.
    fn audit_chain_put(&self, rows: Vec<ChainRow>) -> Fut<'_, ()>;
    fn audit_chain_range(&self, after: i64, limit: u32) -> Fut<'_, Vec<ChainRow>>;
    /// Becomes the one sealer among every process sharing the database, or None while another
    /// holds the role. The lease ends when the returned value is dropped.
    fn audit_sealer_lock(&self) -> Fut<'_, Option<SealerLease>>;
}

/// Insider-threat controls: honeytokens, and read budgets shared by every server (the latest
/// time each user read each person).
pub trait InsiderStore: Send + Sync {
    /// Marks a person as a honeytoken (bait planted by administrators).
    fn honeytoken_put(&self, person: Uuid, at: i64) -> Fut<'_, ()>;
    fn honeytokens(&self) -> Fut<'_, Vec<Uuid>>;
    /// Records `reads` (a person's time only moves forward) and forgets every read before
    /// `since`; answers, for each user among `reads`, the distinct people they read at or after
    /// `since`. One transaction.
    fn read_budget_record(&self, reads: Vec<ReadMark>, since: i64) -> Fut<'_, Vec<(Uuid, i64)>>;
    /// The distinct people `user` read at or after `since`.
    fn read_budget_count(&self, user: Uuid, since: i64) -> Fut<'_, i64>;
    /// Records that `user` read `people` at `at` unless that takes the distinct people they read
    /// at or after `since` past `budget` (then nothing is recorded).
    fn read_budget_take(&self, user: Uuid, at: i64, since: i64, people: Vec<Uuid>, budget: i64) -> Fut<'_, BudgetOutcome>;
}

/// Bulk export requests. Every change carries its audit events in the same transaction.
pub trait ExportStore: Send + Sync {
    fn export_insert(&self, row: ExportRow, audit: Vec<AuditEvent>) -> Fut<'_, ()>;
    fn export_get(&self, id: Uuid) -> Fut<'_, Option<ExportRow>>;
    /// Requests with `id > after` (ids are UUIDv7: creation order), optionally only one
    /// requester's and only one status, at most `limit`.
    fn exports_list(&self, requester: Option<Uuid>, status: Option<String>, after: Option<Uuid>, limit: u32) -> Fut<'_, Vec<ExportRow>>;
    /// Records a decision on a still-pending request: false (and no events written) if it was
    /// no longer pending.
    fn export_decide(&self, row: ExportRow, audit: Vec<AuditEvent>) -> Fut<'_, bool>;
    /// Marks an approved request downloaded if it still is approved and unexpired at `now`:
    /// false (and no events written) otherwise, so a download happens at most once.
    fn export_mark_downloaded(&self, id: Uuid, now: i64, audit: Vec<AuditEvent>) -> Fut<'_, bool>;
}

/// What keeps an installation tidy and observable: sweeps, the scheduled backup's lease,
/// connection counts.
pub trait Housekeeping: Send + Sync {
    /// Deletes sessions past their absolute expiry (`expires_at < now`) and export requests
    /// finished (downloaded, rejected, or approved and past their download window) before
    /// `exports_before`. Answers (sessions, export requests) deleted.
    fn expired_sweep(&self, now: i64, exports_before: i64) -> Fut<'_, (u64, u64)>;
    /// The lease of the one server (of several on PostgreSQL) that takes the scheduled backup.
    fn backup_lock(&self) -> Fut<'_, Option<SealerLease>>;
    /// Open and idle pooled connections, for metrics; None for a store that does not pool.
    fn connections(&self) -> Option<(u32, u32)> {
        None
    }
}
