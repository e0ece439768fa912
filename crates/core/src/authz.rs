//! Authorisation: the one function every route and use-case asks, [`authorize`], and the list
//! visibility that mirrors it in SQL. A use-case needs the [`Permit`] it returns, so code that
//! skipped the check does not compile.
//!
//! Rule until policies arrive: a record's owner, managers of the record's unit, and admins.

use sejf_domain::roles::Role;
use uuid::Uuid;

use crate::ports::Visibility;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
    pub units: Vec<String>,
    pub session_id: Uuid,
}

impl Actor {
    /// The unit a new record goes to when the caller names none.
    pub fn home_unit(&self) -> Option<&str> {
        self.units.first().map(String::as_str)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read,
    Create,
    Update,
    Delete,
}

/// The facts about a record that authorisation looks at.
#[derive(Debug, Clone, Copy)]
pub struct Resource<'a> {
    pub owner_id: Uuid,
    pub unit: &'a str,
}

/// Proof that a decision allowed an action on a resource.
#[derive(Debug)]
#[must_use]
pub struct Permit {
    _private: (),
}

/// The decision refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied;

/// The single authorisation decision.
pub fn authorize(actor: &Actor, action: Action, resource: Resource<'_>) -> Result<Permit, Denied> {
    let allowed = match actor.role {
        Role::Admin => true,
        Role::Manager => actor.units.iter().any(|u| u == resource.unit) || resource.owner_id == actor.user_id,
        _ => resource.owner_id == actor.user_id && (action != Action::Create || actor.units.iter().any(|u| u == resource.unit)),
    };
    if allowed { Ok(Permit { _private: () }) } else { Err(Denied) }
}

/// The records `actor` may list, as the store's SQL filter. Must agree with [`authorize`]; the
/// use-cases still call `authorize` on every listed record.
pub fn visibility(actor: &Actor) -> Visibility {
    Visibility { all: actor.role == Role::Admin, owner: actor.user_id, member_units: actor.role == Role::Manager }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, units: &[&str]) -> Actor {
        Actor {
            user_id: Uuid::now_v7(),
            username: "u".into(),
            role,
            units: units.iter().map(|s| s.to_string()).collect(),
            session_id: Uuid::now_v7(),
        }
    }

    #[test]
    fn owner_unit_manager_and_admin_only() {
        let sales = actor(Role::Sales, &["north"]);
        let other = Uuid::now_v7();
        let own = Resource { owner_id: sales.user_id, unit: "north" };
        let theirs = Resource { owner_id: other, unit: "north" };
        assert!(authorize(&sales, Action::Read, own).is_ok());
        assert!(authorize(&sales, Action::Read, theirs).is_err());
        let mgr = actor(Role::Manager, &["north"]);
        assert!(authorize(&mgr, Action::Update, theirs).is_ok());
        assert!(authorize(&mgr, Action::Read, Resource { owner_id: other, unit: "south" }).is_err());
        assert!(authorize(&actor(Role::Admin, &[]), Action::Delete, theirs).is_ok());
        assert!(authorize(&actor(Role::Support, &["north"]), Action::Read, theirs).is_err());
        // Creating into a unit one does not belong to is refused even as owner.
        assert!(authorize(&sales, Action::Create, Resource { owner_id: sales.user_id, unit: "south" }).is_err());
    }
}
