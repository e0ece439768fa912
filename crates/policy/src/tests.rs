//! Tests of the engine's internals: that the shortcuts it takes for speed (no request
//! validation, sliced policy sets, hand-built entities) agree with what Cedar and the schema
//! would say. Behaviour a user would notice is tested in `tests/policy.rs`.

use cedar_policy::{Entities, Request};
use uuid::Uuid;

use super::*;
use crate::engine::Scope;
use crate::model::ACTION_IDS;

const ME: Uuid = Uuid::from_u128(0xa1);
const COLLEAGUE: Uuid = Uuid::from_u128(0xa2);
const STRANGER: Uuid = Uuid::from_u128(0xa3);

fn units(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn callers() -> Vec<Principal> {
    let mut all: Vec<Principal> =
        Role::ALL.into_iter().map(|role| Principal::User { id: ME, role, units: units(&["north", "east"]) }).collect();
    all.push(Principal::Operator);
    all
}

fn resources() -> Vec<Resource> {
    let record = |n: u128, owner: Uuid, owner_units: &[&str], unit: &str, kind: RecordKind| Resource::Record {
        kind,
        id: Uuid::from_u128(n),
        owner,
        owner_units: units(owner_units),
        unit: unit.to_string(),
    };
    vec![
        record(1, ME, &["north", "east"], "north", RecordKind::Person),
        record(2, ME, &["north", "east"], "south", RecordKind::Company),
        record(3, COLLEAGUE, &["north"], "north", RecordKind::Deal),
        record(4, COLLEAGUE, &["north"], "east", RecordKind::Activity),
        record(5, STRANGER, &["south"], "south", RecordKind::Person),
        record(6, STRANGER, &[], "north", RecordKind::Person),
        Resource::User { id: ME, units: units(&["north"]) },
        Resource::User { id: COLLEAGUE, units: units(&["north"]) },
        Resource::System,
    ]
}

fn contexts() -> [Context; 3] {
    [
        Context::default(),
        Context { purpose: Some("  ".into()), ..Context::default() },
        Context { purpose: Some("ticket 42".into()), ..Context::default() },
    ]
}

#[test]
fn slicing_changes_no_decision_reason_or_error() {
    // The default set, plus policies that exercise the slicing's edge cases: a principal
    // `==`, an unconstrained action, `is … in`, and one that fails to evaluate.
    let extra = r#"
        @id("x-eq") permit (principal == Sejf::User::"00000000-0000-0000-0000-0000000000a1", action == Sejf::Action::"gdpr", resource);
        @id("x-any-action") forbid (principal in Sejf::Role::"support", action, resource is Sejf::Record) when { resource.kind == Sejf::RecordKind::"deal" };
        @id("x-is-in") permit (principal is Sejf::User in Sejf::Role::"auditor", action == Sejf::Action::"read_metrics", resource);
        @id("x-errors") permit (principal, action == Sejf::Action::"set_role", resource is Sejf::User) when { resource.units.isEmpty() || 9223372036854775807 + 1 > 0 };
    "#;
    for text in [PolicyEngine::DEFAULT_POLICIES.to_string(), format!("{}\n{extra}", PolicyEngine::DEFAULT_POLICIES)] {
        let engine = PolicyEngine::from_text(&text).unwrap();
        let mut compared = 0;
        for principal in callers() {
            for action in Action::ALL {
                for resource in resources() {
                    for context in contexts() {
                        let sliced = engine.decide_in(Scope::Slice, &principal, action, &resource, &context);
                        let whole = engine.decide_in(Scope::Whole, &principal, action, &resource, &context);
                        assert_eq!(sliced, whole, "{principal:?} {action} {resource:?} {context:?}");
                        compared += 1;
                    }
                }
            }
        }
        assert_eq!(compared, 7 * 17 * 9 * 3);
    }
}

#[test]
fn hand_built_entities_and_requests_conform_to_the_schema() {
    let schema = load::schema(PolicyEngine::SCHEMA).unwrap();
    let engine = PolicyEngine::default_set().unwrap();
    for principal in callers() {
        for resource in resources() {
            let parts = engine.parts(&principal, &resource).unwrap();
            if let Err(e) = Entities::from_entities(parts.entities.clone(), Some(&schema)) {
                panic!("{principal:?} {resource:?}: {e}");
            }
            for action in Action::ALL {
                for context in contexts() {
                    let context = engine.context(action, &context).unwrap();
                    let action_uid = engine.uids.actions[action.index()].clone();
                    let validated = Request::new(parts.principal.clone(), action_uid, parts.resource.clone(), context, Some(&schema));
                    // `applies_to` must say exactly what the schema says, since the engine
                    // relies on it instead of validating each request.
                    assert_eq!(validated.is_ok(), action.applies_to(&resource), "{action} on {resource:?}: {validated:?}");
                }
            }
        }
    }
}

#[test]
fn action_ids_match_action_names() {
    for action in Action::ALL {
        assert_eq!(ACTION_IDS[action.index()], action.name());
    }
    let schema = load::schema(PolicyEngine::SCHEMA).unwrap();
    let mut declared: Vec<String> = schema.actions().map(|a| a.id().unescaped().to_string()).collect();
    declared.sort();
    let mut ours: Vec<String> = ACTION_IDS.iter().map(|s| s.to_string()).collect();
    ours.sort();
    assert_eq!(declared, ours);
}

#[test]
fn the_engine_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PolicyEngine>();
}

#[test]
fn role_rows_follow_role_all() {
    for (i, role) in Role::ALL.into_iter().enumerate() {
        assert_eq!(crate::engine::role_index(role), i);
    }
}

#[test]
fn the_memo_gives_the_answers_cedar_gives() {
    // Policies that name units and a user literally, so the memo must keep those names apart
    // from the ones it renames.
    let extra = r#"
        @id("x-freeze-north") forbid (principal, action == Sejf::Action::"read_field", resource is Sejf::Record)
            when { resource.unit == Sejf::Unit::"north" && context.class == Sejf::FieldClass::"sensitive" };
        @id("x-east-members-read") permit (principal is Sejf::User, action == Sejf::Action::"read", resource is Sejf::Record)
            when { principal.units.contains(Sejf::Unit::"east") };
        @id("x-vip-owner") permit (principal, action == Sejf::Action::"read_field", resource is Sejf::Record)
            when { resource.owner == Sejf::User::"00000000-0000-0000-0000-0000000000a2" };
        @id("x-owner-in-west") forbid (principal, action == Sejf::Action::"read", resource is Sejf::Record)
            when { resource.owner.units.contains(Sejf::Unit::"west") && principal in Sejf::Role::"support" };
    "#;
    let engine = PolicyEngine::from_text(&format!("{}\n{extra}", PolicyEngine::DEFAULT_POLICIES)).unwrap();
    let pool = ["north", "east", "west", "south", "x1"];
    let unit_sets: Vec<Vec<String>> = vec![
        vec![],
        units(&["north"]),
        units(&["south"]),
        units(&["pl-waw"]),
        units(&["x1"]),
        units(&["north", "east"]),
        units(&["south", "pl-waw"]),
        units(&["west", "x1", "x1"]),
    ];
    let users = [ME, COLLEAGUE, STRANGER, Uuid::from_u128(0xa4)];
    let mut principals: Vec<Principal> = vec![Principal::Operator];
    for role in Role::ALL {
        for (i, set) in unit_sets.iter().enumerate().skip(1) {
            principals.push(Principal::User { id: users[i % 2], role, units: set.clone() });
        }
    }
    // A one-to-one renaming that leaves alone the names the policies mention.
    let rename_unit = |u: &String| if ["north", "east", "west"].contains(&u.as_str()) { u.clone() } else { format!("{u}-renamed") };
    let rename_user = |u: Uuid| if u == COLLEAGUE { u } else { Uuid::from_u128(u.as_u128() + 0x1000) };
    let rename = |p: &Principal, r: &Resource| {
        let p = match p {
            Principal::User { id, role, units } => {
                Principal::User { id: rename_user(*id), role: *role, units: units.iter().map(rename_unit).collect() }
            }
            Principal::Operator => Principal::Operator,
        };
        let Resource::Record { kind, id, owner, owner_units, unit } = r else { unreachable!() };
        let r = Resource::Record {
            kind: *kind,
            id: Uuid::from_u128(id.as_u128() + 0x1000),
            owner: rename_user(*owner),
            owner_units: owner_units.iter().map(rename_unit).collect(),
            unit: rename_unit(unit),
        };
        (p, r)
    };
    let mut asked: u128 = 0;
    for principal in &principals {
        for &owner in &users {
            for owner_units in &unit_sets {
                for unit in pool {
                    let kind = if asked.is_multiple_of(2) { RecordKind::Person } else { RecordKind::Deal };
                    let resource = Resource::Record {
                        kind,
                        id: Uuid::from_u128(0x10_0000 + asked),
                        owner,
                        owner_units: owner_units.clone(),
                        unit: unit.into(),
                    };
                    let remembered = engine.record_view(principal, &resource);
                    assert_eq!(remembered, engine.record_view_uncached(principal, &resource), "{principal:?} {resource:?}");
                    // A decision from the memo is the decision Cedar takes.
                    for action in [Action::Read, Action::Create, Action::Update, Action::Delete] {
                        let decided = engine.decide(principal, action, &resource, &Context::default());
                        assert_eq!(engine.may(principal, action, &resource), decided.allowed, "{action} {principal:?} {resource:?}");
                    }
                    // The renamed twin is answered from the memo, and Cedar agrees.
                    let (twin_principal, twin_resource) = rename(principal, &resource);
                    let shapes = engine.memo.len();
                    let twin = engine.record_view(&twin_principal, &twin_resource);
                    assert_eq!(engine.memo.len(), shapes, "the twin should share a shape: {twin_principal:?} {twin_resource:?}");
                    assert_eq!(twin, engine.record_view_uncached(&twin_principal, &twin_resource), "{twin_principal:?} {twin_resource:?}");
                    asked += 1;
                }
            }
        }
    }
    assert!(asked > 1000);
}

#[test]
fn the_memo_shares_answers_between_renamings_only() {
    let engine = PolicyEngine::default_set().unwrap();
    let me = |units_: &[&str]| Principal::User { id: ME, role: Role::Sales, units: units(units_) };
    let rec = |owner: Uuid, owner_units: &[&str], unit: &str| Resource::Record {
        kind: RecordKind::Person,
        id: Uuid::from_u128(7),
        owner,
        owner_units: units(owner_units),
        unit: unit.into(),
    };
    let shape = |p: &Principal, r: &Resource| engine.memo.shape(crate::engine::role_index(Role::Sales), p, r).unwrap();
    // Same relation, other names: one shape.
    assert_eq!(shape(&me(&["a"]), &rec(COLLEAGUE, &["a"], "a")), shape(&me(&["b"]), &rec(STRANGER, &["b"], "b")));
    // Team record vs. a record in another unit: different shapes.
    assert_ne!(shape(&me(&["a"]), &rec(COLLEAGUE, &["a"], "a")), shape(&me(&["a"]), &rec(COLLEAGUE, &["a"], "b")));
    // Own vs. someone else's: different shapes.
    assert_ne!(shape(&me(&["a"]), &rec(ME, &["a"], "a")), shape(&me(&["a"]), &rec(COLLEAGUE, &["a"], "a")));
}
