//! The policy engine: a validated Cedar policy set and everything needed to ask it questions
//! cheaply.
//!
//! Invariants:
//! - nothing is parsed per call: action, role, class, kind and singleton uids and the three
//!   `read_field` contexts are built once, in [`PolicyEngine::from_text`];
//! - per call the engine builds a tiny entity store of two or three entities (the caller, the
//!   record, the record's owner when that is someone else) with no hierarchy beyond the caller's
//!   role, and asks only the slice of the policy set whose scope can match (`slice` module);
//! - `record_view` answers a question whose shape it has seen from its memo (`memo` module);
//!   both shortcuts are proven to change no answer, and tests compare them with plain Cedar;
//! - a question the schema does not allow (an action on the wrong kind of resource), or an
//!   entity that cannot be built, is answered "deny" with the reason in `Decision::errors`;
//!   nothing in here panics or allows on an error.

use cedar_policy::{
    Authorizer, Context as CedarContext, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet,
    Request, Response, RestrictedExpression,
};
use sejf_domain::roles::Role;
use uuid::Uuid;

use crate::PolicyError;
use crate::load;
use crate::memo::{Answers, Memo};
use crate::model::{ACTION_IDS, Action, Context, Decision, FieldClass, FieldClasses, Principal, RecordKind, Resource};
use crate::slice::{Caller, Names, Slices};

/// Decides authorisation questions against one validated policy set. Cheap to share: it is
/// `Send + Sync` and every method takes `&self`.
pub struct PolicyEngine {
    policies: PolicySet,
    /// `policies` sliced by (caller kind, action); what questions are actually asked of.
    slices: Slices,
    /// Remembered `record_view` answers by shape of question.
    pub(crate) memo: Memo,
    /// Policy `@id`s in source order.
    ids: Vec<String>,
    authorizer: Authorizer,
    pub(crate) uids: Uids,
    /// `{ class: FieldClass::"…" }` for each class, in `FieldClass::index` order.
    field_contexts: [CedarContext; 3],
}

impl PolicyEngine {
    /// The policy set shipped in the binary.
    pub const DEFAULT_POLICIES: &'static str = include_str!("../../../policies/default.cedar");
    /// The schema every policy set is validated against.
    pub const SCHEMA: &'static str = include_str!("../../../policies/sejf.cedarschema");

    /// Parses `policies` and validates them against [`Self::SCHEMA`] in strict mode. Errors
    /// name the line and, once known, the policy's `@id`.
    pub fn from_text(policies: &str) -> Result<Self, PolicyError> {
        let schema = load::schema(Self::SCHEMA)?;
        // Action groups would need the schema's action entities in every per-call entity
        // store, and would break the slicing; the schema has none, and must keep it so.
        if schema.action_groups().next().is_some() {
            return Err(PolicyError::Validation("the schema declares action groups, which this engine does not support".into()));
        }
        let loaded = load::policies(policies, &schema)?;
        let uids = Uids::new()?;
        let slices = uids.slices(&loaded.set)?;
        let memo = Memo::new(&loaded.set);
        let [public, personal, sensitive] = FieldClass::ALL.map(|c| uids.field_context(c));
        Ok(PolicyEngine {
            policies: loaded.set,
            slices,
            memo,
            ids: loaded.ids,
            authorizer: Authorizer::new(),
            field_contexts: [public?, personal?, sensitive?],
            uids,
        })
    }

    /// The engine over [`Self::DEFAULT_POLICIES`].
    pub fn default_set() -> Result<Self, PolicyError> {
        Self::from_text(Self::DEFAULT_POLICIES)
    }

    /// Reads a policy file and builds an engine from it; errors are prefixed with the path.
    pub fn load(path: &std::path::Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Io(format!("{}: {e}", path.display())))?;
        Self::from_text(&text).map_err(|e| match e {
            PolicyError::Parse(m) => PolicyError::Parse(format!("{}: {m}", path.display())),
            PolicyError::Validation(m) => PolicyError::Validation(format!("{}: {m}", path.display())),
            PolicyError::Io(m) => PolicyError::Io(m),
        })
    }

    /// May `principal` do `action` to `resource`? Deny unless a permit applies and no forbid
    /// does.
    pub fn decide(&self, principal: &Principal, action: Action, resource: &Resource, context: &Context) -> Decision {
        self.decide_in(Scope::Slice, principal, action, resource, context)
    }

    /// `read` and `read_field` for every class of one record:
    /// `(may_read_record, [public, personal, sensitive])`. When the record may not be read the
    /// classes are all false without asking: a field of a record one cannot see is moot, and
    /// the caller answers 404 anyway. Errors deny. Answers are remembered per shape of the
    /// question (see the `memo` module), so the second record with the same relation to the
    /// caller costs a hash lookup instead of four Cedar evaluations.
    pub fn record_view(&self, principal: &Principal, resource: &Resource) -> (bool, FieldClasses) {
        self.answers(principal, resource).view
    }

    /// May `principal` do `action` to `resource` without context? The same answer as
    /// [`Self::decide`] with the default context (a test holds them together). For `read`,
    /// `create`, `update` and `delete` on a record it comes from the memo of
    /// [`Self::record_view`]: a hash lookup instead of building the question's entities and
    /// asking Cedar, for the decisions Sejf takes on every request and every imported row.
    pub fn may(&self, principal: &Principal, action: Action, resource: &Resource) -> bool {
        if matches!(resource, Resource::Record { .. }) {
            if action == Action::Read {
                return self.answers(principal, resource).view.0;
            }
            if let Some(i) = crate::memo::WRITES.iter().position(|a| *a == action) {
                return self.answers(principal, resource).writes[i];
            }
        }
        self.decide(principal, action, resource, &Context::default()).allowed
    }

    /// The memo's answers for a record, asked of Cedar the first time their shape is seen.
    fn answers(&self, principal: &Principal, resource: &Resource) -> Answers {
        let shape = self.memo.shape(caller_row(principal), principal, resource);
        if let Some(answers) = shape.as_ref().and_then(|s| self.memo.get(s)) {
            return answers;
        }
        let answers = self.answers_uncached(principal, resource);
        if let Some(shape) = shape {
            self.memo.put(shape, answers);
        }
        answers
    }

    /// [`Self::record_view`] without the memo: always asks Cedar. For benchmarks and for tests
    /// that hold the memo to the same answers.
    #[doc(hidden)]
    pub fn record_view_uncached(&self, principal: &Principal, resource: &Resource) -> (bool, FieldClasses) {
        self.answers_uncached(principal, resource).view
    }

    fn answers_uncached(&self, principal: &Principal, resource: &Resource) -> Answers {
        const NONE: Answers = Answers { view: (false, FieldClasses::NONE), writes: [false; 3] };
        let Ok(question) = self.question(principal, resource) else {
            return NONE;
        };
        if !matches!(resource, Resource::Record { .. }) {
            return NONE;
        }
        let writes = crate::memo::WRITES.map(|action| self.allows(&question, action, CedarContext::empty()));
        if !self.allows(&question, Action::Read, CedarContext::empty()) {
            return Answers { view: (false, FieldClasses::NONE), writes };
        }
        let classes =
            FieldClass::ALL.map(|class| self.allows(&question, Action::ReadField(class), self.field_contexts[class.index()].clone()));
        Answers { view: (true, FieldClasses::from_flags(classes)), writes }
    }

    /// Roles that can do `action`, found by asking the engine (not by reading the policies):
    /// a representative user of each role, in one unit, against a record they own, a record of
    /// a colleague in their unit, and a record of a stranger in another unit (`own`, `team`,
    /// `other`); or against `system`; or, for `set_role`, against themselves (`self`) and
    /// another user (`other`). Records are people, the only kind with every field class. For
    /// `reveal` a relation counts when it is allowed with or without a stated purpose.
    /// Roles come in `Role::ALL` order; roles that can do nothing are left out.
    pub fn who_can(&self, action: Action) -> Vec<(Role, Vec<&'static str>)> {
        const ME: Uuid = Uuid::from_u128(1);
        const COLLEAGUE: Uuid = Uuid::from_u128(2);
        const STRANGER: Uuid = Uuid::from_u128(3);
        let home = || vec!["who-can-home".to_string()];
        let away = || vec!["who-can-away".to_string()];
        let record = |id: u128, owner: Uuid, units: Vec<String>| Resource::Record {
            kind: RecordKind::Person,
            id: Uuid::from_u128(id),
            owner,
            unit: units.first().cloned().unwrap_or_default(),
            owner_units: units,
        };
        let targets: [(&'static str, Resource); 6] = [
            ("own", record(11, ME, home())),
            ("team", record(12, COLLEAGUE, home())),
            ("other", record(13, STRANGER, away())),
            ("system", Resource::System),
            ("self", Resource::User { id: ME, units: home() }),
            ("other", Resource::User { id: COLLEAGUE, units: home() }),
        ];
        let contexts = match action {
            Action::Reveal(_) => vec![Context::default(), Context { purpose: Some("who-can".to_string()), ..Context::default() }],
            _ => vec![Context::default()],
        };
        Role::ALL
            .into_iter()
            .filter_map(|role| {
                let principal = Principal::User { id: ME, role, units: home() };
                let relations: Vec<&'static str> = targets
                    .iter()
                    .filter(|(_, resource)| action.applies_to(resource))
                    .filter(|(_, resource)| contexts.iter().any(|c| self.decide(&principal, action, resource, c).allowed))
                    .map(|(relation, _)| *relation)
                    .collect();
                (!relations.is_empty()).then_some((role, relations))
            })
            .collect()
    }

    /// Which field classes `principal` can read on some person record: their own, a
    /// colleague's in one of their units, or a stranger's in another unit (the relations
    /// [`Self::who_can`] asks about), in `FieldClass::ALL` order. A search on a field of a class
    /// none of them shows can be answered "nothing" without looking at a single candidate.
    pub fn readable_somewhere(&self, principal: &Principal) -> FieldClasses {
        const COLLEAGUE: Uuid = Uuid::from_u128(2);
        const STRANGER: Uuid = Uuid::from_u128(3);
        let (me, units) = match principal {
            Principal::User { id, units, .. } => (*id, units.clone()),
            Principal::Operator => (STRANGER, Vec::new()),
        };
        let person = |owner: Uuid, unit: &str| Resource::Record {
            kind: RecordKind::Person,
            id: Uuid::from_u128(11),
            owner,
            owner_units: vec![unit.to_string()],
            unit: unit.to_string(),
        };
        // "~" is never a unit slug, so this record is in no unit of the caller's.
        let mut records = vec![person(me, "~"), person(STRANGER, "~")];
        for unit in &units {
            records.push(person(me, unit));
            records.push(person(COLLEAGUE, unit));
        }
        records.iter().map(|r| self.record_view(principal, r).1).fold(FieldClasses::NONE, |acc, c| acc | c)
    }

    /// The `@id`s of the policies, in the order they appear in the text.
    pub fn policy_ids(&self) -> Vec<String> {
        self.ids.clone()
    }

    pub(crate) fn decide_in(
        &self,
        scope: Scope,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        context: &Context,
    ) -> Decision {
        if !action.applies_to(resource) {
            return Decision::refused(format!("action `{action}` does not apply to {}", resource_kind(resource)));
        }
        let question = match self.question(principal, resource) {
            Ok(q) => q,
            Err(e) => return Decision::refused(e),
        };
        let context = match self.context(action, context) {
            Ok(c) => c,
            Err(e) => return Decision::refused(e),
        };
        match self.ask(scope, &question, action, context) {
            Ok(response) => decision(&response),
            Err(e) => Decision::refused(e),
        }
    }

    fn allows(&self, question: &Question, action: Action, context: CedarContext) -> bool {
        self.ask(Scope::Slice, question, action, context).is_ok_and(|r| r.decision() == CedarDecision::Allow)
    }

    fn ask(&self, scope: Scope, question: &Question, action: Action, context: CedarContext) -> Result<Response, String> {
        // No schema here: `applies_to` and the typed constructors already guarantee what
        // request validation would check (a unit test holds them to it), and validating would
        // cost more than the decision itself.
        let request =
            Request::new(question.principal.clone(), self.uids.actions[action.index()].clone(), question.resource.clone(), context, None)
                .map_err(|e| e.to_string())?;
        let policies = match scope {
            Scope::Slice => self.slices.get(question.caller, action.index()).unwrap_or(&self.policies),
            Scope::Whole => &self.policies,
        };
        Ok(self.authorizer.is_authorized(&request, policies, &question.entities))
    }

    fn question(&self, principal: &Principal, resource: &Resource) -> Result<Question, String> {
        let parts = self.parts(principal, resource)?;
        let entities = Entities::from_entities(parts.entities, None).map_err(|e| e.to_string())?;
        Ok(Question { caller: parts.caller, principal: parts.principal, resource: parts.resource, entities })
    }

    /// The uids of a question and the entities Cedar may look up for it.
    pub(crate) fn parts(&self, principal: &Principal, resource: &Resource) -> Result<Parts, String> {
        let mut entities: Vec<Entity> = Vec::with_capacity(3);
        let (caller, principal_uid, principal_user) = match principal {
            Principal::User { id, role, units } => {
                let uid = self.uids.user(*id);
                entities.push(self.user_entity(uid.clone(), units, Some(*role))?);
                (caller_row(principal), uid, Some(*id))
            }
            Principal::Operator => (caller_row(principal), self.uids.operator.clone(), None),
        };
        let resource_uid = match resource {
            Resource::Record { kind, id, owner, owner_units, unit } => {
                let uid = EntityUid::from_type_name_and_id(self.uids.record.clone(), uuid_id(*id));
                let owner_uid = self.uids.user(*owner);
                // The caller's own entity already stands for the owner when they are the
                // same user; a second entity with the same uid would be rejected.
                if principal_user != Some(*owner) {
                    entities.push(self.user_entity(owner_uid.clone(), owner_units, None)?);
                }
                let attrs = [
                    ("owner".to_string(), RestrictedExpression::new_entity_uid(owner_uid)),
                    ("unit".to_string(), RestrictedExpression::new_entity_uid(self.uids.unit(unit))),
                    ("kind".to_string(), RestrictedExpression::new_entity_uid(self.uids.kinds[kind.index()].clone())),
                ];
                entities.push(Entity::new_with_tags(uid.clone(), attrs, [], []).map_err(|e| e.to_string())?);
                uid
            }
            // The target user's units are known, their role is not (no parent): a policy that
            // asks for it is false.
            Resource::User { id, units } => {
                let uid = self.uids.user(*id);
                if principal_user != Some(*id) {
                    entities.push(self.user_entity(uid.clone(), units, None)?);
                }
                uid
            }
            Resource::System => self.uids.system.clone(),
        };
        Ok(Parts { caller, principal: principal_uid, resource: resource_uid, entities })
    }

    /// A user entity. The owner of someone else's record gets no role parent: the caller does
    /// not tell the engine their role.
    fn user_entity(&self, uid: EntityUid, units: &[String], role: Option<Role>) -> Result<Entity, String> {
        let units = RestrictedExpression::new_set(units.iter().map(|u| RestrictedExpression::new_entity_uid(self.uids.unit(u))));
        let parents = role.map(|r| self.uids.roles[role_index(r)].clone());
        Entity::new_with_tags(uid, [("units".to_string(), units)], parents, []).map_err(|e| e.to_string())
    }

    pub(crate) fn context(&self, action: Action, context: &Context) -> Result<CedarContext, String> {
        match action {
            Action::ReadField(class) => Ok(self.field_contexts[class.index()].clone()),
            Action::Reveal(class) => {
                // Trimmed so that a purpose of blanks counts as none: policies test `!= ""`.
                let purpose = context.purpose.as_deref().map_or("", str::trim);
                CedarContext::from_pairs([
                    ("class".to_string(), RestrictedExpression::new_entity_uid(self.uids.classes[class.index()].clone())),
                    ("purpose".to_string(), RestrictedExpression::new_string(purpose.to_string())),
                ])
                .map_err(|e| e.to_string())
            }
            Action::ApproveExport => {
                let units =
                    RestrictedExpression::new_set(context.units.iter().map(|u| RestrictedExpression::new_entity_uid(self.uids.unit(u))));
                CedarContext::from_pairs([("units".to_string(), units)]).map_err(|e| e.to_string())
            }
            _ => Ok(CedarContext::empty()),
        }
    }
}

/// Pre-built Cedar names, indexed by the `index()` of the matching Rust enum.
pub(crate) struct Uids {
    user: EntityTypeName,
    unit: EntityTypeName,
    record: EntityTypeName,
    pub(crate) actions: [EntityUid; 13],
    roles: [EntityUid; 6],
    classes: [EntityUid; 3],
    kinds: [EntityUid; 4],
    operator: EntityUid,
    system: EntityUid,
}

/// Which policies a question is asked of: the slice for its caller and action, or (to check
/// that slicing changes nothing) the whole set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Slice,
    #[cfg_attr(not(test), expect(dead_code, reason = "only the tests ask the whole set, to compare"))]
    Whole,
}

/// A question's uids and entities before they become a Cedar entity store.
pub(crate) struct Parts {
    pub(crate) caller: usize,
    pub(crate) principal: EntityUid,
    pub(crate) resource: EntityUid,
    pub(crate) entities: Vec<Entity>,
}

/// The per-call part of a question: who, about what, and the entities Cedar may look up.
struct Question {
    /// Row of `slices`: see `caller_row`.
    caller: usize,
    principal: EntityUid,
    resource: EntityUid,
    entities: Entities,
}

impl Uids {
    fn new() -> Result<Self, PolicyError> {
        let ty = |name: &str| name.parse::<EntityTypeName>().map_err(|e| PolicyError::Validation(format!("entity type `{name}`: {e}")));
        let action = ty("Sejf::Action")?;
        let role = ty("Sejf::Role")?;
        let class = ty("Sejf::FieldClass")?;
        let kind = ty("Sejf::RecordKind")?;
        let named = |ty: &EntityTypeName, id: &str| EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id));
        Ok(Uids {
            actions: ACTION_IDS.map(|a| named(&action, a)),
            roles: Role::ALL.map(|r| named(&role, r.as_str())),
            classes: FieldClass::ALL.map(|c| named(&class, c.as_str())),
            kinds: RecordKind::ALL.map(|k| named(&kind, k.singular())),
            operator: named(&ty("Sejf::Operator")?, "cli"),
            system: named(&ty("Sejf::System")?, "sejf"),
            user: ty("Sejf::User")?,
            unit: ty("Sejf::Unit")?,
            record: ty("Sejf::Record")?,
        })
    }

    /// Slices of `set` for each role (rows in `role_index` order) and then the operator.
    fn slices(&self, set: &PolicySet) -> Result<Slices, PolicyError> {
        let role_type = self.roles[0].type_name();
        let names = Names { user: &self.user, role: role_type, operator: &self.operator };
        let mut callers: Vec<Caller<'_>> = self.roles.iter().map(|role| Caller::User { role }).collect();
        callers.push(Caller::Operator);
        Slices::new(set, &callers, &self.actions, &names)
    }

    fn user(&self, id: Uuid) -> EntityUid {
        EntityUid::from_type_name_and_id(self.user.clone(), uuid_id(id))
    }

    fn unit(&self, slug: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(self.unit.clone(), EntityId::new(slug))
    }

    fn field_context(&self, class: FieldClass) -> Result<CedarContext, PolicyError> {
        CedarContext::from_pairs([("class".to_string(), RestrictedExpression::new_entity_uid(self.classes[class.index()].clone()))])
            .map_err(|e| PolicyError::Validation(format!("read_field context: {e}")))
    }
}

fn uuid_id(id: Uuid) -> EntityId {
    let mut buf = Uuid::encode_buffer();
    EntityId::new(id.hyphenated().encode_lower(&mut buf))
}

/// The caller's row in the slices (and part of a memo shape): the role's index for a user,
/// after the six roles for the operator.
fn caller_row(principal: &Principal) -> usize {
    match principal {
        Principal::User { role, .. } => role_index(*role),
        Principal::Operator => 6,
    }
}

/// Position of `role` in `Role::ALL`, the order of `Uids::roles` and of the slices' rows.
pub(crate) fn role_index(role: Role) -> usize {
    match role {
        Role::Admin => 0,
        Role::Manager => 1,
        Role::Sales => 2,
        Role::Support => 3,
        Role::Auditor => 4,
        Role::Dpo => 5,
    }
}

fn resource_kind(resource: &Resource) -> &'static str {
    match resource {
        Resource::Record { .. } => "a record",
        Resource::User { .. } => "a user",
        Resource::System => "the system",
    }
}

fn decision(response: &Response) -> Decision {
    let mut policies: Vec<String> = response.diagnostics().reason().map(ToString::to_string).collect();
    policies.sort();
    let errors = response.diagnostics().errors().map(ToString::to_string).collect();
    Decision { allowed: response.decision() == CedarDecision::Allow, policies, errors }
}
