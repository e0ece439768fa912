//! The vocabulary of a record's fields: the classes that decide who may read them
//! ([`FieldClass`], [`FieldClasses`]), the blind indexes that make some searchable
//! ([`BlindIndex`]), and a person's fields by name ([`PersonField`]) with a container holding
//! one value per field ([`PersonFields`]).
//!
//! Adding a personal field starts here: a variant of [`PersonField`] and a member of
//! [`PersonFields`]; every `match` on the one and every struct literal of the other then fails
//! to compile until the new field is handled (its class, its mask, its text form, its column).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The class of a record's fields, which decides who may read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldClass {
    /// Ids, owner, unit, tags, links, timestamps; a company's name, VAT id and website; a
    /// deal's amount, currency, stage and dates; an activity's kind, due date and state.
    Public,
    /// First and last name, e-mail, phone, address and notes of a person; a deal's title; an
    /// activity's body.
    Personal,
    /// National id (PESEL) and birth date: need to know, revealed with a stated purpose.
    Sensitive,
}

impl FieldClass {
    /// In the order of the array `PolicyEngine::record_view` answers with.
    pub const ALL: [FieldClass; 3] = [FieldClass::Public, FieldClass::Personal, FieldClass::Sensitive];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldClass::Public => "public",
            FieldClass::Personal => "personal",
            FieldClass::Sensitive => "sensitive",
        }
    }

    /// The class's position in [`FieldClass::ALL`].
    pub fn index(self) -> usize {
        match self {
            FieldClass::Public => 0,
            FieldClass::Personal => 1,
            FieldClass::Sensitive => 2,
        }
    }
}

/// A set of field classes: which a caller may read of a record. One bit per class.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FieldClasses(u8);

impl std::ops::BitOr for FieldClasses {
    type Output = FieldClasses;
    fn bitor(self, other: FieldClasses) -> FieldClasses {
        FieldClasses(self.0 | other.0)
    }
}

impl FieldClasses {
    pub const NONE: FieldClasses = FieldClasses(0);
    pub const ALL: FieldClasses = FieldClasses(0b111);

    /// The classes whose flag is set, in [`FieldClass::ALL`]'s order.
    pub fn from_flags(flags: [bool; 3]) -> FieldClasses {
        FieldClass::ALL.iter().zip(flags).filter(|(_, on)| *on).fold(FieldClasses::NONE, |set, (c, _)| set.with(*c))
    }

    pub fn with(self, class: FieldClass) -> FieldClasses {
        FieldClasses(self.0 | 1 << class.index())
    }

    pub fn contains(self, class: FieldClass) -> bool {
        self.0 & 1 << class.index() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = FieldClass> {
        FieldClass::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

impl fmt::Debug for FieldClasses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(FieldClass::as_str)).finish()
    }
}

impl fmt::Display for FieldClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FieldClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldClass::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| "unknown field class; expected one of public, personal, sensitive".to_string())
    }
}

/// A keyed hash of a normalised value kept beside its ciphertext for equality search: e-mail,
/// phone, national id, and each token of a name (kept in `person_name_tokens`). One keyed-hash
/// key each (`Keyring::bidx`), one column or table each in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlindIndex {
    Email,
    Phone,
    NationalId,
    Name,
}

impl BlindIndex {
    pub const ALL: [BlindIndex; 4] = [BlindIndex::Email, BlindIndex::Phone, BlindIndex::NationalId, BlindIndex::Name];

    /// The id of the index's key in the key store (`index/<id>`).
    pub fn key_id(self) -> &'static str {
        match self {
            BlindIndex::Email => "email",
            BlindIndex::Phone => "phone",
            BlindIndex::NationalId => "national_id",
            BlindIndex::Name => "name",
        }
    }
}

/// How a field is shown to a caller who may not read its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mask {
    /// `J***`: the initial.
    Initial,
    /// `j***@***`: the first letter only. The domain is hidden too: it can name an employer,
    /// and a honeytoken's domain would give it away.
    Email,
    /// `*******1234`: the last four characters.
    Tail,
    /// Left out altogether.
    Hide,
}

impl Mask {
    /// The masked form of `value`; `None` for [`Mask::Hide`].
    pub fn apply(self, value: &str) -> Option<String> {
        let first = || value.chars().next().unwrap_or('*');
        match self {
            Mask::Initial => Some(format!("{}***", first())),
            Mask::Email => Some(format!("{}***@***", first())),
            Mask::Tail => {
                let chars: Vec<char> = value.chars().collect();
                let keep = chars.len().saturating_sub(4);
                Some(format!("*******{}", chars[keep..].iter().collect::<String>()))
            }
            Mask::Hide => None,
        }
    }
}

/// One of a person's personal fields: each is encrypted on its own under the person's key, in
/// a column of `people` with the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersonField {
    FirstName,
    LastName,
    Email,
    Phone,
    NationalId,
    BirthDate,
    Address,
    Notes,
}

impl PersonField {
    /// In the order of the `people` table's columns.
    pub const ALL: [PersonField; 8] = [
        PersonField::FirstName,
        PersonField::LastName,
        PersonField::Email,
        PersonField::Phone,
        PersonField::NationalId,
        PersonField::BirthDate,
        PersonField::Address,
        PersonField::Notes,
    ];

    /// The field's position in [`PersonField::ALL`] (and among the `people` table's personal
    /// columns).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The field's name: in the API, the trail's field lists, the cipher's context and the
    /// `people` table's column.
    pub const fn name(self) -> &'static str {
        match self {
            PersonField::FirstName => "first_name",
            PersonField::LastName => "last_name",
            PersonField::Email => "email",
            PersonField::Phone => "phone",
            PersonField::NationalId => "national_id",
            PersonField::BirthDate => "birth_date",
            PersonField::Address => "address",
            PersonField::Notes => "notes",
        }
    }

    /// The class that decides who may read it (DESIGN.md: public, personal, sensitive).
    pub const fn class(self) -> FieldClass {
        match self {
            PersonField::NationalId | PersonField::BirthDate => FieldClass::Sensitive,
            PersonField::FirstName
            | PersonField::LastName
            | PersonField::Email
            | PersonField::Phone
            | PersonField::Address
            | PersonField::Notes => FieldClass::Personal,
        }
    }

    /// The blind index that makes it searchable, if any.
    pub const fn blind_index(self) -> Option<BlindIndex> {
        match self {
            PersonField::FirstName | PersonField::LastName => Some(BlindIndex::Name),
            PersonField::Email => Some(BlindIndex::Email),
            PersonField::Phone => Some(BlindIndex::Phone),
            PersonField::NationalId => Some(BlindIndex::NationalId),
            PersonField::BirthDate | PersonField::Address | PersonField::Notes => None,
        }
    }

    /// How it is shown to a caller who may not read its class.
    pub const fn mask(self) -> Mask {
        match self {
            PersonField::FirstName | PersonField::LastName => Mask::Initial,
            PersonField::Email => Mask::Email,
            PersonField::Phone | PersonField::NationalId => Mask::Tail,
            PersonField::BirthDate | PersonField::Address | PersonField::Notes => Mask::Hide,
        }
    }
}

impl fmt::Display for PersonField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PersonField {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PersonField::ALL.into_iter().find(|f| f.name() == s).ok_or(())
    }
}

/// One value per personal field: the fields as text before sealing, their ciphertexts in the
/// store, which of them a caller sees. Serialised with the fields' names as keys.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonFields<T> {
    pub first_name: T,
    pub last_name: T,
    pub email: T,
    pub phone: T,
    pub national_id: T,
    pub birth_date: T,
    pub address: T,
    pub notes: T,
}

/// Names only, never a value: the values are personal data or their ciphertexts.
impl<T> fmt::Debug for PersonFields<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonFields { .. }")
    }
}

impl<T> PersonFields<T> {
    /// Builds every field's value from its name, in [`PersonField::ALL`]'s order.
    pub fn try_from_fn<E>(mut f: impl FnMut(PersonField) -> Result<T, E>) -> Result<Self, E> {
        Ok(PersonFields {
            first_name: f(PersonField::FirstName)?,
            last_name: f(PersonField::LastName)?,
            email: f(PersonField::Email)?,
            phone: f(PersonField::Phone)?,
            national_id: f(PersonField::NationalId)?,
            birth_date: f(PersonField::BirthDate)?,
            address: f(PersonField::Address)?,
            notes: f(PersonField::Notes)?,
        })
    }

    pub fn from_fn(mut f: impl FnMut(PersonField) -> T) -> Self {
        match Self::try_from_fn::<std::convert::Infallible>(|field| Ok(f(field))) {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    pub fn get(&self, field: PersonField) -> &T {
        match field {
            PersonField::FirstName => &self.first_name,
            PersonField::LastName => &self.last_name,
            PersonField::Email => &self.email,
            PersonField::Phone => &self.phone,
            PersonField::NationalId => &self.national_id,
            PersonField::BirthDate => &self.birth_date,
            PersonField::Address => &self.address,
            PersonField::Notes => &self.notes,
        }
    }

    pub fn get_mut(&mut self, field: PersonField) -> &mut T {
        match field {
            PersonField::FirstName => &mut self.first_name,
            PersonField::LastName => &mut self.last_name,
            PersonField::Email => &mut self.email,
            PersonField::Phone => &mut self.phone,
            PersonField::NationalId => &mut self.national_id,
            PersonField::BirthDate => &mut self.birth_date,
            PersonField::Address => &mut self.address,
            PersonField::Notes => &mut self.notes,
        }
    }

    /// Each field with its value, in [`PersonField::ALL`]'s order.
    pub fn iter(&self) -> impl Iterator<Item = (PersonField, &T)> {
        PersonField::ALL.into_iter().map(|f| (f, self.get(f)))
    }

    /// Each value turned into another, field by field.
    pub fn try_map<U, E>(self, mut f: impl FnMut(PersonField, T) -> Result<U, E>) -> Result<PersonFields<U>, E> {
        let PersonFields { first_name, last_name, email, phone, national_id, birth_date, address, notes } = self;
        Ok(PersonFields {
            first_name: f(PersonField::FirstName, first_name)?,
            last_name: f(PersonField::LastName, last_name)?,
            email: f(PersonField::Email, email)?,
            phone: f(PersonField::Phone, phone)?,
            national_id: f(PersonField::NationalId, national_id)?,
            birth_date: f(PersonField::BirthDate, birth_date)?,
            address: f(PersonField::Address, address)?,
            notes: f(PersonField::Notes, notes)?,
        })
    }

    /// The values in [`PersonField::ALL`]'s order.
    pub fn into_values(self) -> [T; 8] {
        let PersonFields { first_name, last_name, email, phone, national_id, birth_date, address, notes } = self;
        [first_name, last_name, email, phone, national_id, birth_date, address, notes]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_are_unique() {
        for f in PersonField::ALL {
            assert_eq!(f.name().parse::<PersonField>(), Ok(f));
        }
        let mut names: Vec<_> = PersonField::ALL.iter().map(|f| f.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PersonField::ALL.len());
        assert!("pesel".parse::<PersonField>().is_err());
        assert!(PersonField::ALL.iter().enumerate().all(|(i, f)| f.index() == i));
    }

    #[test]
    fn the_container_holds_each_field_in_its_place() {
        let fields = PersonFields::from_fn(PersonField::name);
        for (f, v) in fields.iter() {
            assert_eq!(*v, f.name());
        }
        let json = serde_json::to_value(&fields).unwrap();
        assert_eq!(json["national_id"], "national_id");
        let lengths = fields.clone().try_map(|_, v| Ok::<_, ()>(v.len())).unwrap();
        assert_eq!(lengths.birth_date, "birth_date".len());
        assert_eq!(fields.into_values().map(str::len), lengths.into_values());
    }

    #[test]
    fn masks_keep_what_the_design_says() {
        assert_eq!(Mask::Initial.apply("Jan").as_deref(), Some("J***"));
        assert_eq!(Mask::Email.apply("jan@firma.pl").as_deref(), Some("j***@***"));
        assert_eq!(Mask::Tail.apply("+48600100200").as_deref(), Some("*******0200"));
        assert_eq!(Mask::Hide.apply("1980-01-01"), None);
        assert_eq!(PersonField::NationalId.class(), FieldClass::Sensitive);
        assert_eq!(PersonField::Email.blind_index(), Some(BlindIndex::Email));
    }
}
