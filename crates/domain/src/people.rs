//! People (data subjects): the unvalidated form a client sends, and the validated form Sejf
//! stores. `PersonData::parse` is the only way to get the latter, so a stored person always has
//! a syntactically valid e-mail, an E.164 phone and a checked national id consistent with the
//! birth date.

use time::Date;
use time::macros::format_description;

use serde::{Deserialize, Serialize};

use crate::ValidationErrors;
use crate::fields::{PersonField, PersonFields};
use crate::values::{CountryCode, Email, Invalid, NationalId, Phone, Tag, check_text};

pub const MAX_NAME: usize = 100;
pub const MAX_NOTES: usize = 10_000;
pub const MAX_STREET: usize = 200;
pub const MAX_CITY: usize = 100;
pub const MAX_POSTAL: usize = 16;
pub const MAX_TAGS: usize = 32;

/// A postal address as the client sent it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AddressRaw {
    pub street: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

crate::redacted_debug!(AddressRaw {});

/// A person's personal fields as text, before validation.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PersonRaw {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub national_id: Option<String>,
    pub birth_date: Option<String>,
    pub address: Option<AddressRaw>,
    pub notes: Option<String>,
}

crate::redacted_debug!(PersonRaw {});

/// A validated postal address.
#[derive(Clone, PartialEq, Eq)]
pub struct Address {
    pub street: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<CountryCode>,
}

crate::redacted_debug!(Address {});

/// A person's validated personal fields.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonData {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub national_id: Option<NationalId>,
    pub birth_date: Option<Date>,
    pub address: Option<Address>,
    pub notes: Option<String>,
}

crate::redacted_debug!(PersonData {});

/// ISO 8601 calendar date, `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, Invalid> {
    Date::parse(s.trim(), format_description!("[year]-[month]-[day]")).map_err(|_| Invalid("must be a date in the form YYYY-MM-DD".into()))
}

pub fn format_date(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]")).unwrap_or_default()
}

/// A trimmed text field; empty means absent.
fn text(errs: &mut ValidationErrors, field: &str, v: &Option<String>, max: usize) -> Option<String> {
    let v = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    match check_text(v, max) {
        Ok(()) => Some(v.to_string()),
        Err(e) => {
            errs.push(field, e.0);
            None
        }
    }
}

fn parsed<T>(errs: &mut ValidationErrors, field: &str, v: Option<&str>, f: impl FnOnce(&str) -> Result<T, Invalid>) -> Option<T> {
    let v = v.map(str::trim).filter(|s| !s.is_empty())?;
    match f(v) {
        Ok(x) => Some(x),
        Err(e) => {
            errs.push(field, e.0);
            None
        }
    }
}

impl PersonData {
    /// Validates a whole person. `region` is the default region for national phone numbers.
    pub fn parse(raw: &PersonRaw, region: CountryCode) -> Result<Self, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let first_name = text(&mut errs, "first_name", &raw.first_name, MAX_NAME);
        let last_name = text(&mut errs, "last_name", &raw.last_name, MAX_NAME);
        if first_name.is_none() && last_name.is_none() && errs.is_empty() {
            errs.push("last_name", "a person needs a first or a last name");
        }
        let email = parsed(&mut errs, "email", raw.email.as_deref(), Email::parse);
        let phone = parsed(&mut errs, "phone", raw.phone.as_deref(), |s| Phone::parse(s, region));
        let address = raw.address.as_ref().and_then(|a| {
            let addr = Address {
                street: text(&mut errs, "address.street", &a.street, MAX_STREET),
                city: text(&mut errs, "address.city", &a.city, MAX_CITY),
                postal_code: text(&mut errs, "address.postal_code", &a.postal_code, MAX_POSTAL),
                country: parsed(&mut errs, "address.country", a.country.as_deref(), CountryCode::parse),
            };
            let empty = addr.street.is_none() && addr.city.is_none() && addr.postal_code.is_none() && addr.country.is_none();
            (!empty).then_some(addr)
        });
        let country = address.as_ref().and_then(|a| a.country);
        let national_id = parsed(&mut errs, "national_id", raw.national_id.as_deref(), |s| NationalId::parse(s, country));
        let birth_date = parsed(&mut errs, "birth_date", raw.birth_date.as_deref(), parse_date);
        if let (Some(id), Some(bd)) = (&national_id, birth_date)
            && let Some(encoded) = id.birth_date()
            && encoded != bd
        {
            errs.push("birth_date", "does not match the birth date encoded in the PESEL");
        }
        let notes = text(&mut errs, "notes", &raw.notes, MAX_NOTES);
        errs.into_result(PersonData { first_name, last_name, email, phone, national_id, birth_date, address, notes })
    }

    /// Each field as the text that is sealed, straight from the validated values: the same text
    /// [`PersonRaw::to_texts`] makes of [`PersonData::to_raw`] (a test holds them equal), without
    /// the person going back to a `PersonRaw` on its way to the cipher.
    pub fn to_texts(&self) -> PersonFields<Option<String>> {
        PersonFields { address: self.address_raw().as_ref().map(AddressText::json), ..self.texts_but_address() }
    }

    /// Every field's text but the address's, whose text form differs between the sealed text
    /// (one JSON object) and `PersonRaw` (its parts).
    fn texts_but_address(&self) -> PersonFields<Option<String>> {
        PersonFields {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: self.email.as_ref().map(|e| e.as_str().to_string()),
            phone: self.phone.as_ref().map(|p| p.as_str().to_string()),
            national_id: self.national_id.as_ref().map(|n| n.as_str().to_string()),
            birth_date: self.birth_date.map(format_date),
            address: None,
            notes: self.notes.clone(),
        }
    }

    /// Back to text, for patching and for export.
    pub fn to_raw(&self) -> PersonRaw {
        let PersonFields { first_name, last_name, email, phone, national_id, birth_date, address: _, notes } = self.texts_but_address();
        PersonRaw { first_name, last_name, email, phone, national_id, birth_date, address: self.address_raw(), notes }
    }

    /// The address's parts as text.
    fn address_raw(&self) -> Option<AddressRaw> {
        self.address.as_ref().map(|a| AddressRaw {
            street: a.street.clone(),
            city: a.city.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.map(|c| c.as_str().to_string()),
        })
    }
}

/// The address as it is sealed: one JSON object of the parts that are present.
#[derive(Serialize, Deserialize)]
struct AddressText {
    #[serde(skip_serializing_if = "Option::is_none")]
    street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<String>,
}

impl AddressText {
    /// The sealed text of an address's parts.
    fn json(a: &AddressRaw) -> String {
        let text =
            AddressText { street: a.street.clone(), city: a.city.clone(), postal_code: a.postal_code.clone(), country: a.country.clone() };
        serde_json::to_string(&text).unwrap_or_default()
    }
}

impl PersonRaw {
    /// Each field as the text that is sealed: the address as one JSON object of its parts.
    pub fn to_texts(&self) -> PersonFields<Option<String>> {
        let address = self.address.as_ref().map(AddressText::json);
        PersonFields {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            national_id: self.national_id.clone(),
            birth_date: self.birth_date.clone(),
            address,
            notes: self.notes.clone(),
        }
    }

    /// Back from [`PersonRaw::to_texts`]; a text that is not what it made names its field.
    pub fn from_texts(texts: PersonFields<Option<String>>) -> Result<Self, PersonField> {
        let PersonFields { first_name, last_name, email, phone, national_id, birth_date, address, notes } = texts;
        let address = address
            .map(|json| serde_json::from_str::<AddressText>(&json))
            .transpose()
            .map_err(|_| PersonField::Address)?
            .map(|a| AddressRaw { street: a.street, city: a.city, postal_code: a.postal_code, country: a.country });
        Ok(PersonRaw { first_name, last_name, email, phone, national_id, birth_date, address, notes })
    }

    /// Whether field `f` holds a value.
    pub fn has(&self, f: PersonField) -> bool {
        match f {
            PersonField::Address => self.address.is_some(),
            PersonField::FirstName => self.first_name.is_some(),
            PersonField::LastName => self.last_name.is_some(),
            PersonField::Email => self.email.is_some(),
            PersonField::Phone => self.phone.is_some(),
            PersonField::NationalId => self.national_id.is_some(),
            PersonField::BirthDate => self.birth_date.is_some(),
            PersonField::Notes => self.notes.is_some(),
        }
    }

    /// Sets field `f` (the whole address for [`PersonField::Address`]) to `source`'s value of it.
    pub fn set_from(&mut self, f: PersonField, source: &PersonRaw) {
        match f {
            PersonField::Address => self.address.clone_from(&source.address),
            PersonField::FirstName => self.first_name.clone_from(&source.first_name),
            PersonField::LastName => self.last_name.clone_from(&source.last_name),
            PersonField::Email => self.email.clone_from(&source.email),
            PersonField::Phone => self.phone.clone_from(&source.phone),
            PersonField::NationalId => self.national_id.clone_from(&source.national_id),
            PersonField::BirthDate => self.birth_date.clone_from(&source.birth_date),
            PersonField::Notes => self.notes.clone_from(&source.notes),
        }
    }

    /// Masks field `f` as [`PersonField::mask`] says (or leaves it out); whether it held a value.
    pub fn mask(&mut self, f: PersonField) -> bool {
        let text = match f {
            PersonField::Address => return self.address.take().is_some(),
            PersonField::FirstName => &mut self.first_name,
            PersonField::LastName => &mut self.last_name,
            PersonField::Email => &mut self.email,
            PersonField::Phone => &mut self.phone,
            PersonField::NationalId => &mut self.national_id,
            PersonField::BirthDate => &mut self.birth_date,
            PersonField::Notes => &mut self.notes,
        };
        let Some(value) = text.as_deref() else { return false };
        *text = f.mask().apply(value);
        true
    }
}

/// Validates a list of tags: at most [`MAX_TAGS`], each a valid [`Tag`], duplicates dropped.
pub fn parse_tags(raw: &[String]) -> Result<Vec<Tag>, ValidationErrors> {
    let mut errs = ValidationErrors::default();
    if raw.len() > MAX_TAGS {
        errs.push("tags", format!("at most {MAX_TAGS} tags"));
    }
    let mut out: Vec<Tag> = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        match Tag::parse(t) {
            Ok(t) if !out.contains(&t) => out.push(t),
            Ok(_) => {}
            Err(e) => errs.push(format!("tags[{i}]"), e.0),
        }
    }
    errs.into_result(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::values::CountryCode;

    fn raw(first: &str, email: &str, phone: &str, pesel: &str, birth: &str, address: Option<AddressRaw>) -> PersonRaw {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        PersonRaw {
            first_name: some(first),
            last_name: Some("Kowalska".into()),
            email: some(email),
            phone: some(phone),
            national_id: some(pesel),
            birth_date: some(birth),
            address,
            notes: Some("  call after 5  ".into()),
        }
    }

    /// What is sealed from validated values is exactly what the text form of those values makes,
    /// so people sealed before `PersonData::to_texts` existed read back as they did.
    #[test]
    fn sealed_texts_of_validated_values_are_those_of_their_text_form() {
        let full = AddressRaw {
            street: Some("Długa 5".into()),
            city: Some("Gdańsk".into()),
            postal_code: Some("80-001".into()),
            country: Some("pl".into()),
        };
        let partial = AddressRaw { street: None, city: Some("Kraków".into()), postal_code: None, country: None };
        let people = [
            raw("Anna", " Anna.K@Example.PL ", "601 234 567", "44051401458", "1944-05-14", Some(full)),
            raw("", "", "+48 22 123 45 67", "", "", Some(partial)),
            raw("Zoë", "zoe@example.com", "", "", "2001-02-03", None),
        ];
        for person in &people {
            let data = PersonData::parse(person, CountryCode::PL).unwrap();
            let texts = data.to_texts();
            assert_eq!(texts, data.to_raw().to_texts());
            assert_eq!(PersonRaw::from_texts(texts).unwrap(), data.to_raw());
        }
    }

    /// `set_from` moves exactly the one field it names, a value or its absence.
    #[test]
    fn set_from_copies_one_field_held_or_not() {
        let city = AddressRaw { city: Some("Gdańsk".into()), ..AddressRaw::default() };
        let full = raw("Anna", "anna@example.pl", "601 234 567", "44051401458", "1944-05-14", Some(city));
        for f in PersonField::ALL {
            let mut empty = PersonRaw::default();
            empty.set_from(f, &full);
            assert!(PersonField::ALL.iter().all(|g| empty.has(*g) == (*g == f)), "{f}");
            let mut held = full.clone();
            held.set_from(f, &PersonRaw::default());
            assert!(PersonField::ALL.iter().all(|g| held.has(*g) == (*g != f)), "{f}");
        }
    }
}
