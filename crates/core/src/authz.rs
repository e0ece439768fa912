//! Authorisation: the one function every route and use-case asks, [`authorize`], and the list
//! visibility that mirrors it in SQL. A use-case needs the [`Permit`] it returns, so code that
//! skipped the check does not compile.
//!
//! The decisions themselves are Cedar policies (`sejf-policy`, `policies/default.cedar`); this
//! module turns actors and records into policy requests and adds the API-token scope check.

use sejf_domain::records::RecordKind;
use sejf_domain::roles::Role;
use uuid::Uuid;

use crate::ports::Visibility;
use sejf_policy::PolicyEngine;

/// What a token may do: everything its user may (`Full`), only enrol TOTP (`Enroll`), or, for
/// an integration's API token, what its scopes name (`Api`), within its account's rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Full,
    Enroll,
    /// The password was set by an administrator: the token may only change it
    /// (`POST /auth/password`).
    Password,
    Api(Vec<String>),
    /// The CLI run by whoever holds the master key (import, export): the policies' `Operator`.
    Operator,
}

impl Scope {
    pub fn to_stored(&self) -> String {
        match self {
            Scope::Full => "full".into(),
            Scope::Enroll => "enroll".into(),
            Scope::Password => "password".into(),
            Scope::Api(s) => format!("api {}", s.join(" ")),
            Scope::Operator => "operator".into(),
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        match s {
            "full" => Some(Scope::Full),
            "enroll" => Some(Scope::Enroll),
            "password" => Some(Scope::Password),
            _ => s.strip_prefix("api ").map(|rest| Scope::Api(rest.split_whitespace().map(str::to_string).collect())),
        }
    }

    /// Whether this token may `action` records of `kind` (scopes name the plural: `people:read`).
    pub fn permits(&self, kind: RecordKind, action: Action) -> bool {
        match self {
            Scope::Full | Scope::Operator => true,
            Scope::Enroll | Scope::Password => false,
            Scope::Api(scopes) => {
                let need = if action == Action::Read { "read" } else { "write" };
                scopes.iter().any(|s| s.split_once(':') == Some((kind.plural(), need)))
            }
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
    pub units: Vec<String>,
    pub session_id: Uuid,
    pub scope: Scope,
    /// Where the request came from (for the audit trail); "" outside HTTP.
    pub client: String,
    /// The request's id (for the audit trail); "" outside HTTP.
    pub request_id: String,
}

impl Actor {
    /// A user acting outside any HTTP session (the CLI acting for them: import, demo data).
    pub fn for_user(u: &crate::users::UserInfo) -> Self {
        Self {
            user_id: u.id,
            username: u.username.clone(),
            role: u.role,
            units: u.units.clone(),
            session_id: Uuid::nil(),
            scope: Scope::Full,
            client: String::new(),
            request_id: String::new(),
        }
    }

    /// The CLI operator (holds the master key): import and export act as this principal.
    pub fn operator() -> Self {
        Self {
            user_id: Uuid::nil(),
            username: "operator".into(),
            role: Role::Admin,
            units: vec![],
            session_id: Uuid::nil(),
            scope: Scope::Operator,
            client: String::new(),
            request_id: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read,
    Create,
    Update,
    Delete,
}

impl Action {
    fn policy(self) -> sejf_policy::Action {
        match self {
            Action::Read => sejf_policy::Action::Read,
            Action::Create => sejf_policy::Action::Create,
            Action::Update => sejf_policy::Action::Update,
            Action::Delete => sejf_policy::Action::Delete,
        }
    }
}

/// The facts about a record that authorisation looks at.
#[derive(Debug, Clone, Copy)]
pub struct Resource<'a> {
    pub kind: RecordKind,
    /// The record's id (nil for a record not yet created).
    pub id: Uuid,
    pub owner_id: Uuid,
    pub unit: &'a str,
    /// The owner's units, when the owner is not the caller (creating for a team member).
    pub owner_units: &'a [String],
}

impl<'a> Resource<'a> {
    /// A stored person as the policies see them (owned, in a unit; no owner units needed).
    pub fn person(row: &'a crate::ports::PersonRow) -> Self {
        Resource { kind: RecordKind::Person, id: row.id, owner_id: row.owner_id, unit: &row.unit, owner_units: &[] }
    }

    /// A stored company, deal or activity as the policies see it.
    pub fn record(row: &'a crate::ports::RecordRow) -> Self {
        Resource { kind: row.kind, id: row.id, owner_id: row.owner_id, unit: &row.unit, owner_units: &[] }
    }
}

impl Resource<'_> {
    fn policy(&self) -> sejf_policy::Resource {
        sejf_policy::Resource::Record {
            kind: self.kind,
            id: self.id,
            owner: self.owner_id,
            owner_units: self.owner_units.to_vec(),
            unit: self.unit.to_string(),
        }
    }
}

/// Proof that a decision allowed `action` on the record `kind`/`id`: only [`authorize`] makes
/// one, and decrypting a record needs one naming that record ([`Permit::covers`]).
#[derive(Debug)]
#[must_use]
pub struct Permit {
    kind: RecordKind,
    id: Uuid,
    action: Action,
}

impl Permit {
    /// The action the decision allowed.
    pub fn action(&self) -> Action {
        self.action
    }

    /// Refuses, as an internal error, a permit given for another record: a use case that
    /// opened one record with another's decision would be a bug, never the caller's doing.
    pub(crate) fn covers(&self, kind: RecordKind, id: Uuid) -> Result<(), crate::CoreError> {
        if self.kind == kind && self.id == id {
            Ok(())
        } else {
            Err(crate::CoreError::Internal(format!("a permit for {} {} was used on {} {id}", self.kind, self.id, kind)))
        }
    }
}

/// The decision refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied;

/// Which field classes of a record the caller may read: public, personal, sensitive.
pub type FieldAccess = sejf_policy::FieldClasses;

/// The policy principal of an actor.
pub fn principal(actor: &Actor) -> sejf_policy::Principal {
    if actor.scope == Scope::Operator {
        return sejf_policy::Principal::Operator;
    }
    sejf_policy::Principal::User { id: actor.user_id, role: actor.role, units: actor.units.clone() }
}

/// The single authorisation decision: the API token's scope, then the Cedar policies (deny
/// wins). Every record read or written in Sejf passes here.
pub fn authorize(engine: &PolicyEngine, actor: &Actor, action: Action, resource: Resource<'_>) -> Result<Permit, Denied> {
    if !actor.scope.permits(resource.kind, action) {
        return Err(Denied);
    }
    // From the engine's memo of decisions per shape of question: a hash lookup for the second
    // record with the same relation to the caller. An evaluation error denies (policies are
    // validated against the schema when loaded, so one is a defect of the policy set).
    let allowed = engine.may(&principal(actor), action.policy(), &resource.policy());
    if allowed { Ok(Permit { kind: resource.kind, id: resource.id, action }) } else { Err(Denied) }
}

/// Whether `record` may be read at all, and which of its field classes.
pub fn field_access(engine: &PolicyEngine, actor: &Actor, resource: Resource<'_>) -> (bool, FieldAccess) {
    if !actor.scope.permits(resource.kind, Action::Read) {
        return (false, FieldAccess::NONE);
    }
    let (read, classes) = engine.record_view(&principal(actor), &resource.policy());
    (read, classes)
}

/// Which field classes the caller can read on some person at all (their own, a team member's,
/// another unit's); see `PolicyEngine::readable_somewhere`.
pub fn readable_somewhere(engine: &PolicyEngine, actor: &Actor) -> FieldAccess {
    if !actor.scope.permits(RecordKind::Person, Action::Read) {
        return FieldAccess::NONE;
    }
    engine.readable_somewhere(&principal(actor))
}

/// Whether the caller may reveal a masked field of `class` for `purpose`.
pub fn may_reveal(engine: &PolicyEngine, actor: &Actor, resource: Resource<'_>, class: sejf_policy::FieldClass, purpose: &str) -> bool {
    let ctx = sejf_policy::Context { purpose: Some(purpose.to_string()), ..Default::default() };
    actor.scope.permits(resource.kind, Action::Read)
        && engine.decide(&principal(actor), sejf_policy::Action::Reveal(class), &resource.policy(), &ctx).allowed
}

/// Refuses the whole operation when the caller's token lacks the scope for it (API tokens);
/// this says nothing about any record, so it is a 403, not a 404.
pub fn require_scope(actor: &Actor, kind: RecordKind, action: Action) -> Result<(), crate::CoreError> {
    match &actor.scope {
        Scope::Enroll => Err(crate::CoreError::MfaEnrollmentRequired),
        Scope::Password => Err(crate::CoreError::PasswordChangeRequired),
        scope if scope.permits(kind, action) => Ok(()),
        _ => {
            let need = if action == Action::Read { "read" } else { "write" };
            Err(crate::CoreError::Forbidden(format!("this API token lacks the scope {}:{need}", kind.plural())))
        }
    }
}

/// A superset of the records `actor` may list, as the store's SQL filter: every unit for roles
/// whose default policies reach across units (admin, auditor, dpo) and for the operator; the
/// caller's own records and their units' records for the others. The use-cases still ask the
/// policies about every listed record, so a stricter policy only shortens the list.
pub fn visibility(actor: &Actor) -> Visibility {
    let all = actor.scope == Scope::Operator || matches!(actor.role, Role::Admin | Role::Auditor | Role::Dpo);
    Visibility { all, owner: actor.user_id, member_units: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn a_permit_opens_only_the_record_it_was_given_for() {
        let engine = PolicyEngine::default_set().unwrap();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let res = Resource { kind: RecordKind::Person, id: a, owner_id: Uuid::now_v7(), unit: "north", owner_units: &[] };
        let permit = authorize(&engine, &Actor::operator(), Action::Read, res).unwrap();
        assert_eq!(permit.action(), Action::Read);
        assert!(permit.covers(RecordKind::Person, a).is_ok());
        assert!(matches!(permit.covers(RecordKind::Person, b), Err(crate::CoreError::Internal(_))), "another person");
        assert!(permit.covers(RecordKind::Deal, a).is_err(), "another kind with the same id");
    }

    #[test]
    fn api_scopes_are_per_kind_and_direction() {
        let s = Scope::Api(vec!["people:read".into(), "deals:write".into()]);
        assert!(s.permits(RecordKind::Person, Action::Read));
        assert!(!s.permits(RecordKind::Person, Action::Update));
        assert!(s.permits(RecordKind::Deal, Action::Create));
        assert!(!s.permits(RecordKind::Deal, Action::Read));
        assert!(!Scope::Enroll.permits(RecordKind::Person, Action::Read));
        assert!(!Scope::Password.permits(RecordKind::Person, Action::Read));
        assert_eq!(Scope::from_stored(&Scope::Password.to_stored()), Some(Scope::Password));
        assert_eq!(Scope::from_stored(&s.to_stored()), Some(s));
    }
}
