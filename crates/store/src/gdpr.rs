//! GDPR records: the purpose register, consent history, flags on data subjects (restriction,
//! legal hold, objection), and erasure with its suppression entries and signed receipt. Every
//! change commits with its audit events.

use sejf_core::ports::{AuditEvent, ConsentRow, DisclosureRow, DsrRow, Erasure, FlagRow, PurposeRow, StoreError};
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::codec::{Arg, Columns};
use crate::{SqlStore, Step, codec, error, people};

const PURPOSES: &str = "SELECT name, lawful_basis, categories, retention, recipients, marketing, applies_to_all, created_at \
     FROM gdpr_purposes ORDER BY name";
const PURPOSE_PUT: &str = "INSERT INTO gdpr_purposes (name, lawful_basis, categories, retention, recipients, marketing, \
     applies_to_all, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO UPDATE SET \
     lawful_basis = excluded.lawful_basis, categories = excluded.categories, retention = excluded.retention, \
     recipients = excluded.recipients, marketing = excluded.marketing, applies_to_all = excluded.applies_to_all";
const CONSENTS: &str = "SELECT id, person_id, purpose, channel, granted, wording_version, source, client, recorded_by, recorded_at \
     FROM consents WHERE person_id = $1 ORDER BY recorded_at, id";
const CONSENT_INSERT: &str = "INSERT INTO consents (id, person_id, purpose, channel, granted, wording_version, source, client, \
     recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const FLAGS: &str = "SELECT person_id, flag, reason, set_by, set_at FROM person_flags WHERE person_id = $1 ORDER BY flag";
const FLAGGED: &str = "SELECT person_id FROM person_flags WHERE flag = $1 ORDER BY person_id";
const FLAG_SET: &str = "INSERT INTO person_flags (person_id, flag, reason, set_by, set_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (person_id, flag) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by, set_at = excluded.set_at";
const FLAG_CLEAR: &str = "DELETE FROM person_flags WHERE person_id = $1 AND flag = $2";
const SUPPRESS: &str = "INSERT INTO suppression (kind, bidx, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
const SUPPRESSION: &str = "SELECT kind, bidx FROM suppression ORDER BY kind, bidx";
const RECEIPT_PUT: &str = "INSERT INTO erasure_receipts (person_id, body, signature, created_at) VALUES ($1, $2, $3, $4)";
const RECEIPT_GET: &str = "SELECT body, signature FROM erasure_receipts WHERE person_id = $1";

fn decode_purpose(r: &AnyRow) -> Result<PurposeRow, StoreError> {
    Ok(PurposeRow {
        name: codec::get(r, 0, "gdpr_purposes.name")?,
        lawful_basis: codec::get(r, 1, "gdpr_purposes.lawful_basis")?,
        categories: codec::get(r, 2, "gdpr_purposes.categories")?,
        retention: codec::get(r, 3, "gdpr_purposes.retention")?,
        recipients: codec::get(r, 4, "gdpr_purposes.recipients")?,
        marketing: r.flag(5, "gdpr_purposes.marketing")?,
        applies_to_all: r.flag(6, "gdpr_purposes.applies_to_all")?,
        created_at: codec::get(r, 7, "gdpr_purposes.created_at")?,
    })
}

fn decode_consent(r: &AnyRow) -> Result<ConsentRow, StoreError> {
    Ok(ConsentRow {
        id: codec::uuid(r, 0, "consents.id")?,
        person_id: codec::uuid(r, 1, "consents.person_id")?,
        purpose: codec::get(r, 2, "consents.purpose")?,
        channel: codec::get(r, 3, "consents.channel")?,
        granted: r.flag(4, "consents.granted")?,
        wording_version: codec::get(r, 5, "consents.wording_version")?,
        source: codec::get(r, 6, "consents.source")?,
        client: codec::get(r, 7, "consents.client")?,
        recorded_by: codec::get(r, 8, "consents.recorded_by")?,
        recorded_at: codec::get(r, 9, "consents.recorded_at")?,
    })
}

fn decode_flag(r: &AnyRow) -> Result<FlagRow, StoreError> {
    Ok(FlagRow {
        person_id: codec::uuid(r, 0, "person_flags.person_id")?,
        flag: codec::get(r, 1, "person_flags.flag")?,
        reason: codec::get(r, 2, "person_flags.reason")?,
        set_by: codec::get(r, 3, "person_flags.set_by")?,
        set_at: codec::get(r, 4, "person_flags.set_at")?,
    })
}

pub(crate) async fn purposes(store: &SqlStore) -> Result<Vec<PurposeRow>, StoreError> {
    let rows = sqlx::query(PURPOSES).fetch_all(&store.pool).await.map_err(error::db("purposes"))?;
    rows.iter().map(decode_purpose).collect()
}

pub(crate) async fn purpose_put(store: &SqlStore, p: PurposeRow, audit: Vec<AuditEvent>) -> Result<(), StoreError> {
    let args = vec![
        Arg::Owned(p.name),
        Arg::Owned(p.lawful_basis),
        Arg::Owned(p.categories),
        Arg::Owned(p.retention),
        Arg::Owned(p.recipients),
        Arg::Int(i64::from(p.marketing)),
        Arg::Int(i64::from(p.applies_to_all)),
        Arg::Int(p.created_at),
    ];
    store.write_audited(PURPOSE_PUT, args, "purpose put", audit).await
}

pub(crate) async fn consents(store: &SqlStore, person: Uuid) -> Result<Vec<ConsentRow>, StoreError> {
    let rows = sqlx::query(CONSENTS).bind(person.to_string()).fetch_all(&store.pool).await.map_err(error::db("consents"))?;
    rows.iter().map(decode_consent).collect()
}

pub(crate) async fn consent_insert(store: &SqlStore, c: ConsentRow, audit: Vec<AuditEvent>) -> Result<(), StoreError> {
    let args = vec![
        Arg::Owned(c.id.to_string()),
        Arg::Owned(c.person_id.to_string()),
        Arg::Owned(c.purpose),
        Arg::Owned(c.channel),
        Arg::Int(i64::from(c.granted)),
        Arg::Owned(c.wording_version),
        Arg::Owned(c.source),
        Arg::Owned(c.client),
        Arg::Owned(c.recorded_by),
        Arg::Int(c.recorded_at),
    ];
    store.write_audited(CONSENT_INSERT, args, "consent insert", audit).await
}

pub(crate) async fn flags(store: &SqlStore, person: Uuid) -> Result<Vec<FlagRow>, StoreError> {
    let rows = sqlx::query(FLAGS).bind(person.to_string()).fetch_all(&store.pool).await.map_err(error::db("person flags"))?;
    rows.iter().map(decode_flag).collect()
}

pub(crate) async fn flagged(store: &SqlStore, flag: &str) -> Result<Vec<Uuid>, StoreError> {
    let rows = sqlx::query(FLAGGED).bind(flag.to_owned()).fetch_all(&store.pool).await.map_err(error::db("flagged people"))?;
    rows.iter().map(|r| codec::uuid(r, 0, "person_flags.person_id")).collect()
}

pub(crate) async fn flag_set(store: &SqlStore, f: FlagRow, audit: Vec<AuditEvent>) -> Result<(), StoreError> {
    let args =
        vec![Arg::Owned(f.person_id.to_string()), Arg::Owned(f.flag), Arg::Owned(f.reason), Arg::Owned(f.set_by), Arg::Int(f.set_at)];
    store.write_audited(FLAG_SET, args, "person flag set", audit).await
}

pub(crate) async fn flag_clear(store: &SqlStore, person: Uuid, flag: &str, audit: Vec<AuditEvent>) -> Result<bool, StoreError> {
    let step = Step::required(FLAG_CLEAR, vec![Arg::Owned(person.to_string()), Arg::Owned(flag.to_owned())], "person flag clear");
    store.write_steps(vec![step], audit).await
}

pub(crate) async fn erase(store: &SqlStore, e: Erasure, audit: Vec<AuditEvent>) -> Result<bool, StoreError> {
    let mut steps: Vec<Step> = e
        .suppress
        .into_iter()
        .map(|(kind, bidx)| Step::new(SUPPRESS, vec![Arg::Owned(kind), Arg::Int(bidx), Arg::Int(e.at)], "suppression"))
        .collect();
    let receipt = vec![Arg::Owned(e.person_id.to_string()), Arg::Owned(e.receipt_body), Arg::Owned(e.receipt_signature), Arg::Int(e.at)];
    steps.push(Step::new(RECEIPT_PUT, receipt, "erasure receipt"));
    people::erase_with(store, steps, e.person_id, e.at, audit).await
}

pub(crate) async fn suppression_list(store: &SqlStore) -> Result<Vec<(String, i64)>, StoreError> {
    sqlx::query_as(SUPPRESSION).fetch_all(&store.pool).await.map_err(error::db("suppression"))
}

pub(crate) async fn receipt(store: &SqlStore, person: Uuid) -> Result<Option<(String, String)>, StoreError> {
    sqlx::query_as(RECEIPT_GET).bind(person.to_string()).fetch_optional(&store.pool).await.map_err(error::db("erasure receipt"))
}

const RETENTION: &str = "SELECT p.id FROM people p WHERE p.updated_at < $1 \
     AND ($2 = '' OR EXISTS (SELECT 1 FROM person_tags t WHERE t.person_id = p.id AND t.tag = $2)) \
     AND NOT EXISTS (SELECT 1 FROM activities a WHERE a.person_id = p.id AND a.updated_at >= $1) \
     AND NOT EXISTS (SELECT 1 FROM person_flags f WHERE f.person_id = p.id AND f.flag = 'legal_hold') \
     ORDER BY p.id";

pub(crate) async fn retention_candidates(store: &SqlStore, tag: Option<String>, before: i64) -> Result<Vec<Uuid>, StoreError> {
    let rows =
        sqlx::query(RETENTION).bind(before).bind(tag.unwrap_or_default()).fetch_all(&store.pool).await.map_err(error::db("retention"))?;
    rows.iter().map(|r| codec::uuid(r, 0, "people.id")).collect()
}

macro_rules! dsr_columns {
    () => {
        "SELECT id, kind, person_id, received_at, due_at, identity_check, extension_reason, status, handled_by, closed_at, note, \
         created_by, alerted_at FROM dsr_requests "
    };
}
const DSR_PUT: &str = "INSERT INTO dsr_requests (id, kind, person_id, received_at, due_at, identity_check, extension_reason, status, \
     handled_by, closed_at, note, created_by, alerted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
     ON CONFLICT (id) DO UPDATE SET person_id = excluded.person_id, due_at = excluded.due_at, \
     identity_check = excluded.identity_check, extension_reason = excluded.extension_reason, status = excluded.status, \
     handled_by = excluded.handled_by, closed_at = excluded.closed_at, note = excluded.note, alerted_at = excluded.alerted_at";
const DSR_GET: &str = concat!(dsr_columns!(), "WHERE id = $1");
const DSR_LIST: &str = concat!(dsr_columns!(), "WHERE ($1 = '' OR status = $1) ORDER BY id");

fn decode_dsr(r: &AnyRow) -> Result<DsrRow, StoreError> {
    Ok(DsrRow {
        id: codec::uuid(r, 0, "dsr_requests.id")?,
        kind: codec::get(r, 1, "dsr_requests.kind")?,
        person_id: codec::get(r, 2, "dsr_requests.person_id")?,
        received_at: codec::get(r, 3, "dsr_requests.received_at")?,
        due_at: codec::get(r, 4, "dsr_requests.due_at")?,
        identity_check: codec::get(r, 5, "dsr_requests.identity_check")?,
        extension_reason: codec::get(r, 6, "dsr_requests.extension_reason")?,
        status: codec::get(r, 7, "dsr_requests.status")?,
        handled_by: codec::get(r, 8, "dsr_requests.handled_by")?,
        closed_at: codec::get(r, 9, "dsr_requests.closed_at")?,
        note: codec::get(r, 10, "dsr_requests.note")?,
        created_by: codec::get(r, 11, "dsr_requests.created_by")?,
        alerted_at: codec::get(r, 12, "dsr_requests.alerted_at")?,
    })
}

pub(crate) async fn dsr_put(store: &SqlStore, d: DsrRow, audit: Vec<AuditEvent>) -> Result<(), StoreError> {
    let args = vec![
        Arg::Owned(d.id.to_string()),
        Arg::Owned(d.kind),
        Arg::Owned(d.person_id),
        Arg::Int(d.received_at),
        Arg::Int(d.due_at),
        Arg::Owned(d.identity_check),
        Arg::Owned(d.extension_reason),
        Arg::Owned(d.status),
        Arg::Owned(d.handled_by),
        Arg::Int(d.closed_at),
        Arg::Owned(d.note),
        Arg::Owned(d.created_by),
        Arg::Int(d.alerted_at),
    ];
    store.write_audited(DSR_PUT, args, "data-subject request", audit).await
}

pub(crate) async fn dsr_get(store: &SqlStore, id: Uuid) -> Result<Option<DsrRow>, StoreError> {
    let row = sqlx::query(DSR_GET).bind(id.to_string()).fetch_optional(&store.pool).await.map_err(error::db("data-subject request"))?;
    row.as_ref().map(decode_dsr).transpose()
}

pub(crate) async fn dsr_list(store: &SqlStore, status: &str) -> Result<Vec<DsrRow>, StoreError> {
    let rows = sqlx::query(DSR_LIST).bind(status.to_owned()).fetch_all(&store.pool).await.map_err(error::db("data-subject requests"))?;
    rows.iter().map(decode_dsr).collect()
}

const REGISTER: &str = "SELECT id, body FROM gdpr_registers WHERE kind = $1 ORDER BY id";
const REGISTER_PUT: &str = "INSERT INTO gdpr_registers (kind, id, body, updated_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at";
const DISCLOSE: &str = "INSERT INTO disclosures (person_id, processor, purpose, categories, disclosed_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT DO NOTHING";
const DISCLOSURES: &str =
    "SELECT person_id, processor, purpose, categories, disclosed_at FROM disclosures WHERE person_id = $1 ORDER BY disclosed_at, processor";

pub(crate) async fn register(store: &SqlStore, kind: &str) -> Result<Vec<(String, String)>, StoreError> {
    sqlx::query_as(REGISTER).bind(kind.to_owned()).fetch_all(&store.pool).await.map_err(error::db("gdpr register"))
}

pub(crate) async fn register_put(
    store: &SqlStore,
    kind: &str,
    id: String,
    body: String,
    at: i64,
    audit: Vec<AuditEvent>,
) -> Result<(), StoreError> {
    let args = vec![Arg::Owned(kind.to_owned()), Arg::Owned(id), Arg::Owned(body), Arg::Int(at)];
    store.write_audited(REGISTER_PUT, args, "gdpr register", audit).await
}

pub(crate) async fn disclose(store: &SqlStore, rows: Vec<DisclosureRow>, audit: Vec<AuditEvent>) -> Result<(), StoreError> {
    let steps = rows
        .into_iter()
        .map(|d| {
            let args = vec![
                Arg::Owned(d.person_id.to_string()),
                Arg::Owned(d.processor),
                Arg::Owned(d.purpose),
                Arg::Owned(d.categories),
                Arg::Int(d.disclosed_at),
            ];
            Step::new(DISCLOSE, args, "disclosures")
        })
        .collect();
    store.write_steps(steps, audit).await.map(drop)
}

pub(crate) async fn disclosures(store: &SqlStore, person: Uuid) -> Result<Vec<DisclosureRow>, StoreError> {
    let rows = sqlx::query(DISCLOSURES).bind(person.to_string()).fetch_all(&store.pool).await.map_err(error::db("disclosures"))?;
    rows.iter()
        .map(|r| {
            Ok(DisclosureRow {
                person_id: codec::uuid(r, 0, "disclosures.person_id")?,
                processor: codec::get(r, 1, "disclosures.processor")?,
                purpose: codec::get(r, 2, "disclosures.purpose")?,
                categories: codec::get(r, 3, "disclosures.categories")?,
                disclosed_at: codec::get(r, 4, "disclosures.disclosed_at")?,
            })
        })
        .collect()
}
