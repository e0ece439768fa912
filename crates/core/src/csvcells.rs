//! The CSV shape of people, shared by `sejf import`/`sejf export` and the HTTP export download:
//! the columns, and the neutralisation of cells a spreadsheet would run as formulas.

use sejf_domain::people::PersonRaw;

/// The columns of a people CSV file, in order.
pub const COLUMNS: [&str; 12] =
    ["first_name", "last_name", "email", "phone", "national_id", "birth_date", "street", "city", "postal_code", "country", "tags", "notes"];

/// Characters that make a spreadsheet treat a cell as a formula.
fn is_formula_start(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r')
}

/// A plain number (`-5`, `12,50`) or an E.164 phone number (`+48601222333`): a spreadsheet
/// reads these as values, never as formulas.
fn is_plain_value(cell: &str) -> bool {
    if let Some(digits) = cell.strip_prefix('+') {
        return (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    }
    let body = cell.strip_prefix('-').unwrap_or(cell);
    let mut parts = body.splitn(2, ['.', ',']);
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// Prefixes a cell that a spreadsheet would run as a formula with `'` (OWASP's advice); a plain
/// number or an E.164 phone keeps its form.
pub fn neutralise(cell: &str) -> String {
    if cell.starts_with(is_formula_start) && !is_plain_value(cell) { format!("'{cell}") } else { cell.to_string() }
}

/// Undoes [`neutralise`] on import, so an exported file imports back unchanged.
pub fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(is_formula_start) => rest,
        _ => cell,
    }
}

/// A person's cells in [`COLUMNS`] order, neutralised; fields the viewer may not see are as
/// the view holds them (masked or empty).
pub fn person_cells(f: &PersonRaw, tags: &[String]) -> Vec<String> {
    let a = f.address.clone().unwrap_or_default();
    let tags = tags.join(";");
    [&f.first_name, &f.last_name, &f.email, &f.phone, &f.national_id, &f.birth_date, &a.street, &a.city, &a.postal_code, &a.country]
        .into_iter()
        .map(|c| c.as_deref().unwrap_or(""))
        .chain([tags.as_str(), f.notes.as_deref().unwrap_or("")])
        .map(neutralise)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{neutralise, unneutralise};

    #[test]
    fn formulas_are_neutralised_and_restored() {
        for cell in ["=1+1", "+48 601", "-5+1", "+1+1", "-A1", "@SUM(A1)", "\tx", "+48601222333=1", "-", "-1.", "+123"] {
            assert_eq!(neutralise(cell), format!("'{cell}"), "{cell}");
            assert_eq!(unneutralise(&neutralise(cell)), cell);
        }
        // Values a spreadsheet reads as values keep their form: numbers and E.164 phones.
        for cell in ["-5", "-12,50", "-0.5", "+48601222333", "+14155550100"] {
            assert_eq!(neutralise(cell), cell);
            assert_eq!(unneutralise(&neutralise(cell)), cell);
        }
        assert_eq!(neutralise("Kowalski"), "Kowalski");
        assert_eq!(unneutralise("'quoted"), "'quoted");
    }
}
