//! The vocabulary of an authorisation question: who asks ([`Principal`]), to do what ([`Action`]),
//! to which thing ([`Resource`]), and in which circumstances ([`Context`]), plus the answer
//! ([`Decision`]).
//!
//! These types mirror `policies/sejf.cedarschema` one to one. Every name they print (`as_str`,
//! `name`) is the exact Cedar identifier of the schema, and every `FromStr` accepts exactly
//! what the matching `as_str`/`Display` prints, so the CLI (`sejf policy test`) and the engine
//! cannot disagree about spelling.

use std::fmt;
use std::str::FromStr;

use sejf_domain::roles::Role;
use uuid::Uuid;

pub use sejf_domain::fields::{FieldClass, FieldClasses};

/// What the caller wants to do. Field actions carry the class they are about, because Cedar
/// sees one `read_field`/`reveal` action with the class in its context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Read,
    Create,
    Update,
    Delete,
    ReadField(FieldClass),
    /// Unmask a field of this class that `ReadField` would mask; may need a purpose.
    Reveal(FieldClass),
    ManageUsers,
    SetRole,
    ManageKeys,
    ReadMetrics,
    ReadAudit,
    Gdpr,
    /// Approving another user's bulk export (four-eyes); the resource is the requester.
    ApproveExport,
}

impl Action {
    /// Every action the schema declares, field actions once per class.
    pub const ALL: [Action; 17] = [
        Action::Read,
        Action::Create,
        Action::Update,
        Action::Delete,
        Action::ReadField(FieldClass::Public),
        Action::ReadField(FieldClass::Personal),
        Action::ReadField(FieldClass::Sensitive),
        Action::Reveal(FieldClass::Public),
        Action::Reveal(FieldClass::Personal),
        Action::Reveal(FieldClass::Sensitive),
        Action::ManageUsers,
        Action::SetRole,
        Action::ManageKeys,
        Action::ReadMetrics,
        Action::ReadAudit,
        Action::Gdpr,
        Action::ApproveExport,
    ];

    /// The Cedar action id (`Sejf::Action::"<name>"`); the class of a field action is not part
    /// of it.
    pub fn name(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::ReadField(_) => "read_field",
            Action::Reveal(_) => "reveal",
            Action::ManageUsers => "manage_users",
            Action::SetRole => "set_role",
            Action::ManageKeys => "manage_keys",
            Action::ReadMetrics => "read_metrics",
            Action::ReadAudit => "read_audit",
            Action::Gdpr => "gdpr",
            Action::ApproveExport => "approve_export",
        }
    }

    /// The field class a field action is about.
    pub fn class(self) -> Option<FieldClass> {
        match self {
            Action::ReadField(c) | Action::Reveal(c) => Some(c),
            _ => None,
        }
    }

    /// Index of [`Self::name`] in [`ACTION_IDS`], the engine's table of pre-built action uids.
    pub(crate) fn index(self) -> usize {
        match self {
            Action::Read => 0,
            Action::Create => 1,
            Action::Update => 2,
            Action::Delete => 3,
            Action::ReadField(_) => 4,
            Action::Reveal(_) => 5,
            Action::ManageUsers => 6,
            Action::SetRole => 7,
            Action::ManageKeys => 8,
            Action::ReadMetrics => 9,
            Action::ReadAudit => 10,
            Action::Gdpr => 11,
            Action::ApproveExport => 12,
        }
    }

    /// Which kinds of resource the schema lets this action apply to. The engine checks this
    /// before asking Cedar, so a mismatched question is a clear error instead of a policy
    /// evaluation error; a unit test keeps it in step with the schema.
    pub(crate) fn applies_to(self, resource: &Resource) -> bool {
        let record = matches!(resource, Resource::Record { .. });
        let system = matches!(resource, Resource::System);
        match self {
            Action::Read | Action::Create | Action::Update | Action::Delete | Action::ReadField(_) | Action::Reveal(_) => record,
            Action::ManageUsers | Action::ManageKeys | Action::ReadMetrics | Action::ReadAudit => system,
            Action::SetRole | Action::ApproveExport => matches!(resource, Resource::User { .. }),
            Action::Gdpr => record || system,
        }
    }
}

/// The Cedar action ids, in [`Action::index`] order.
pub(crate) const ACTION_IDS: [&str; 13] = [
    "read",
    "create",
    "update",
    "delete",
    "read_field",
    "reveal",
    "manage_users",
    "set_role",
    "manage_keys",
    "read_metrics",
    "read_audit",
    "gdpr",
    "approve_export",
];

/// `read`, `read_field:sensitive`, `reveal:personal`, `manage_users`, …
impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.class() {
            Some(class) => write!(f, "{}:{}", self.name(), class),
            None => f.write_str(self.name()),
        }
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, class) = match s.split_once(':') {
            Some((name, class)) => (name, Some(class.parse::<FieldClass>()?)),
            None => (s, None),
        };
        let action = match (name, class) {
            ("read_field", Some(c)) => Action::ReadField(c),
            ("reveal", Some(c)) => Action::Reveal(c),
            ("read_field" | "reveal", None) => {
                return Err(format!("`{name}` needs a field class: `{name}:public`, `{name}:personal` or `{name}:sensitive`"));
            }
            (name, None) => Action::ALL.into_iter().find(|a| a.class().is_none() && a.name() == name).ok_or_else(unknown_action)?,
            (_, Some(_)) => return Err(unknown_action()),
        };
        Ok(action)
    }
}

fn unknown_action() -> String {
    "unknown action; expected one of read, create, update, delete, read_field:CLASS, reveal:CLASS, manage_users, set_role, \
     manage_keys, read_metrics, read_audit, gdpr"
        .to_string()
}

/// Who asks.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A signed-in user: one role, one or more business units (slugs).
    User { id: Uuid, role: Role, units: Vec<String> },
    /// The CLI run by whoever holds the master key (import, export); not a user account.
    Operator,
}

/// What the question is about.
#[derive(Debug, Clone)]
pub enum Resource {
    /// A record. For `create` it is the record as it would be stored. `owner_units` are the
    /// owner's business units (policies such as "a manager may create a record for a member of
    /// their unit" need them); when the owner is the caller the caller's own units are used.
    Record { kind: RecordKind, id: Uuid, owner: Uuid, owner_units: Vec<String>, unit: String },
    /// A user account (the target of `set_role`, the requester of an export to approve) and
    /// its business units.
    User { id: Uuid, units: Vec<String> },
    /// Everything that is not a record or a user: keys, metrics, the audit log, the user list.
    System,
}

/// The kinds of record, one vocabulary for Sejf (`sejf_domain::records::RecordKind`).
pub use sejf_domain::records::RecordKind;

/// Circumstances of the request that policies may look at.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Why the caller wants to see masked data (for `reveal`). Surrounding whitespace is
    /// ignored, so a purpose of spaces counts as none.
    pub purpose: Option<String>,
    /// The business units of the records an export covers (for `approve_export`): the
    /// approver must answer for all of them.
    pub units: Vec<String>,
}

/// The answer. `allowed` is true only when some permit applied, no forbid applied, and (by
/// Cedar's semantics) a policy whose evaluation failed was skipped, so an error never allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// `@id`s of the policies that decided: the permits that allowed, or the forbids that
    /// denied; empty when nothing applied (default deny). Sorted.
    pub policies: Vec<String>,
    /// Evaluation errors, each naming its policy; also a question the schema does not allow
    /// (an action on the wrong kind of resource).
    pub errors: Vec<String>,
}

impl Decision {
    pub(crate) fn refused(error: String) -> Self {
        Decision { allowed: false, policies: Vec::new(), errors: vec![error] }
    }
}
