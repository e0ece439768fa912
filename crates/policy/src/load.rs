//! From policy text to a policy set the engine may use: parsed, every policy renamed to its
//! `@id`, and validated against the embedded schema in strict mode.
//!
//! Invariants of a [`Loaded`] set:
//! - it holds static policies only (templates would need links that nobody manages);
//! - every policy has a unique, non-empty `@id`, and that `@id` is its Cedar policy id, so
//!   the reasons and errors Cedar reports already carry the readable name;
//! - strict validation passed with neither errors nor warnings. Warnings are refused too,
//!   because the typical one ("this policy can never apply") turns a `forbid` into a no-op,
//!   which for an access-control rule means failing open.
//!
//! Every error names a line (and, once the policy is known, its `@id`), because the people who
//! read these errors are editing a file.

use std::fmt::Write as _;
use std::str::FromStr;

use cedar_policy::{Policy, PolicyId, PolicySet, Schema, ValidationMode, Validator};
use miette::Diagnostic;

use crate::PolicyError;

/// A validated policy set, with its policy ids in source order.
pub(crate) struct Loaded {
    pub(crate) set: PolicySet,
    pub(crate) ids: Vec<String>,
}

/// Parses the embedded schema. It is part of the binary, so a failure is a build defect; it is
/// still reported as an error rather than a panic because the lints (rightly) forbid panics.
pub(crate) fn schema(text: &str) -> Result<Schema, PolicyError> {
    let (schema, warnings) =
        Schema::from_cedarschema_str(text).map_err(|e| PolicyError::Validation(format!("schema: {}", render(text, &e))))?;
    let warnings: Vec<String> = warnings.map(|w| w.to_string()).collect();
    if !warnings.is_empty() {
        return Err(PolicyError::Validation(format!("schema: {}", warnings.join("; "))));
    }
    Ok(schema)
}

pub(crate) fn policies(text: &str, schema: &Schema) -> Result<Loaded, PolicyError> {
    let parsed = PolicySet::from_str(text).map_err(|errors| {
        let all: Vec<String> = errors.iter().map(|e| render(text, e)).collect();
        PolicyError::Parse(all.join("; "))
    })?;
    if let Some(template) = parsed.templates().next() {
        let line = locate(text, 0, &template.to_cedar()).map_or(String::new(), |(line, _)| format!(" at line {line}"));
        return Err(PolicyError::Validation(format!(
            "the policy{line} is a template (it uses ?principal or ?resource); only static policies are supported"
        )));
    }

    // Cedar names parsed policies policy0, policy1, … in source order; sort by that number so
    // each policy's text can be found after the previous one's, which gives its line even when
    // two policies are written identically.
    let mut ordered: Vec<(usize, &Policy)> = parsed
        .policies()
        .map(|p| (p.id().to_string().strip_prefix("policy").and_then(|n| n.parse().ok()).unwrap_or(usize::MAX), p))
        .collect();
    ordered.sort_by_key(|(n, _)| *n);

    let mut renamed = Vec::with_capacity(ordered.len());
    let mut ids: Vec<(String, usize)> = Vec::with_capacity(ordered.len());
    let mut from = 0;
    for (_, policy) in ordered {
        let (line, end) = policy.to_cedar().and_then(|t| locate(text, from, &t)).unwrap_or((0, from));
        from = end;
        let id = match policy.annotation("id").map(str::trim) {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => {
                return Err(PolicyError::Validation(format!(
                    "the policy at line {line} has no @id(\"…\") annotation; every policy needs a unique one so decisions can name it"
                )));
            }
        };
        if let Some((_, first)) = ids.iter().find(|(seen, _)| *seen == id) {
            return Err(PolicyError::Validation(format!(
                "policy `{id}` at line {line}: the @id is already used by the policy at line {first}"
            )));
        }
        renamed.push(policy.new_id(PolicyId::new(&id)));
        ids.push((id, line));
    }
    let set = PolicySet::from_policies(renamed).map_err(|e| PolicyError::Validation(e.to_string()))?;

    let result = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
    let mut problems: Vec<String> = Vec::new();
    for error in result.validation_errors() {
        problems.push(about_policy(error.policy_id(), &render(text, error)));
    }
    for warning in result.validation_warnings() {
        problems.push(about_policy(warning.policy_id(), &render(text, warning)));
    }
    if !problems.is_empty() {
        return Err(PolicyError::Validation(problems.join("; ")));
    }
    Ok(Loaded { set, ids: ids.into_iter().map(|(id, _)| id).collect() })
}

/// `policy `ID` at line L, …`; Cedar's own "for policy `ID`," (or ":") is dropped as repetition.
fn about_policy(id: &PolicyId, rendered: &str) -> String {
    let rendered = rendered.replacen(&format!("for policy `{id}`, "), "", 1).replacen(&format!("for policy `{id}`: "), "", 1);
    format!("policy `{id}` {rendered}")
}

/// `line L, column C: message (help)`, from the diagnostic's first labelled span.
fn render(text: &str, diagnostic: &dyn Diagnostic) -> String {
    let mut out = String::new();
    if let Some(span) = diagnostic.labels().and_then(|mut labels| labels.next()) {
        let (line, column) = line_col(text, span.offset());
        let _ = write!(out, "at line {line}, column {column}: ");
    }
    let _ = write!(out, "{diagnostic}");
    if let Some(help) = diagnostic.help() {
        let _ = write!(out, " ({help})");
    }
    out
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Line of `needle` in `text` at or after byte `from`, and the byte just past it.
fn locate(text: &str, from: usize, needle: &str) -> Option<(usize, usize)> {
    let start = from + text.get(from..)?.find(needle)?;
    Some((line_col(text, start).0, start + needle.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(locate("x\ny\nx", 1, "x"), Some((3, 5)));
    }
}
