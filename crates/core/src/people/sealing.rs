//! A person's personal fields under their own key: each field a separate AEAD blob bound to
//! the table, column, record and subject (`FieldContext`); the address as one JSON blob
//! (`PersonData::to_texts`: from the validated values to the sealed text, with no text form
//! between them).

use sejf_crypto::{FieldContext, Key32, decrypt_field, encrypt_field};
use sejf_domain::fields::{PersonField, PersonFields};
use sejf_domain::people::{PersonData, PersonRaw};

use crate::CoreError;
use crate::ports::EncryptedPerson;

const TABLE: &str = "people";
/// Subject keys are not rotated yet; every field blob names key version 1.
const SUBJECT_KEY_VERSION: u32 = 1;

fn ctx(field: PersonField, id: &str) -> FieldContext<'_> {
    FieldContext { table: TABLE, column: field.name(), record_id: id, subject_id: id }
}

fn seal(key: &Key32, id: &str, field: PersonField, value: Option<String>) -> Result<Option<Vec<u8>>, CoreError> {
    value.map(|v| encrypt_field(key, SUBJECT_KEY_VERSION, &ctx(field, id), v.as_bytes())).transpose().map_err(Into::into)
}

#[allow(clippy::disallowed_methods, reason = "the field cipher; App::decrypt reaches it only with a Permit for the person")]
fn open(key: &Key32, id: &str, field: PersonField, blob: &Option<Vec<u8>>) -> Result<Option<String>, CoreError> {
    let Some(blob) = blob else { return Ok(None) };
    let plain = decrypt_field(key, &ctx(field, id), blob).map_err(|e| CoreError::Integrity(format!("person {id}, field {field}: {e}")))?;
    String::from_utf8(plain.to_vec()).map(Some).map_err(|_| CoreError::Integrity(format!("person {id}, field {field}: not UTF-8")))
}

/// Encrypts validated personal fields for person `id`.
pub(super) fn seal_person(key: &Key32, id: &str, data: &PersonData) -> Result<EncryptedPerson, CoreError> {
    data.to_texts().try_map(|field, text| seal(key, id, field, text))
}

pub(super) fn open_person(key: &Key32, id: &str, enc: &EncryptedPerson) -> Result<PersonRaw, CoreError> {
    let texts = PersonFields::try_from_fn(|field| open(key, id, field, enc.get(field)))?;
    PersonRaw::from_texts(texts).map_err(|field| CoreError::Integrity(format!("person {id}, field {field}: malformed")))
}
