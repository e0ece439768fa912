//! Bulk export with four-eyes approval. A user asks for an export of the people a list filter
//! selects; the request records exactly which people it covers, and their business units. While
//! the user's exports approved without a second person within a rolling window (default 24 h),
//! this one included, stay within the role's threshold (default 100 records) it is approved at
//! once, so splitting a large export into small ones gains nothing; beyond it, it waits until a
//! second person approves or rejects it. The policies say who: someone who answers for every
//! unit the export covers (a manager of all of them, or the dpo), never the requester. Only the
//! requester downloads an approved export, once, before it expires. Every step is audited in
//! the transaction that makes it.
//!
//! Invariants: the download shows only people the requester may still read, with the fields
//! they may see (masking as everywhere else); a download is marked done in the same transaction
//! that writes its read events, so it happens at most once and never unaudited.

use crate::actions::AuditAction;
use sejf_domain::records::RecordKind;
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use sejf_domain::text::{Purpose, remark};
use sejf_policy::PolicyEngine;

use crate::authz::{Action, Actor, Permit, Resource, authorize, field_access, require_scope};
use crate::page::{Page, check_limit, decode_cursor, encode_cursor};
use crate::people::PersonView;
use crate::ports::{ExportRow, ListQuery, StoredPerson};
use crate::{App, CoreError, ValidationErrors};

/// Most records one export may cover: the download is built in memory.
pub const MAX_EXPORT: usize = 100_000;
const PAGE: u32 = 1_000;

/// Which people to export: the filters of `GET /people`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportFilter {
    pub owner: Option<Uuid>,
    pub unit: Option<String>,
    pub tag: Option<String>,
}

/// An export request as its requester and its approvers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportView {
    pub id: Uuid,
    /// `pending`, `approved`, `rejected`, `downloaded` or `expired`.
    pub status: String,
    pub requester: String,
    pub purpose: String,
    pub filter: ExportFilter,
    pub record_count: i64,
    /// Whether the request needed a second person (it was above the threshold).
    pub needs_approval: bool,
    pub created_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub reason: Option<String>,
    pub expires_at: Option<i64>,
    pub downloaded_at: Option<i64>,
}

/// An approved export being handed over: the request and the people it shows.
pub struct ExportDownload {
    pub request: ExportView,
    pub people: Vec<PersonView>,
}

/// Checks a filter before it is used and recorded (its JSON goes into the request's event):
/// the unit is a unit slug and the tag a tag, as they are stored.
fn checked_filter(mut filter: ExportFilter) -> Result<ExportFilter, ValidationErrors> {
    let mut errs = ValidationErrors::default();
    if let Some(u) = &filter.unit {
        filter.unit = sejf_domain::values::UnitSlug::parse(u).map(|s| s.as_str().to_string()).map_err(|e| errs.push("unit", e.0)).ok();
    }
    if let Some(t) = &filter.tag {
        filter.tag = sejf_domain::values::Tag::parse(t).map(|t| t.as_str().to_string()).map_err(|e| errs.push("tag", e.0)).ok();
    }
    errs.into_result(filter)
}

impl App {
    fn export_view(&self, row: &ExportRow) -> ExportView {
        let expired = row.status == "approved" && row.expires_at <= self.now();
        let set = |v: i64| (v != 0).then_some(v);
        ExportView {
            id: row.id,
            status: if expired { "expired".into() } else { row.status.clone() },
            requester: row.requester.clone(),
            purpose: row.purpose.clone(),
            filter: serde_json::from_str(&row.filter).unwrap_or_default(),
            record_count: row.record_count,
            needs_approval: row.status == "pending" || !row.decided_by.is_empty(),
            created_at: row.created_at,
            decided_by: (!row.decided_by.is_empty()).then(|| row.decided_by.clone()),
            decided_at: set(row.decided_at),
            reason: (!row.reason.is_empty()).then(|| row.reason.clone()),
            expires_at: set(row.expires_at),
            downloaded_at: set(row.downloaded_at),
        }
    }

    fn threshold_for(&self, actor: &Actor) -> i64 {
        self.settings.export_thresholds.get(&actor.role).copied().unwrap_or(self.settings.export_threshold)
    }

    /// Visits, page by page, every person `filter` selects that `actor` may read now (erased
    /// and restricted people left out), with the read permit and the policy set that granted it.
    pub(crate) async fn each_readable(
        &self,
        actor: &Actor,
        filter: &ExportFilter,
        mut visit: impl FnMut(&StoredPerson, Resource<'_>, &Permit, &PolicyEngine) -> Result<(), CoreError>,
    ) -> Result<(), CoreError> {
        let base = self.list_query(actor, filter.owner, filter.unit.clone(), filter.tag.clone(), None, None)?;
        let policy = self.policy();
        // A restricted person (GDPR art. 18) is never exported, whoever may still read them.
        let restricted = self.restricted_people().await?;
        let mut after = None;
        loop {
            let rows = self.store.people_list(ListQuery { after, limit: PAGE, ..base.clone() }).await?;
            let Some(last) = rows.last() else { return Ok(()) };
            after = Some(last.row.id);
            for r in rows.iter().filter(|r| r.wrapped_key.is_some() && !restricted.contains(&r.row.id)) {
                let res = Resource::person(&r.row);
                if let Ok(permit) = authorize(&policy, actor, Action::Read, res) {
                    visit(r, res, &permit, &policy)?;
                }
            }
        }
    }

    /// The ids of the people `filter` selects that `actor` may read now, and their units
    /// (sorted, each once).
    async fn exportable(&self, actor: &Actor, filter: &ExportFilter) -> Result<(Vec<Uuid>, Vec<String>), CoreError> {
        let mut ids = Vec::new();
        let mut units = std::collections::BTreeSet::new();
        self.each_readable(actor, filter, |r, _, _, _| {
            ids.push(r.row.id);
            if !units.contains(&r.row.unit) {
                units.insert(r.row.unit.clone());
            }
            if ids.len() > MAX_EXPORT {
                let why = format!("selects more than {MAX_EXPORT} people; narrow it by owner, unit or tag");
                return Err(ValidationErrors::single("filter", why).into());
            }
            Ok(())
        })
        .await?;
        Ok((ids, units.into_iter().collect()))
    }

    /// How many records `actor`'s exports approved without a second person cover within the
    /// rolling window before `now`.
    async fn recently_exported(&self, actor: &Actor, now: i64) -> Result<i64, CoreError> {
        let since = now - self.settings.export_window_secs * 1_000_000;
        // Ids are UUIDv7: none made before `since` sorts after this one.
        let mut after = Some(v7_floor(since));
        let mut total = 0;
        loop {
            let rows = self.store.exports_list(Some(actor.user_id), None, after, PAGE).await?;
            let Some(last) = rows.last() else { return Ok(total) };
            after = Some(last.id);
            total += rows
                .iter()
                .filter(|r| r.created_at >= since && r.decided_by.is_empty() && matches!(r.status.as_str(), "approved" | "downloaded"))
                .map(|r| r.record_count)
                .sum::<i64>();
        }
    }

    /// The units an export covers; for a request made before they were recorded, worked out
    /// from the people it covers.
    async fn export_units(&self, row: &ExportRow) -> Result<Vec<String>, CoreError> {
        let recorded: Vec<String> = serde_json::from_str(&row.units).unwrap_or_default();
        if !recorded.is_empty() || row.record_count == 0 {
            return Ok(recorded);
        }
        let ids: Vec<Uuid> = row.people.chunks_exact(16).filter_map(|c| Uuid::from_slice(c).ok()).collect();
        let mut units = std::collections::BTreeSet::new();
        for chunk in ids.chunks(PAGE as usize) {
            units.extend(self.store.people_get(chunk.to_vec()).await?.into_iter().map(|p| p.row.unit));
        }
        Ok(units.into_iter().collect())
    }

    /// Asks for an export of the people `filter` selects. At or below the role's threshold it
    /// is approved at once; above it, it waits for a second person.
    pub async fn request_export(&self, actor: &Actor, filter: ExportFilter, purpose: &str) -> Result<ExportView, CoreError> {
        require_scope(actor, RecordKind::Person, Action::Read)?;
        let mut errs = ValidationErrors::default();
        let purpose = Purpose::parse(purpose).map_err(|e| errs.push("purpose", e.0)).ok();
        let filter = checked_filter(filter).map_err(|e| errs.0.extend(e.0)).ok();
        errs.into_result(())?;
        let (Some(purpose), Some(filter)) = (purpose, filter) else {
            return Err(CoreError::Internal("validation passed without a purpose".into()));
        };
        let purpose = purpose.as_str().to_string();
        let (ids, units) = self.exportable(actor, &filter).await?;
        let now = self.now();
        let threshold = self.threshold_for(actor);
        let recent = self.recently_exported(actor, now).await?;
        let pending = recent + ids.len() as i64 > threshold;
        let row = ExportRow {
            id: Uuid::now_v7(),
            requester_id: actor.user_id,
            requester: actor.username.clone(),
            purpose,
            filter: serde_json::to_string(&filter).map_err(|e| CoreError::Internal(e.to_string()))?,
            people: ids.iter().flat_map(|id| *id.as_bytes()).collect(),
            record_count: ids.len() as i64,
            status: if pending { "pending" } else { "approved" }.into(),
            created_at: now,
            expires_at: if pending { 0 } else { now + self.settings.export_download_secs * 1_000_000 },
            units: serde_json::to_string(&units).map_err(|e| CoreError::Internal(e.to_string()))?,
            ..Default::default()
        };
        let mut ev = self.event(actor, AuditAction::ExportRequest, "export", &row.id.to_string());
        ev.purpose = row.purpose.clone();
        ev.outcome = row.status.clone();
        ev.detail = format!("records={} recent={recent} threshold={threshold} filter={}", row.record_count, row.filter);
        self.store.export_insert(row.clone(), vec![ev]).await?;
        Ok(self.export_view(&row))
    }

    /// Whether `actor` may approve an export `requester` asks for of records in `covered` (the
    /// policies decide). With none: whether they may approve some export of the requester's,
    /// which is who may see the requester's requests.
    async fn may_approve(
        &self,
        actor: &Actor,
        requester: Uuid,
        covered: &[String],
        cache: &mut HashMap<Uuid, Vec<String>>,
    ) -> Result<bool, CoreError> {
        if actor.scope != crate::authz::Scope::Full {
            return Ok(false);
        }
        let units = match cache.get(&requester) {
            Some(u) => u.clone(),
            None => {
                let u = self.store.user_by_id(requester).await?.map(|u| u.units).unwrap_or_default();
                cache.insert(requester, u.clone());
                u
            }
        };
        let d = self.policy().decide(
            &crate::authz::principal(actor),
            sejf_policy::Action::ApproveExport,
            &sejf_policy::Resource::User { id: requester, units },
            &sejf_policy::Context { units: covered.to_vec(), ..Default::default() },
        );
        Ok(d.allowed)
    }

    /// A request its requester or a possible approver may see; anyone else gets NotFound.
    async fn visible_export(&self, actor: &Actor, id: Uuid) -> Result<ExportRow, CoreError> {
        let row = self.store.export_get(id).await?.ok_or(CoreError::NotFound)?;
        if row.requester_id == actor.user_id || self.may_approve(actor, row.requester_id, &[], &mut HashMap::new()).await? {
            Ok(row)
        } else {
            Err(CoreError::NotFound)
        }
    }

    pub async fn get_export(&self, actor: &Actor, id: Uuid) -> Result<ExportView, CoreError> {
        Ok(self.export_view(&self.visible_export(actor, id).await?))
    }

    /// The caller's own requests and those they may decide, oldest first; `status` filters.
    pub async fn list_exports(
        &self,
        actor: &Actor,
        status: Option<&str>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<ExportView>, CoreError> {
        const STATUSES: [&str; 5] = ["pending", "approved", "rejected", "downloaded", "expired"];
        if let Some(s) = status.filter(|s| !STATUSES.contains(s)) {
            return Err(ValidationErrors::single("status", format!("unknown status {s:?}; one of {}", STATUSES.join(", "))).into());
        }
        let limit = check_limit(limit)? as usize;
        let stored = status.map(|s| if s == "expired" { "approved" } else { s }.to_string());
        let mut after = decode_cursor(cursor)?;
        let mut cache = HashMap::new();
        let mut items = Vec::new();
        // One more than asked tells whether a next page exists.
        'pages: loop {
            let rows = self.store.exports_list(None, stored.clone(), after, PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id);
            for row in rows {
                if row.requester_id != actor.user_id && !self.may_approve(actor, row.requester_id, &[], &mut cache).await? {
                    continue;
                }
                let view = self.export_view(&row);
                if status.is_none_or(|s| s == view.status) {
                    items.push(view);
                    if items.len() > limit {
                        break 'pages;
                    }
                }
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let next_cursor = if more { items.last().map(|v| encode_cursor(v.id)) } else { None };
        Ok(Page { items, next_cursor })
    }

    /// A second person approves or rejects a pending request.
    pub async fn decide_export(&self, actor: &Actor, id: Uuid, approve: bool, reason: Option<&str>) -> Result<ExportView, CoreError> {
        let mut row = self.visible_export(actor, id).await?;
        if row.requester_id == actor.user_id {
            return Err(CoreError::Forbidden("a second person must decide on this export: nobody approves their own".into()));
        }
        if row.status != "pending" {
            return Err(CoreError::Conflict(format!("this export was already {}", self.export_view(&row).status)));
        }
        let units = self.export_units(&row).await?;
        if !self.may_approve(actor, row.requester_id, &units, &mut HashMap::new()).await? {
            // Which units, the approver may not know: they are not named.
            return Err(CoreError::Forbidden(
                "deciding on this export needs someone who answers for every unit it covers: a manager of all of them, or the dpo".into(),
            ));
        }
        let now = self.now();
        row.status = if approve { "approved" } else { "rejected" }.into();
        row.decided_by = actor.username.clone();
        row.decided_at = now;
        row.reason = remark(reason.unwrap_or("")).map_err(|e| ValidationErrors::single("reason", e.0))?;
        row.expires_at = if approve { now + self.settings.export_download_secs * 1_000_000 } else { 0 };
        let mut ev =
            self.event(actor, if approve { AuditAction::ExportApprove } else { AuditAction::ExportReject }, "export", &id.to_string());
        ev.detail = format!("requester={} records={}", row.requester, row.record_count);
        ev.purpose = row.reason.clone();
        if !self.store.export_decide(row.clone(), vec![ev]).await? {
            return Err(CoreError::Conflict("this export was decided by someone else meanwhile".into()));
        }
        Ok(self.export_view(&row))
    }

    /// Hands an approved export to its requester, once, before it expires.
    pub async fn download_export(&self, actor: &Actor, id: Uuid) -> Result<ExportDownload, CoreError> {
        require_scope(actor, RecordKind::Person, Action::Read)?;
        let row = self.visible_export(actor, id).await?;
        if row.requester_id != actor.user_id {
            return Err(CoreError::Forbidden("only the user who asked for an export may download it".into()));
        }
        let view = self.export_view(&row);
        match view.status.as_str() {
            "approved" => {}
            "pending" => return Err(CoreError::ApprovalPending),
            "rejected" => return Err(CoreError::Forbidden("this export was rejected".into())),
            other => return Err(CoreError::Gone(format!("this export was already {other}"))),
        }
        let wanted: HashSet<Uuid> = row.people.chunks_exact(16).filter_map(|c| Uuid::from_slice(c).ok()).collect();
        let mut people = Vec::with_capacity(wanted.len());
        self.each_readable(actor, &view.filter, |r, res, permit, policy| {
            if wanted.contains(&r.row.id) {
                let access = field_access(policy, actor, res).1;
                people.push(self.decrypt(r, permit)?.masked_for(access));
            }
            Ok(())
        })
        .await?;
        let ids: Vec<Uuid> = people.iter().map(|p| p.id).collect();
        if view.needs_approval {
            // A second person approved this many records: the read budget does not apply,
            // honeytokens still do.
            self.alert_honeytokens(actor, &ids, "export").await?;
        } else {
            self.guard_reads(actor, &ids, "export").await?;
        }
        let mut events: Vec<_> = people.iter().map(|p| self.read_event(actor, p, "export")).collect();
        let mut ev = self.event(actor, AuditAction::ExportDownload, "export", &id.to_string());
        ev.detail = format!("records={}", people.len());
        events.push(ev);
        if !self.store.export_mark_downloaded(id, self.now(), events).await? {
            return Err(CoreError::Gone("this export was already downloaded or has expired".into()));
        }
        let request = self.export_view(&ExportRow { status: "downloaded".into(), downloaded_at: self.now(), ..row });
        Ok(ExportDownload { request, people })
    }
}

/// The smallest UUIDv7 of the millisecond of `micros`: every id made at or after that time
/// sorts after it.
fn v7_floor(micros: i64) -> Uuid {
    let ms = u64::try_from(micros.max(0) / 1000).unwrap_or(0);
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6] = 0x70;
    b[8] = 0x80;
    Uuid::from_bytes(b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_window_floor_sorts_before_every_id_made_since() {
        let micros = 1_780_000_000_123_456;
        let floor = v7_floor(micros);
        assert_eq!(floor.get_version_num(), 7);
        let later = Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, 1_780_000_000, 123_000_000));
        assert!(floor <= later, "{floor} {later}");
        let earlier = Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, 1_780_000_000, 122_000_000));
        assert!(earlier < floor);
    }
}
