//! A memo of a record's decisions (`record_view`'s answer, and `create`, `update` and
//! `delete`), keyed by the *shape* of the question rather than its names.
//!
//! Why: Cedar needs about 25–30 µs on our 2-core machines for the four questions of one
//! `record_view` (building the entity store and its transitive closure, then four evaluations),
//! and a list of records asks it for every row; a write asks it once more per record. A new
//! shape is asked all seven questions at once, on one entity store. But the answer almost
//! never depends on which
//! user, record or unit it is, only on how they relate: is the caller the owner, is the record
//! in one of the caller's units, and so on. So the engine remembers answers per shape.
//!
//! Why it is sound: Cedar policies cannot look at the text of an entity id. All they can do
//! with entities is compare them (`==`, `in`, `contains…`), test their type (`is`), and read
//! their attributes and ancestors. So if two questions differ only by a one-to-one renaming of
//! ids, and the renaming leaves alone every id that a policy names literally, Cedar gives both
//! the same decision. The [`Shape`] replaces each id that no policy mentions by the number of
//! its first appearance in the question (so equal ids get equal numbers and different ids
//! different ones), and keeps every other id verbatim. Two questions with the same shape are
//! therefore renamings of each other, and share one answer. Ids that policies mention are found
//! by collecting every string in the policies' JSON form, which over-approximates: at worst a
//! unit whose slug happens to equal, say, an attribute name is kept verbatim and shares less.
//!
//! Invariants: the memo belongs to one engine and its immutable policy set; it holds at most
//! [`MAX_SHAPES`] answers (after that, new shapes are computed every time, so a flood of odd
//! shapes costs speed, never memory or correctness); a poisoned lock only turns the memo off.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use cedar_policy::PolicySet;

use crate::model::{Principal, Resource};

/// Everything the memo answers for one shape: `record_view`'s answer, and the decisions on
/// `create`, `update` and `delete`, which, like `read`, take no context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answers {
    pub(crate) view: (bool, crate::model::FieldClasses),
    /// `create`, `update`, `delete`, in [`WRITES`] order.
    pub(crate) writes: [bool; 3],
}

/// The record actions besides `read` that the memo answers.
pub(crate) const WRITES: [crate::model::Action; 3] =
    [crate::model::Action::Create, crate::model::Action::Update, crate::model::Action::Delete];

/// Upper bound on remembered shapes. A deployment has a handful of roles, units per user and
/// relations, so real traffic needs far fewer.
pub(crate) const MAX_SHAPES: usize = 4096;

pub(crate) struct Memo {
    /// Every string in the policy set; `None` when the policies could not be rendered as JSON,
    /// which turns the memo off.
    literals: Option<HashSet<String>>,
    answers: RwLock<HashMap<Shape, Answers>>,
}

/// A question with every id that no policy names replaced by its first-appearance number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Shape {
    /// `role_index` of the caller, or the operator's row.
    caller: usize,
    kind: usize,
    /// Caller, record, owner, then the caller's units, the record's unit, the owner's units,
    /// with separators between the lists.
    names: Vec<Name>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Name {
    /// An id no policy mentions, numbered by first appearance among ids of its type.
    Var(usize),
    /// An id some policy may mention, kept as it is.
    Lit(Box<str>),
    /// The operator (which has one fixed id).
    Operator,
    /// End of a list.
    End,
}

impl Memo {
    pub(crate) fn new(policies: &PolicySet) -> Self {
        let literals = policies.policies().map(|p| p.to_json().ok()).try_fold(HashSet::new(), |mut all, json| {
            collect_strings(&json?, &mut all);
            Some(all)
        });
        Memo { literals, answers: RwLock::new(HashMap::new()) }
    }

    /// The shape of a `record_view` question; `None` when the memo is off or the resource is
    /// not a record.
    pub(crate) fn shape(&self, caller: usize, principal: &Principal, resource: &Resource) -> Option<Shape> {
        let literals = self.literals.as_ref()?;
        let Resource::Record { kind, id, owner, owner_units, unit } = resource else {
            return None;
        };
        let mut namer = Namer { literals, users: HashMap::new(), units: HashMap::new(), records: HashMap::new() };
        let mut names = Vec::with_capacity(8 + owner_units.len());
        let (mut id_buf, mut owner_buf) = (uuid::Uuid::encode_buffer(), uuid::Uuid::encode_buffer());
        let mut caller_buf = uuid::Uuid::encode_buffer();
        let principal_units: &[String] = match principal {
            Principal::User { id, units, .. } => {
                names.push(namer.user(id.hyphenated().encode_lower(&mut caller_buf)));
                units
            }
            Principal::Operator => {
                names.push(Name::Operator);
                &[]
            }
        };
        names.push(namer.record(id.hyphenated().encode_lower(&mut id_buf)));
        names.push(namer.user(owner.hyphenated().encode_lower(&mut owner_buf)));
        names.push(Name::End);
        names.extend(principal_units.iter().map(|u| namer.unit(u)));
        names.push(Name::End);
        names.push(namer.unit(unit));
        names.push(Name::End);
        names.extend(owner_units.iter().map(|u| namer.unit(u)));
        Some(Shape { caller, kind: kind.index(), names })
    }

    pub(crate) fn get(&self, shape: &Shape) -> Option<Answers> {
        self.answers.read().ok()?.get(shape).copied()
    }

    pub(crate) fn put(&self, shape: Shape, answers: Answers) {
        if let Ok(mut all) = self.answers.write()
            && all.len() < MAX_SHAPES
        {
            all.insert(shape, answers);
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.answers.read().map_or(0, |v| v.len())
    }
}

/// Numbers ids by first appearance, one sequence per entity type (ids of different types are
/// different entities even when their text is equal).
struct Namer<'a> {
    literals: &'a HashSet<String>,
    users: HashMap<String, usize>,
    units: HashMap<String, usize>,
    records: HashMap<String, usize>,
}

impl Namer<'_> {
    fn user(&mut self, id: &str) -> Name {
        Self::name(self.literals, &mut self.users, id)
    }

    fn unit(&mut self, id: &str) -> Name {
        Self::name(self.literals, &mut self.units, id)
    }

    fn record(&mut self, id: &str) -> Name {
        Self::name(self.literals, &mut self.records, id)
    }

    fn name(literals: &HashSet<String>, seen: &mut HashMap<String, usize>, id: &str) -> Name {
        if literals.contains(id) {
            return Name::Lit(id.into());
        }
        let next = seen.len();
        Name::Var(*seen.entry(id.to_string()).or_insert(next))
    }
}

fn collect_strings(json: &serde_json::Value, into: &mut HashSet<String>) {
    match json {
        serde_json::Value::String(s) => {
            into.insert(s.clone());
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, into)),
        serde_json::Value::Object(fields) => fields.iter().for_each(|(k, v)| {
            into.insert(k.clone());
            collect_strings(v, into);
        }),
        serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => {}
    }
}
