//! A person's personal fields under their own key: each field a separate AEAD blob bound to
//! the table, column, record and subject (`FieldContext`), the address as one JSON blob.

use sejf_crypto::{FieldContext, Key32, decrypt_field, encrypt_field};
use sejf_domain::people::{AddressRaw, PersonRaw};
use serde::{Deserialize, Serialize};

use crate::CoreError;
use crate::ports::EncryptedPerson;

const TABLE: &str = "people";
/// Subject keys are not rotated yet; every field blob names key version 1.
const SUBJECT_KEY_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct AddressBlob {
    #[serde(skip_serializing_if = "Option::is_none")]
    street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<String>,
}

fn ctx<'a>(column: &'a str, id: &'a str) -> FieldContext<'a> {
    FieldContext { table: TABLE, column, record_id: id, subject_id: id }
}

fn seal(key: &Key32, id: &str, column: &str, value: &Option<String>) -> Result<Option<Vec<u8>>, CoreError> {
    value.as_ref().map(|v| encrypt_field(key, SUBJECT_KEY_VERSION, &ctx(column, id), v.as_bytes())).transpose().map_err(Into::into)
}

#[allow(clippy::disallowed_methods, reason = "the field cipher; App::decrypt reaches it only with a Permit for the person")]
fn open(key: &Key32, id: &str, column: &str, blob: &Option<Vec<u8>>) -> Result<Option<String>, CoreError> {
    let Some(blob) = blob else { return Ok(None) };
    let plain =
        decrypt_field(key, &ctx(column, id), blob).map_err(|e| CoreError::Integrity(format!("person {id}, field {column}: {e}")))?;
    String::from_utf8(plain.to_vec()).map(Some).map_err(|_| CoreError::Integrity(format!("person {id}, field {column}: not UTF-8")))
}

/// Encrypts validated personal fields (as text) for person `id`.
pub(super) fn seal_person(key: &Key32, id: &str, raw: &PersonRaw) -> Result<EncryptedPerson, CoreError> {
    let address = raw
        .address
        .as_ref()
        .map(|a| {
            serde_json::to_string(&AddressBlob {
                street: a.street.clone(),
                city: a.city.clone(),
                postal_code: a.postal_code.clone(),
                country: a.country.clone(),
            })
        })
        .transpose()
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    Ok(EncryptedPerson {
        first_name: seal(key, id, "first_name", &raw.first_name)?,
        last_name: seal(key, id, "last_name", &raw.last_name)?,
        email: seal(key, id, "email", &raw.email)?,
        phone: seal(key, id, "phone", &raw.phone)?,
        national_id: seal(key, id, "national_id", &raw.national_id)?,
        birth_date: seal(key, id, "birth_date", &raw.birth_date)?,
        address: seal(key, id, "address", &address)?,
        notes: seal(key, id, "notes", &raw.notes)?,
    })
}

pub(super) fn open_person(key: &Key32, id: &str, enc: &EncryptedPerson) -> Result<PersonRaw, CoreError> {
    let address = open(key, id, "address", &enc.address)?
        .map(|json| serde_json::from_str::<AddressBlob>(&json))
        .transpose()
        .map_err(|_| CoreError::Integrity(format!("person {id}, field address: malformed")))?
        .map(|a| AddressRaw { street: a.street, city: a.city, postal_code: a.postal_code, country: a.country });
    Ok(PersonRaw {
        first_name: open(key, id, "first_name", &enc.first_name)?,
        last_name: open(key, id, "last_name", &enc.last_name)?,
        email: open(key, id, "email", &enc.email)?,
        phone: open(key, id, "phone", &enc.phone)?,
        national_id: open(key, id, "national_id", &enc.national_id)?,
        birth_date: open(key, id, "birth_date", &enc.birth_date)?,
        address,
        notes: open(key, id, "notes", &enc.notes)?,
    })
}
