//! Slices of a policy set by (kind of caller, action), so each question evaluates only the few
//! policies that could possibly apply to it.
//!
//! Why: Cedar evaluates every policy of a set for every request, building and dropping each
//! policy's condition as it goes; with thirty policies that is most of the cost of a decision,
//! and `record_view` makes four. A slice drops only policies whose *scope* (the
//! `principal`/`action` part of the head) cannot match the question. Cedar evaluates the scope
//! before the `when`/`unless` conditions and stops at the first false, so such a policy can
//! neither be satisfied nor raise an error: the decision, its reasons and its errors are the
//! same as over the whole set. A test checks this equivalence over the whole role × relation ×
//! action matrix.
//!
//! Invariants: a policy is left out only when its scope certainly does not match; anything
//! the analysis does not understand stays in. The analysis assumes the schema has no action
//! groups (so `action in [a, b]` means "is a or b") and that a user's only ancestor is their
//! role; the engine refuses a schema with action groups, and builds user entities that way.

use cedar_policy::{ActionConstraint, EntityTypeName, EntityUid, Policy, PolicySet, PrincipalConstraint};

use crate::PolicyError;

/// Who asks, as far as a policy's principal scope can tell callers apart.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Caller<'a> {
    /// A user whose one parent is this role entity.
    User {
        role: &'a EntityUid,
    },
    Operator,
}

/// The names the analysis compares scopes against.
pub(crate) struct Names<'a> {
    pub(crate) user: &'a EntityTypeName,
    pub(crate) role: &'a EntityTypeName,
    pub(crate) operator: &'a EntityUid,
}

/// `callers.len() × actions.len()` policy sets, row-major by caller.
pub(crate) struct Slices {
    sets: Vec<PolicySet>,
    actions: usize,
}

impl Slices {
    pub(crate) fn new(set: &PolicySet, callers: &[Caller<'_>], actions: &[EntityUid], names: &Names<'_>) -> Result<Self, PolicyError> {
        let mut sets = Vec::with_capacity(callers.len() * actions.len());
        for caller in callers {
            for action in actions {
                let policies = set
                    .policies()
                    .filter(|p| may_match_principal(&p.principal_constraint(), *caller, names) && may_match_action(p, action))
                    .cloned();
                sets.push(PolicySet::from_policies(policies).map_err(|e| PolicyError::Validation(e.to_string()))?);
            }
        }
        Ok(Slices { sets, actions: actions.len() })
    }

    /// The slice for the caller and action at these indexes, if both are in range.
    pub(crate) fn get(&self, caller: usize, action: usize) -> Option<&PolicySet> {
        if action >= self.actions {
            return None;
        }
        self.sets.get(caller * self.actions + action)
    }
}

fn may_match_principal(constraint: &PrincipalConstraint, caller: Caller<'_>, names: &Names<'_>) -> bool {
    let type_ok = |ty: &EntityTypeName| match caller {
        Caller::User { .. } => ty == names.user,
        Caller::Operator => ty == names.operator.type_name(),
    };
    // `principal in X`: a user is in itself and their role; the operator only in itself. Only
    // a role other than the caller's is certainly not an ancestor.
    let in_ok = |ancestor: &EntityUid| match caller {
        Caller::User { role } => ancestor.type_name() != names.role || ancestor == role,
        Caller::Operator => ancestor.type_name() != names.role,
    };
    match constraint {
        PrincipalConstraint::Any => true,
        PrincipalConstraint::Eq(uid) => type_ok(uid.type_name()),
        PrincipalConstraint::In(ancestor) => in_ok(ancestor),
        PrincipalConstraint::Is(ty) => type_ok(ty),
        PrincipalConstraint::IsIn(ty, ancestor) => type_ok(ty) && in_ok(ancestor),
    }
}

fn may_match_action(policy: &Policy, action: &EntityUid) -> bool {
    match policy.action_constraint() {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(a) => &a == action,
        ActionConstraint::In(list) => list.iter().any(|a| a == action),
    }
}
