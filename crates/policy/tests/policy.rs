//! The default policy as a user of Sejf would meet it, and the guarantees around loading
//! policy files. The expected tables below are written out by hand from DESIGN.md's roles, not
//! derived from the engine: they are the specification the policy files are held to.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sejf_policy::{Action, Context, FieldClass, FieldClasses, PolicyEngine, PolicyError, Principal, RecordKind, Resource, Role};
use uuid::Uuid;

const ME: Uuid = Uuid::from_u128(0x100);
const COLLEAGUE: Uuid = Uuid::from_u128(0x200);
const STRANGER: Uuid = Uuid::from_u128(0x300);

fn engine() -> PolicyEngine {
    PolicyEngine::default_set().unwrap()
}

fn units(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn user(role: Role) -> Principal {
    Principal::User { id: ME, role, units: units(&["north"]) }
}

fn record(kind: RecordKind, owner: Uuid, owner_units: &[&str], unit: &str) -> Resource {
    Resource::Record { kind, id: Uuid::from_u128(0x999), owner, owner_units: units(owner_units), unit: unit.to_string() }
}

/// The caller is in unit `north`. own: theirs, in north; team: a colleague's, in north;
/// other: a stranger's, in south.
fn related(relation: &str, kind: RecordKind) -> Resource {
    match relation {
        "own" => record(kind, ME, &["north"], "north"),
        "team" => record(kind, COLLEAGUE, &["north"], "north"),
        "other" => record(kind, STRANGER, &["south"], "south"),
        _ => unreachable!(),
    }
}

fn purpose(text: &str) -> Context {
    Context { purpose: Some(text.to_string()), ..Context::default() }
}

/// Columns of the record matrix.
const COLUMNS: [(&str, Action, bool); 9] = [
    ("read", Action::Read, false),
    ("create", Action::Create, false),
    ("update", Action::Update, false),
    ("delete", Action::Delete, false),
    ("read_field:public", Action::ReadField(FieldClass::Public), false),
    ("read_field:personal", Action::ReadField(FieldClass::Personal), false),
    ("read_field:sensitive", Action::ReadField(FieldClass::Sensitive), false),
    ("reveal:sensitive", Action::Reveal(FieldClass::Sensitive), false),
    ("reveal:sensitive+purpose", Action::Reveal(FieldClass::Sensitive), true),
];

/// role, relation, then one letter per column: read create update delete | read_field public
/// personal sensitive | reveal sensitive without, with a purpose.
const MATRIX: [(&str, &str, &str); 18] = [
    ("admin", "own", "Y N N N  Y N N  N N"),
    ("admin", "team", "Y N N N  Y N N  N N"),
    ("admin", "other", "Y N N N  Y N N  N N"),
    ("manager", "own", "Y Y Y Y  Y Y Y  Y Y"),
    ("manager", "team", "Y Y Y Y  Y Y Y  Y Y"),
    ("manager", "other", "N N N N  N N N  N N"),
    ("sales", "own", "Y Y Y Y  Y Y N  N Y"),
    ("sales", "team", "Y N N N  Y Y N  N Y"),
    ("sales", "other", "N N N N  N N N  N N"),
    ("support", "own", "Y N N N  Y Y N  N Y"),
    ("support", "team", "Y N N N  Y Y N  N Y"),
    ("support", "other", "N N N N  N N N  N N"),
    ("auditor", "own", "Y N N N  Y N N  N N"),
    ("auditor", "team", "Y N N N  Y N N  N N"),
    ("auditor", "other", "Y N N N  Y N N  N N"),
    ("dpo", "own", "Y N N N  Y Y Y  N N"),
    ("dpo", "team", "Y N N N  Y Y Y  N N"),
    ("dpo", "other", "Y N N N  Y Y Y  N N"),
];

fn letters(row: &str) -> Vec<bool> {
    row.split_whitespace()
        .map(|l| match l {
            "Y" => true,
            "N" => false,
            _ => panic!("bad letter {l}"),
        })
        .collect()
}

#[test]
fn default_policy_record_matrix() {
    let engine = engine();
    let mut failures = Vec::new();
    for (role, relation, row) in MATRIX {
        let expected = letters(row);
        assert_eq!(expected.len(), COLUMNS.len());
        let principal = user(role.parse().unwrap());
        for kind in RecordKind::ALL {
            let resource = related(relation, kind);
            for ((column, action, with_purpose), want) in COLUMNS.iter().zip(&expected) {
                let context = if *with_purpose { purpose("customer asked for a correction") } else { Context::default() };
                let decision = engine.decide(&principal, *action, &resource, &context);
                if decision.allowed != *want {
                    failures.push(format!("{role} {relation} {kind} {column}: expected {want}, got {decision:?}"));
                }
                assert!(decision.errors.is_empty(), "{role} {relation} {column}: {:?}", decision.errors);
                // An allow always names the permits that made it.
                assert!(!decision.allowed || !decision.policies.is_empty(), "{decision:?}");
            }
            // record_view must agree with the individual decisions.
            let (read, classes) = engine.record_view(&principal, &resource);
            assert_eq!(read, expected[0], "{role} {relation} record_view read");
            let classes_expected = if read { [expected[4], expected[5], expected[6]] } else { [false; 3] };
            assert_eq!(classes, FieldClasses::from_flags(classes_expected), "{role} {relation} record_view classes");
        }
    }
    assert!(failures.is_empty(), "{} cells differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn default_policy_non_record_actions() {
    let engine = engine();
    let other_user = Resource::User { id: COLLEAGUE, units: vec![] };
    let some_record = related("other", RecordKind::Person);
    // manage_users, set_role (another user), manage_keys, read_metrics, read_audit,
    // gdpr (system), gdpr (a record in another unit)
    let table: [(&str, &str); 6] = [
        ("admin", "Y Y Y Y N N N"),
        ("manager", "N N N N N N N"),
        ("sales", "N N N N N N N"),
        ("support", "N N N N N N N"),
        ("auditor", "N N N N Y N N"),
        ("dpo", "N N N N Y Y Y"),
    ];
    let questions: [(Action, &Resource); 7] = [
        (Action::ManageUsers, &Resource::System),
        (Action::SetRole, &other_user),
        (Action::ManageKeys, &Resource::System),
        (Action::ReadMetrics, &Resource::System),
        (Action::ReadAudit, &Resource::System),
        (Action::Gdpr, &Resource::System),
        (Action::Gdpr, &some_record),
    ];
    for (role, row) in table {
        let principal = user(role.parse().unwrap());
        for ((action, resource), want) in questions.iter().zip(letters(row)) {
            let decision = engine.decide(&principal, *action, resource, &Context::default());
            assert_eq!(decision.allowed, want, "{role} {action} {resource:?}: {decision:?}");
            assert!(decision.errors.is_empty(), "{decision:?}");
        }
    }
}

#[test]
fn nobody_changes_their_own_role_not_even_an_admin() {
    let engine = engine();
    for role in Role::ALL {
        let decision = engine.decide(&user(role), Action::SetRole, &Resource::User { id: ME, units: vec![] }, &Context::default());
        assert!(!decision.allowed, "{role}");
    }
    let admin_self = engine.decide(&user(Role::Admin), Action::SetRole, &Resource::User { id: ME, units: vec![] }, &Context::default());
    assert_eq!(admin_self.policies, vec!["no-self-role-change".to_string()]);
    let admin_other =
        engine.decide(&user(Role::Admin), Action::SetRole, &Resource::User { id: STRANGER, units: vec![] }, &Context::default());
    assert!(admin_other.allowed);
    assert_eq!(admin_other.policies, vec!["admin-set-role".to_string()]);
}

#[test]
fn operator_reads_creates_and_updates_every_record_and_handles_gdpr() {
    let engine = engine();
    for relation in ["own", "team", "other"] {
        let resource = related(relation, RecordKind::Person);
        for (action, want) in [
            (Action::Read, true),
            (Action::Create, true),
            (Action::ReadField(FieldClass::Public), true),
            (Action::ReadField(FieldClass::Personal), true),
            (Action::ReadField(FieldClass::Sensitive), true),
            (Action::Update, true),
            (Action::Delete, false),
            (Action::Reveal(FieldClass::Sensitive), false),
        ] {
            let decision = engine.decide(&Principal::Operator, action, &resource, &purpose("export"));
            assert_eq!(decision.allowed, want, "{relation} {action}: {decision:?}");
        }
        assert_eq!(engine.record_view(&Principal::Operator, &resource), (true, FieldClasses::ALL));
    }
    for action in [Action::ManageUsers, Action::ManageKeys, Action::ReadMetrics, Action::ReadAudit] {
        assert!(!engine.decide(&Principal::Operator, action, &Resource::System, &Context::default()).allowed, "{action}");
    }
    // `sejf gdpr` (export, erase, restrict, records of processing) runs as the operator.
    assert!(engine.decide(&Principal::Operator, Action::Gdpr, &Resource::System, &Context::default()).allowed);
    assert!(!engine.decide(&Principal::Operator, Action::SetRole, &Resource::User { id: ME, units: vec![] }, &Context::default()).allowed);
}

#[test]
fn records_are_created_only_into_the_callers_units() {
    let engine = engine();
    let create = |role: Role, resource: &Resource| engine.decide(&user(role), Action::Create, resource, &Context::default()).allowed;
    // Sales: only for themselves, only into one of their units.
    assert!(create(Role::Sales, &record(RecordKind::Person, ME, &["north"], "north")));
    assert!(!create(Role::Sales, &record(RecordKind::Person, ME, &["north"], "south")));
    assert!(!create(Role::Sales, &record(RecordKind::Person, COLLEAGUE, &["north"], "north")));
    // Manager: for a member of the unit the record goes into, which must be the manager's.
    assert!(create(Role::Manager, &record(RecordKind::Deal, COLLEAGUE, &["north", "west"], "north")));
    assert!(!create(Role::Manager, &record(RecordKind::Deal, STRANGER, &["south"], "north")));
    assert!(!create(Role::Manager, &record(RecordKind::Deal, ME, &["north"], "south")));
    assert!(!create(Role::Manager, &record(RecordKind::Deal, STRANGER, &["south"], "south")));
}

#[test]
fn a_purpose_of_blanks_is_no_purpose() {
    let engine = engine();
    let team = related("team", RecordKind::Person);
    let reveal = Action::Reveal(FieldClass::Sensitive);
    assert!(!engine.decide(&user(Role::Sales), reveal, &team, &purpose(" \t ")).allowed);
    assert!(!engine.decide(&user(Role::Sales), reveal, &team, &purpose("")).allowed);
    let allowed = engine.decide(&user(Role::Sales), reveal, &team, &purpose("fraud check, ticket 42"));
    assert!(allowed.allowed);
    assert_eq!(allowed.policies, vec!["sales-reveal-sensitive-with-purpose".to_string()]);
    // Sales may reveal only the sensitive class; the others they read or may not see.
    assert!(!engine.decide(&user(Role::Sales), Action::Reveal(FieldClass::Personal), &team, &purpose("x")).allowed);
}

#[test]
fn separation_of_duties_is_a_forbid_that_names_itself() {
    let engine = engine();
    let team = related("team", RecordKind::Person);
    let admin = engine.decide(&user(Role::Admin), Action::ReadField(FieldClass::Personal), &team, &Context::default());
    assert_eq!(admin.policies, vec!["admin-no-personal-data".to_string()]);
    let auditor = engine.decide(&user(Role::Auditor), Action::Reveal(FieldClass::Sensitive), &team, &purpose("x"));
    assert_eq!(auditor.policies, vec!["auditor-no-personal-data".to_string()]);
    let support = engine.decide(&user(Role::Support), Action::ReadField(FieldClass::Sensitive), &team, &Context::default());
    assert_eq!(support.policies, vec!["need-to-know-sensitive".to_string()]);
    let sales_own = engine.decide(
        &user(Role::Sales),
        Action::ReadField(FieldClass::Sensitive),
        &related("own", RecordKind::Person),
        &Context::default(),
    );
    assert_eq!(sales_own.policies, vec!["need-to-know-sensitive".to_string()], "masked even on their own records");
    // Default deny names nothing.
    let none = engine.decide(&user(Role::Sales), Action::Update, &team, &Context::default());
    assert!(!none.allowed && none.policies.is_empty() && none.errors.is_empty());
}

#[test]
fn a_forbid_added_to_a_custom_set_beats_the_permits() {
    let text = format!(
        "{}\n{}",
        PolicyEngine::DEFAULT_POLICIES,
        r#"
        // Nobody reads sensitive fields of deals' people in unit north for now.
        @id("freeze-north-sensitive")
        forbid (principal, action == Sejf::Action::"read_field", resource is Sejf::Record)
        when { resource.unit == Sejf::Unit::"north" && context.class == Sejf::FieldClass::"sensitive" };
        "#
    );
    let engine = PolicyEngine::from_text(&text).unwrap();
    let own = related("own", RecordKind::Person);
    let before = PolicyEngine::default_set().unwrap().decide(
        &user(Role::Manager),
        Action::ReadField(FieldClass::Sensitive),
        &own,
        &Context::default(),
    );
    assert!(before.allowed);
    let after = engine.decide(&user(Role::Manager), Action::ReadField(FieldClass::Sensitive), &own, &Context::default());
    assert!(!after.allowed);
    assert_eq!(after.policies, vec!["freeze-north-sensitive".to_string()]);
    assert_eq!(engine.record_view(&user(Role::Manager), &own), (true, FieldClasses::from_flags([true, true, false])));
    // Elsewhere the permits still work.
    let south = record(RecordKind::Person, ME, &["north"], "south");
    assert!(engine.decide(&user(Role::Manager), Action::ReadField(FieldClass::Sensitive), &south, &Context::default()).allowed);
}

#[test]
fn who_can_asks_the_engine() {
    let engine = engine();
    let rel = |list: &[&'static str]| list.to_vec();
    assert_eq!(
        engine.who_can(Action::ReadField(FieldClass::Sensitive)),
        vec![(Role::Manager, rel(&["own", "team"])), (Role::Dpo, rel(&["own", "team", "other"]))]
    );
    assert_eq!(
        engine.who_can(Action::Reveal(FieldClass::Sensitive)),
        vec![(Role::Manager, rel(&["own", "team"])), (Role::Sales, rel(&["own", "team"])), (Role::Support, rel(&["own", "team"]))]
    );
    assert_eq!(engine.who_can(Action::ManageUsers), vec![(Role::Admin, rel(&["system"]))]);
    assert_eq!(engine.who_can(Action::SetRole), vec![(Role::Admin, rel(&["other"]))]);
    assert_eq!(engine.who_can(Action::ReadAudit), vec![(Role::Auditor, rel(&["system"])), (Role::Dpo, rel(&["system"]))]);
    assert_eq!(engine.who_can(Action::Gdpr), vec![(Role::Dpo, rel(&["own", "team", "other", "system"]))]);
    assert_eq!(engine.who_can(Action::Delete), vec![(Role::Manager, rel(&["own", "team"])), (Role::Sales, rel(&["own"]))]);
}

#[test]
fn readable_somewhere_is_what_some_record_would_show() {
    let engine = engine();
    assert_eq!(engine.readable_somewhere(&user(Role::Admin)), FieldClasses::from_flags([true, false, false]));
    assert_eq!(engine.readable_somewhere(&user(Role::Auditor)), FieldClasses::from_flags([true, false, false]));
    assert_eq!(
        engine.readable_somewhere(&user(Role::Sales)),
        FieldClasses::from_flags([true, true, false]),
        "PESEL is need-to-know for sales"
    );
    assert_eq!(engine.readable_somewhere(&user(Role::Support)), FieldClasses::from_flags([true, true, false]));
    assert_eq!(engine.readable_somewhere(&user(Role::Manager)), FieldClasses::from_flags([true, true, true]));
    assert_eq!(engine.readable_somewhere(&user(Role::Dpo)), FieldClasses::from_flags([true, true, true]));
    assert_eq!(engine.readable_somewhere(&Principal::Operator), FieldClasses::from_flags([true, true, true]));
    // A manager of no unit still reads their own records.
    let lone = Principal::User { id: ME, role: Role::Manager, units: vec![] };
    assert_eq!(engine.readable_somewhere(&lone), FieldClasses::from_flags([true, true, true]));
}

#[test]
fn malformed_policy_text_is_a_parse_error_with_a_line() {
    let text = "@id(\"ok\")\npermit (principal, action, resource);\n\n@id(\"broken\")\npermit (principal, action resource);\n";
    match PolicyEngine::from_text(text) {
        Err(PolicyError::Parse(message)) => assert!(message.contains("line 5"), "{message}"),
        other => panic!("expected a parse error, got {:?}", other.err()),
    }
}

fn validation_error(text: &str) -> String {
    match PolicyEngine::from_text(text) {
        Err(PolicyError::Validation(message)) => message,
        Err(other) => panic!("expected a validation error, got {other}"),
        Ok(_) => panic!("expected a validation error, the text was accepted"),
    }
}

#[test]
fn policies_are_validated_strictly_against_the_schema() {
    let good = "@id(\"fine\")\npermit (principal in Sejf::Role::\"sales\", action == Sejf::Action::\"read\", resource is Sejf::Record);\n";
    assert!(PolicyEngine::from_text(good).is_ok());

    let unknown_attribute = format!(
        "{good}\n@id(\"colourful\")\npermit (principal, action == Sejf::Action::\"read\", resource is Sejf::Record)\nwhen {{ resource.colour == \"red\" }};\n"
    );
    let message = validation_error(&unknown_attribute);
    assert!(message.contains("colourful") && message.contains("line 6") && message.contains("colour"), "{message}");

    let unknown_action = "@id(\"frob\")\npermit (principal, action == Sejf::Action::\"frobnicate\", resource);";
    let message = validation_error(unknown_action);
    assert!(message.contains("frob") && message.contains("frobnicate") && message.contains("line 2"), "{message}");

    // A misspelt role would make a forbid silently inert; the enum type catches it.
    let misspelt_role = "@id(\"no-sales\")\nforbid (principal in Sejf::Role::\"Sales\", action, resource);";
    assert!(validation_error(misspelt_role).contains("no-sales"));
    let misspelt_class = "@id(\"c\")\nforbid (principal, action == Sejf::Action::\"read_field\", resource) when { context.class == Sejf::FieldClass::\"sensitve\" };";
    assert!(validation_error(misspelt_class).contains("sensitve"));
    // Wrong type of an attribute in a comparison.
    let wrong_type = "@id(\"t\")\npermit (principal is Sejf::User, action == Sejf::Action::\"read\", resource is Sejf::Record) when { resource.owner == \"me\" };";
    assert!(validation_error(wrong_type).contains("`t`"));
    // A policy that can never apply is refused: as a forbid it would fail open.
    let impossible =
        "@id(\"never\")\nforbid (principal is Sejf::Operator, action == Sejf::Action::\"set_role\", resource is Sejf::System);";
    assert!(validation_error(impossible).contains("never"));
}

#[test]
fn every_policy_needs_one_unique_id() {
    let missing = "@id(\"a\")\npermit (principal, action == Sejf::Action::\"read\", resource);\n\npermit (principal, action == Sejf::Action::\"read\", resource);";
    let message = validation_error(missing);
    assert!(message.contains("line 4") && message.contains("@id"), "{message}");
    let duplicate = "@id(\"a\")\npermit (principal, action == Sejf::Action::\"read\", resource);\n@id(\"a\")\nforbid (principal, action == Sejf::Action::\"read\", resource);";
    let message = validation_error(duplicate);
    assert!(message.contains("`a`") && message.contains("line 3") && message.contains("line 1"), "{message}");
    let template = "@id(\"t\")\npermit (principal == ?principal, action == Sejf::Action::\"read\", resource);";
    assert!(validation_error(template).contains("template"));
}

#[test]
fn policy_ids_are_listed_in_file_order() {
    let ids = engine().policy_ids();
    assert_eq!(ids.first().map(String::as_str), Some("no-self-role-change"));
    assert_eq!(ids.last().map(String::as_str), Some("operator-gdpr"));
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    assert!(ids.iter().any(|id| id == "sales-read-own-team"));
}

#[test]
fn load_reads_a_file_and_names_it_in_errors() {
    let dir = std::env::temp_dir().join(format!("sejf-policy-test-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.cedar");
    std::fs::write(&good, PolicyEngine::DEFAULT_POLICIES).unwrap();
    assert_eq!(PolicyEngine::load(&good).unwrap().policy_ids(), engine().policy_ids());
    let bad = dir.join("bad.cedar");
    std::fs::write(&bad, "permit (").unwrap();
    match PolicyEngine::load(&bad) {
        Err(PolicyError::Parse(message)) => assert!(message.contains("bad.cedar"), "{message}"),
        other => panic!("{:?}", other.err()),
    }
    match PolicyEngine::load(&dir.join("missing.cedar")) {
        Err(PolicyError::Io(message)) => assert!(message.contains("missing.cedar"), "{message}"),
        other => panic!("{:?}", other.err()),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_question_the_schema_does_not_allow_is_denied_with_a_reason() {
    let engine = engine();
    let decision = engine.decide(&user(Role::Admin), Action::ManageKeys, &related("own", RecordKind::Person), &Context::default());
    assert!(!decision.allowed);
    assert_eq!(decision.errors.len(), 1, "{decision:?}");
    assert_eq!(engine.record_view(&user(Role::Dpo), &Resource::System), (false, FieldClasses::NONE));
}

#[test]
fn an_evaluation_error_never_allows() {
    // The condition overflows a 64-bit integer: an evaluation error, which must deny.
    let text = "@id(\"needs-units\")\npermit (principal, action == Sejf::Action::\"set_role\", resource is Sejf::User) when { resource.units.isEmpty() && 9223372036854775807 + 1 > 0 };";
    let engine = PolicyEngine::from_text(text).unwrap();
    let decision = engine.decide(&user(Role::Admin), Action::SetRole, &Resource::User { id: STRANGER, units: vec![] }, &Context::default());
    assert!(!decision.allowed);
    assert_eq!(decision.errors.len(), 1);
    assert!(decision.errors[0].contains("needs-units"), "{decision:?}");
}

#[test]
fn action_names_round_trip_for_the_cli() {
    for action in Action::ALL {
        assert_eq!(action.to_string().parse::<Action>(), Ok(action));
    }
    assert_eq!("read_field:sensitive".parse::<Action>(), Ok(Action::ReadField(FieldClass::Sensitive)));
    assert_eq!("reveal:personal".parse::<Action>(), Ok(Action::Reveal(FieldClass::Personal)));
    assert_eq!(Action::ReadField(FieldClass::Public).name(), "read_field");
    for bad in ["read_field", "reveal:secret", "read:public", "frobnicate", ""] {
        assert!(bad.parse::<Action>().is_err(), "{bad}");
    }
    assert_eq!("personal".parse::<FieldClass>(), Ok(FieldClass::Personal));
    assert_eq!(FieldClass::Sensitive.as_str(), "sensitive");
}

#[test]
fn a_bulk_export_is_approved_by_a_second_person_only() {
    let engine = engine();
    let requester = |id: Uuid, unit: &str| Resource::User { id, units: units(&[unit]) };
    let approves = |role: Role, target: &Resource| engine.decide(&user(role), Action::ApproveExport, target, &Context::default()).allowed;
    // role, colleague in north, stranger in south, themselves
    let expected = [
        (Role::Admin, false, false, false),
        (Role::Manager, true, false, false),
        (Role::Sales, false, false, false),
        (Role::Support, false, false, false),
        (Role::Auditor, false, false, false),
        (Role::Dpo, true, true, false),
    ];
    for (role, colleague, stranger, themselves) in expected {
        assert_eq!(approves(role, &requester(COLLEAGUE, "north")), colleague, "{role:?} for a colleague");
        assert_eq!(approves(role, &requester(STRANGER, "south")), stranger, "{role:?} for a stranger");
        assert_eq!(approves(role, &requester(ME, "north")), themselves, "{role:?} for themselves");
    }
    let own = engine.decide(&user(Role::Dpo), Action::ApproveExport, &requester(ME, "north"), &Context::default());
    assert!(own.policies.contains(&"no-self-approval".to_string()), "{own:?}");
    // The approver answers for every unit the export covers.
    let covering = |role: Role, my_units: &[&str], covered: &[&str]| {
        let me = Principal::User { id: ME, role, units: units(my_units) };
        let context = Context { units: units(covered), ..Context::default() };
        engine.decide(&me, Action::ApproveExport, &Resource::User { id: COLLEAGUE, units: units(&["north", "south"]) }, &context).allowed
    };
    assert!(covering(Role::Manager, &["north"], &["north"]));
    assert!(!covering(Role::Manager, &["north"], &["north", "south"]), "a manager of north alone may not release south's records");
    assert!(covering(Role::Manager, &["north", "south"], &["north", "south"]));
    assert!(covering(Role::Dpo, &["main"], &["north", "south", "west"]));
}
