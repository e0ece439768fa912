//! User administration: creation with a password policy (length, zxcvbn strength, not the
//! user's own name), service accounts for integrations, and the changes that end every session
//! of a user at once (disable, new password, new role, MFA reset).

use crate::actions::AuditAction;
use sejf_domain::ValidationErrors;
use sejf_domain::roles::Role;
use sejf_domain::values::UnitSlug;
use uuid::Uuid;

use crate::grants::{GRANT_CREATE, GRANT_ROLE, RoleGrant};
use crate::ports::{AccountChange, AuditEvent, UserRow};

use crate::{App, CoreError};
pub use sejf_policy::Action as PolicyAction;

pub const MIN_PASSWORD: usize = 12;
pub const MAX_PASSWORD: usize = 128;
/// zxcvbn's scale: 3 is "safely unguessable: moderate protection from offline attacks".
pub const MIN_STRENGTH: u8 = 3;

/// The unit of a user created without one.
pub const DEFAULT_UNIT: &str = "main";

/// The roles whose grant through the admin API waits for a second administrator: each opens
/// either the administration itself, other people's units, or the whole trail.
pub fn needs_second_admin(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Manager | Role::Dpo | Role::Auditor)
}

/// What a user row is created with besides its name, role and units.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    service: bool,
    disabled: bool,
    must_change: bool,
}

/// What `change_role` did: set the role, or left it waiting for a second administrator.
#[derive(Debug, Clone)]
pub enum RoleChange {
    Done(UserInfo),
    Pending(UserInfo, RoleGrant),
}

/// A user as administrators see it (no hash).
#[derive(Debug, Clone)]
pub struct UserInfo {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub units: Vec<String>,
    pub disabled: bool,
    pub created_at: i64,
    pub service: bool,
    pub mfa_enabled: bool,
    pub must_change_password: bool,
}

impl UserInfo {
    pub(crate) fn from_row(row: &UserRow) -> Result<Self, CoreError> {
        Ok(Self {
            id: row.id,
            username: row.username.clone(),
            role: row.role.parse().map_err(CoreError::Internal)?,
            units: row.units.clone(),
            disabled: row.disabled,
            created_at: row.created_at,
            service: row.service,
            mfa_enabled: row.mfa_enabled,
            must_change_password: row.must_change_password,
        })
    }
}

/// A user name: 1 to 64 characters of lower-case letters, digits, '.', '_', '-' or '@'.
pub fn check_username(name: &str) -> Result<(), ValidationErrors> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@'));
    if ok { Ok(()) } else { Err(ValidationErrors::single("username", "must be 1 to 64 characters: a-z, 0-9, '.', '_', '-', '@'")) }
}

/// 12 to 128 characters, not the user name (nor the user name with a few characters around it),
/// and strong enough by zxcvbn (score ≥ 3) with the user name as a known word.
pub fn check_password(pw: &str, username: &str) -> Result<(), ValidationErrors> {
    let n = pw.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        return Err(ValidationErrors::single("password", format!("must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")));
    }
    let lower = pw.to_lowercase();
    let local = username.split('@').next().unwrap_or(username);
    if lower == username || lower == local || (local.len() >= 4 && lower.contains(local) && n < local.len() + 6) {
        return Err(ValidationErrors::single("password", "must not be the user name or e-mail"));
    }
    let strength = zxcvbn::zxcvbn(pw, &[username, local, "sejf"]);
    if u8::from(strength.score()) < MIN_STRENGTH {
        return Err(ValidationErrors::single("password", "is too easy to guess; use a longer passphrase of unrelated words"));
    }
    Ok(())
}

pub(crate) async fn hash_blocking(pw: String) -> Result<String, CoreError> {
    tokio::task::spawn_blocking(move || sejf_crypto::password::hash(&pw))
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?
        .map_err(|e| CoreError::Internal(e.to_string()))
}

fn unit_slugs(units: &[String]) -> Result<Vec<String>, ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let mut slugs: Vec<String> = Vec::new();
    for u in units {
        match UnitSlug::parse(u) {
            Ok(s) if !slugs.iter().any(|x| x == s.as_str()) => slugs.push(s.as_str().to_string()),
            Ok(_) => {}
            Err(e) => errs.push("unit", e.0),
        }
    }
    if slugs.is_empty() {
        slugs.push(DEFAULT_UNIT.to_string());
    }
    errs.into_result(slugs)
}

impl App {
    /// Asks the policies about a non-record action (user administration, keys, metrics,
    /// audit); refused is a 403 naming the action.
    pub fn authorize_system(&self, actor: &crate::Actor, action: sejf_policy::Action) -> Result<(), CoreError> {
        if matches!(actor.scope, crate::authz::Scope::Enroll | crate::authz::Scope::Password | crate::authz::Scope::Api(_)) {
            return Err(CoreError::Forbidden(format!("this token may not {}", action.name())));
        }
        let d = self.policy().decide(&crate::authz::principal(actor), action, &sejf_policy::Resource::System, &Default::default());
        if d.allowed { Ok(()) } else { Err(CoreError::Forbidden(format!("your role may not {}", action.name()))) }
    }

    /// Changes a user's role on behalf of `actor` (the admin API): the policies decide (nobody
    /// changes their own role). A privileged role (see [`needs_second_admin`]) is not set but
    /// waits for a second administrator as a [`RoleGrant`]; any other role is set at once and
    /// the user's sessions end.
    pub async fn change_role(&self, actor: &crate::Actor, username: &str, role: Role) -> Result<RoleChange, CoreError> {
        let target = self.user(username).await?;
        let d = self.policy().decide(
            &crate::authz::principal(actor),
            sejf_policy::Action::SetRole,
            &sejf_policy::Resource::User { id: target.id, units: target.units.clone() },
            &Default::default(),
        );
        if !d.allowed {
            return Err(CoreError::Forbidden(if target.id == actor.user_id {
                "nobody may change their own role".to_string()
            } else {
                "your role may not change roles".to_string()
            }));
        }
        if needs_second_admin(role) && target.role != role {
            let grant = self.request_grant(actor, &target, role, GRANT_ROLE).await?;
            return Ok(RoleChange::Pending(target, grant));
        }
        self.set_role_by(actor, &target, role).await?;
        Ok(RoleChange::Done(self.user(username).await?))
    }

    /// Creates a user. Units that do not exist yet are created. This is the host's path (`sejf
    /// user add`, `init`): the password is the user's own, and any role is granted at once.
    pub async fn create_user(&self, username: &str, role: Role, units: &[String], pw: &str) -> Result<UserInfo, CoreError> {
        self.create_user_by(&crate::Actor::operator(), username, role, units, pw, false).await
    }

    /// Creates a user through the admin API on behalf of `actor`: the account must change the
    /// password at its first sign-in, and a privileged role leaves it disabled until a second
    /// administrator approves the grant (answered with it).
    pub async fn admin_create_user(
        &self,
        actor: &crate::Actor,
        username: &str,
        role: Role,
        units: &[String],
        pw: &str,
    ) -> Result<(UserInfo, Option<RoleGrant>), CoreError> {
        self.authorize_system(actor, PolicyAction::ManageUsers)?;
        let user = self.create_user_by(actor, username, role, units, pw, true).await?;
        if !needs_second_admin(role) {
            return Ok((user, None));
        }
        let grant = self.request_grant(actor, &user, role, GRANT_CREATE).await?;
        Ok((self.user(username).await?, Some(grant)))
    }

    async fn create_user_by(
        &self,
        actor: &crate::Actor,
        username: &str,
        role: Role,
        units: &[String],
        pw: &str,
        admin_api: bool,
    ) -> Result<UserInfo, CoreError> {
        check_username(username)?;
        check_password(pw, username)?;
        let slugs = unit_slugs(units)?;
        let hash = hash_blocking(pw.to_string()).await?;
        let held = admin_api && needs_second_admin(role);
        let flags = Flags { service: false, disabled: held, must_change: admin_api };
        self.insert_user(actor, username, role, slugs, hash, flags, &format!("role={role}")).await
    }

    /// The audit event of a user-administration change, naming who made it: the acting
    /// administrator with their address and request id, or `operator` for the host's CLI.
    fn admin_event(&self, actor: &crate::Actor, action: AuditAction, user: Uuid, detail: &str) -> AuditEvent {
        let mut ev = self.event(actor, action, "user", &user.to_string());
        ev.detail = detail.to_string();
        ev
    }

    /// Applies `change` to an account together with its audit event (one transaction: both
    /// or neither). A user gone meanwhile is not found.
    async fn change_account(&self, change: AccountChange, ev: AuditEvent) -> Result<(), CoreError> {
        if self.account_change(change, vec![ev]).await? { Ok(()) } else { Err(CoreError::NotFound) }
    }

    /// Creates a service account: it has a role and units but no password; it acts only
    /// through API tokens (see `issue_api_token`).
    pub async fn create_service_account(&self, username: &str, role: Role, units: &[String]) -> Result<UserInfo, CoreError> {
        check_username(username)?;
        let slugs = unit_slugs(units)?;
        // "!" is no PHC string: no password ever verifies against it.
        let flags = Flags { service: true, ..Flags::default() };
        self.insert_user(&crate::Actor::operator(), username, role, slugs, "!".into(), flags, &format!("role={role} service")).await
    }

    /// Creates the user row and its `user.create` event in one transaction.
    #[allow(clippy::too_many_arguments)]
    async fn insert_user(
        &self,
        actor: &crate::Actor,
        username: &str,
        role: Role,
        units: Vec<String>,
        hash: String,
        flags: Flags,
        detail: &str,
    ) -> Result<UserInfo, CoreError> {
        let row = UserRow {
            id: Uuid::now_v7(),
            username: username.to_string(),
            password_hash: hash,
            role: role.as_str().to_string(),
            disabled: flags.disabled,
            units,
            created_at: self.now(),
            service: flags.service,
            mfa_enabled: false,
            must_change_password: flags.must_change,
        };
        let ev = self.admin_event(actor, AuditAction::UserCreate, row.id, detail);
        self.store.user_create(row.clone(), vec![ev]).await.map_err(|e| match e {
            crate::StoreError::Conflict(_) => CoreError::Conflict("a user with this name exists".into()),
            other => other.into(),
        })?;
        UserInfo::from_row(&row)
    }

    pub async fn users(&self) -> Result<Vec<UserInfo>, CoreError> {
        self.store.users_list().await?.iter().map(UserInfo::from_row).collect()
    }

    pub async fn user(&self, username: &str) -> Result<UserInfo, CoreError> {
        let row = self.store.user_by_name(username).await?.ok_or(CoreError::NotFound)?;
        UserInfo::from_row(&row)
    }

    /// Refuses `actor` unless they may administer users: an administrator by the policies, or
    /// the operator (the host's CLI, which holds the master key and answers to no policy).
    pub(crate) fn may_manage_users(&self, actor: &crate::Actor) -> Result<(), CoreError> {
        if actor.scope == crate::authz::Scope::Operator { Ok(()) } else { self.authorize_system(actor, PolicyAction::ManageUsers) }
    }

    /// Disables a user on behalf of `actor` and ends all their sessions at once; nobody
    /// disables themselves.
    pub async fn disable_user(&self, actor: &crate::Actor, username: &str) -> Result<(), CoreError> {
        self.may_manage_users(actor)?;
        let u = self.user(username).await?;
        if u.id == actor.user_id {
            return Err(CoreError::Forbidden("you may not disable yourself".into()));
        }
        let change = AccountChange { user: u.id, disabled: Some(true), end_sessions: true, ..AccountChange::default() };
        self.change_account(change, self.admin_event(actor, AuditAction::UserDisable, u.id, "")).await
    }

    /// Re-enables a disabled or suspended user (after review), on behalf of `actor`.
    pub async fn enable_user(&self, actor: &crate::Actor, username: &str) -> Result<(), CoreError> {
        self.may_manage_users(actor)?;
        let u = self.user(username).await?;
        let change = AccountChange { user: u.id, disabled: Some(false), ..AccountChange::default() };
        self.change_account(change, self.admin_event(actor, AuditAction::UserEnable, u.id, "")).await
    }

    /// Sets a new password and ends all the user's sessions (the host's CLI: the password is
    /// the user's own).
    pub async fn reset_password(&self, username: &str, pw: &str) -> Result<(), CoreError> {
        self.reset_password_by(&crate::Actor::operator(), username, pw, false).await
    }

    /// Sets a new password through the admin API on behalf of `actor`: the user must change it
    /// at the next sign-in, so the administrator never holds a working credential.
    pub async fn admin_reset_password(&self, actor: &crate::Actor, username: &str, pw: &str) -> Result<(), CoreError> {
        self.authorize_system(actor, PolicyAction::ManageUsers)?;
        self.reset_password_by(actor, username, pw, true).await
    }

    async fn reset_password_by(&self, actor: &crate::Actor, username: &str, pw: &str, must_change: bool) -> Result<(), CoreError> {
        let u = self.user(username).await?;
        if u.service {
            return Err(CoreError::Conflict("a service account has no password; issue it an API token".into()));
        }
        if must_change && u.id == actor.user_id {
            return Err(CoreError::Forbidden("change your own password with POST /auth/password".into()));
        }
        check_password(pw, username)?;
        let hash = hash_blocking(pw.to_string()).await?;
        let change = AccountChange {
            user: u.id,
            password_hash: Some(hash),
            must_change_password: Some(must_change),
            end_sessions: true,
            ..AccountChange::default()
        };
        self.change_account(
            change,
            self.admin_event(actor, AuditAction::UserResetPassword, u.id, if must_change { "must-change" } else { "" }),
        )
        .await?;
        self.guard_clear_account(username).await
    }

    /// Sets a role at once (the host's CLI).
    pub async fn set_role(&self, username: &str, role: Role) -> Result<(), CoreError> {
        let u = self.user(username).await?;
        self.set_role_by(&crate::Actor::operator(), &u, role).await
    }

    async fn set_role_by(&self, actor: &crate::Actor, u: &UserInfo, role: Role) -> Result<(), CoreError> {
        let change = AccountChange { user: u.id, role: Some(role.as_str().to_string()), end_sessions: true, ..AccountChange::default() };
        self.change_account(change, self.admin_event(actor, AuditAction::UserSetRole, u.id, &format!("role={role}"))).await
    }
}
