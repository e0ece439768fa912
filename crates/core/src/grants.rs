//! Separation of duties in user administration: a privileged role (admin, manager, dpo,
//! auditor) granted through the admin API takes effect only when a second administrator
//! approves it. The request raises a high-severity alert; the requester (and the account it
//! concerns) may not decide it; a grant is decided once (a conditional update in the store).

use crate::actions::AuditAction;
use sejf_domain::roles::Role;
use uuid::Uuid;

use crate::ports::{AccountChange, GrantDecision, RoleGrantRow};
use crate::users::{PolicyAction, UserInfo};
use crate::{Actor, App, CoreError};

/// A grant made at account creation: the account waits disabled and is enabled on approval.
pub const GRANT_CREATE: &str = "create";
/// What an account created with a refused grant becomes (docs/design.md, separation of duties).
pub const REFUSED_CREATE_ROLE: Role = Role::Support;
/// A role change: the role is set on approval.
pub const GRANT_ROLE: &str = "role";

/// A grant of a privileged role, as administrators see it.
#[derive(Debug, Clone)]
pub struct RoleGrant {
    pub id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
    pub kind: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub status: String,
    pub decided_by: String,
    pub decided_at: i64,
}

impl RoleGrant {
    fn from_row(r: RoleGrantRow) -> Result<Self, CoreError> {
        Ok(Self {
            id: r.id,
            user_id: r.user_id,
            username: r.username,
            role: r.role.parse().map_err(CoreError::Internal)?,
            kind: r.kind,
            requested_by: r.requested_by,
            requested_at: r.requested_at,
            status: r.status,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
        })
    }
}

impl App {
    /// Records a pending grant of `role` to `target` asked for by `actor`, audits it and raises
    /// a high-severity alert.
    pub(crate) async fn request_grant(&self, actor: &Actor, target: &UserInfo, role: Role, kind: &str) -> Result<RoleGrant, CoreError> {
        let row = RoleGrantRow {
            id: Uuid::now_v7(),
            user_id: target.id,
            username: target.username.clone(),
            role: role.as_str().to_string(),
            kind: kind.to_string(),
            requested_by_id: actor.user_id,
            requested_by: actor.username.clone(),
            requested_at: self.now(),
            status: "pending".into(),
            decided_by: String::new(),
            decided_at: 0,
        };
        let mut ev = self.event(actor, AuditAction::UserGrantRequest, "role_grant", &row.id.to_string());
        ev.subject_id = target.id.to_string();
        ev.detail = format!("role={role} kind={kind}");
        let alert =
            self.alert_event(actor, "privileged-role-requested", "high", &target.id.to_string(), &format!("role={role} grant={}", row.id));
        self.store.role_grant_create(row.clone(), vec![ev, alert.clone()]).await?;
        self.announce(alert);
        RoleGrant::from_row(row)
    }

    /// Grants waiting for a second administrator, oldest first.
    pub async fn pending_grants(&self, actor: &Actor) -> Result<Vec<RoleGrant>, CoreError> {
        self.authorize_system(actor, PolicyAction::ManageUsers)?;
        self.store.role_grants_pending().await?.into_iter().map(RoleGrant::from_row).collect()
    }

    /// Approves (`approve`) or refuses a pending grant on behalf of `actor`, a second
    /// administrator: neither the one who asked for it nor the account it concerns. Approval
    /// sets the role (a role change) or enables the account (a creation), ending its sessions.
    pub async fn decide_grant(&self, actor: &Actor, id: Uuid, approve: bool) -> Result<RoleGrant, CoreError> {
        self.authorize_system(actor, PolicyAction::ManageUsers)?;
        let grant = self.store.role_grant_get(id).await?.ok_or(CoreError::NotFound)?;
        if grant.requested_by_id == actor.user_id {
            return Err(CoreError::Forbidden("a second administrator must decide this grant; you asked for it".into()));
        }
        if grant.user_id == actor.user_id {
            return Err(CoreError::Forbidden("nobody may decide a grant to themselves".into()));
        }
        let status = if approve { "approved" } else { "refused" };
        let mut change = AccountChange {
            user: grant.user_id,
            decide_grant: Some(GrantDecision { id, status: status.into(), decided_by: actor.username.clone(), at: self.now() }),
            ..AccountChange::default()
        };
        if approve {
            let role: Role = grant.role.parse().map_err(CoreError::Internal)?;
            if grant.kind == GRANT_CREATE {
                change.disabled = Some(false);
            } else {
                change.role = Some(role.as_str().to_string());
            }
            change.end_sessions = true;
        } else if grant.kind == GRANT_CREATE {
            // A refused creation does not leave a disabled account holding the refused role
            // for ever (one `sejf user enable` away from it): the account becomes what one
            // administrator may create alone, the least privileged role, and is enabled. Its
            // password must still be changed at the first sign-in.
            change.role = Some(REFUSED_CREATE_ROLE.as_str().to_string());
            change.disabled = Some(false);
            change.end_sessions = true;
        }
        let mut ev = self.event(
            actor,
            if approve { AuditAction::UserGrantApprove } else { AuditAction::UserGrantRefuse },
            "role_grant",
            &id.to_string(),
        );
        ev.subject_id = grant.user_id.to_string();
        ev.detail = format!("role={} kind={} requested_by={}", grant.role, grant.kind, grant.requested_by_id);
        if !approve && grant.kind == GRANT_CREATE {
            ev.detail.push_str(&format!(" account_role={REFUSED_CREATE_ROLE}"));
        }
        // The decision, what it does to the account and its event commit together; a grant
        // decided meanwhile (or an account gone) changes nothing.
        if !self.account_change(change, vec![ev]).await? {
            return Err(CoreError::Conflict("this grant was already decided".into()));
        }
        let row = self.store.role_grant_get(id).await?.ok_or(CoreError::NotFound)?;
        RoleGrant::from_row(row)
    }
}
