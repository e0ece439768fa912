//! Synthetic customers for the demo and the benchmarks: Polish and international names with
//! diacritics, valid PESELs consistent with birth dates, E.164-valid phones, unique e-mails.
//! Deterministic for a seed, so benchmark runs are comparable.

use sejf_domain::people::{AddressRaw, PersonRaw};
use sejf_domain::values::fold;

/// SplitMix64: small, fast, and good enough for test data (never for secrets).
pub struct Synth {
    state: u64,
}

const FIRST_F: &[&str] =
    &["Anna", "Małgorzata", "Zofia", "Łucja", "Katarzyna", "Agnieszka", "Żaneta", "Joanna", "Ewa", "Magdalena", "Alicja", "Gabriela"];
const FIRST_M: &[&str] =
    &["Łukasz", "Paweł", "Michał", "Piotr", "Krzysztof", "Jędrzej", "Tomasz", "Józef", "Wojciech", "Bartłomiej", "Sławomir", "Jan"];
const LAST_PL: &[(&str, &str)] = &[
    ("Kowalski", "Kowalska"),
    ("Wiśniewski", "Wiśniewska"),
    ("Wójcik", "Wójcik"),
    ("Żółć", "Żółć"),
    ("Dąbrowski", "Dąbrowska"),
    ("Zieliński", "Zielińska"),
    ("Szymański", "Szymańska"),
    ("Woźniak", "Woźniak"),
    ("Kozłowski", "Kozłowska"),
    ("Jabłoński", "Jabłońska"),
    ("Mazur", "Mazur"),
    ("Krawczyk", "Krawczyk"),
    ("Gęsikowski", "Gęsikowska"),
];
const INTL: &[(&str, &str, &str)] = &[
    ("Jürgen", "Müller", "DE"),
    ("Zoë", "Brontë", "GB"),
    ("François", "Lefèvre", "FR"),
    ("Søren", "Kierkegård", "DK"),
    ("José", "Núñez", "ES"),
    ("Chloé", "Dubois", "FR"),
    ("Björn", "Åström", "SE"),
    ("Dvořák", "Antonín", "CZ"),
];
const CITIES: &[(&str, &str)] =
    &[("Warszawa", "00-"), ("Kraków", "30-"), ("Łódź", "90-"), ("Wrocław", "50-"), ("Gdańsk", "80-"), ("Poznań", "60-")];
const STREETS: &[&str] = &["Marszałkowska", "Długa", "Świętokrzyska", "Piękna", "Żelazna", "Ogrodowa"];
const TAGS: &[&str] = &["vip", "newsletter", "partner", "prospect", "churn-risk", "event-2026"];
pub const COMPANIES: &[&str] = &[
    "Łódzkie Młyny",
    "Żabka Logistyka",
    "Gdańskie Stocznie",
    "Müller GmbH",
    "Café Français",
    "Nordisk Træ",
    "Kraków Software",
    "Poznańskie Wino",
];

/// A synthetic person: personal fields and tags.
pub struct SynthPerson {
    pub raw: PersonRaw,
    pub tags: Vec<String>,
}

impl Synth {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }

    /// A valid PESEL for a birth date and sex.
    pub fn pesel(&mut self, year: i32, month: u32, day: u32, female: bool) -> String {
        let m = month + if year >= 2000 { 20 } else { 0 };
        let mut s = format!("{:02}{:02}{:02}{}", year % 100, m, day, self.digits(3));
        let sex = self.below(5) as u32 * 2 + u32::from(!female);
        s.push(char::from(b'0' + sex as u8));
        let w = [1u32, 3, 7, 9, 1, 3, 7, 9, 1, 3];
        let sum: u32 = s.bytes().zip(w).map(|(b, w)| u32::from(b - b'0') * w).sum();
        s.push(char::from(b'0' + ((10 - sum % 10) % 10) as u8));
        s
    }

    /// Person number `i` (e-mails are unique by `i`).
    pub fn person(&mut self, i: usize) -> SynthPerson {
        let year = 1950 + self.below(56) as i32;
        let month = 1 + self.below(12) as u32;
        let day = 1 + self.below(28) as u32;
        let polish = self.below(10) < 8;
        let (first, last, country, phone, pesel) = if polish {
            let female = self.below(2) == 0;
            let first = if female { *self.pick(FIRST_F) } else { *self.pick(FIRST_M) };
            let (m, f) = *self.pick(LAST_PL);
            let phone = format!("+48 {}{} {} {}", 5 + self.below(4), self.digits(2), self.digits(3), self.digits(3));
            let pesel = self.pesel(year, month, day, female);
            (first, if female { f } else { m }, "PL", phone, Some(pesel))
        } else {
            let (f, l, c) = *self.pick(INTL);
            let phone = match c {
                "DE" => format!("+49 151 {}", self.digits(8)),
                "GB" => format!("+44 7{}", self.digits(9)),
                "FR" => format!("+33 6{}", self.digits(8)),
                "DK" => format!("+45 {}", self.digits(8)),
                "ES" => format!("+34 6{}", self.digits(8)),
                "SE" => format!("+46 70{}", self.digits(7)),
                _ => format!("+420 6{}", self.digits(8)),
            };
            (f, l, c, phone, None)
        };
        let local = format!("{}.{}{}", fold(first), fold(last), i).replace(' ', "");
        let domain = if polish { "example.pl" } else { "example.com" };
        let (city, postal) = *self.pick(CITIES);
        let street = *self.pick(STREETS);
        let tags = (0..self.below(3)).map(|_| self.pick(TAGS).to_string()).collect::<Vec<_>>();
        let raw = PersonRaw {
            first_name: Some(first.to_string()),
            last_name: Some(last.to_string()),
            email: Some(format!("{local}@{domain}")),
            phone: Some(phone),
            national_id: pesel.clone(),
            birth_date: pesel.as_ref().map(|_| format!("{year:04}-{month:02}-{day:02}")),
            address: Some(AddressRaw {
                street: Some(format!("ul. {street} {}", 1 + self.below(120))),
                city: Some(if polish { city.to_string() } else { "Berlin".to_string() }),
                postal_code: Some(if polish { format!("{postal}{}", self.digits(3)) } else { self.digits(5) }),
                country: Some(country.to_string()),
            }),
            notes: (self.below(4) == 0).then(|| format!("Prefers contact by e-mail; met at event {}.", 1 + self.below(40))),
        };
        SynthPerson { raw, tags }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sejf_domain::people::PersonData;
    use sejf_domain::values::CountryCode;

    #[test]
    fn synthetic_people_are_valid() {
        let mut s = Synth::new(7);
        for i in 0..2000 {
            let p = s.person(i);
            PersonData::parse(&p.raw, CountryCode::PL).unwrap();
        }
    }
}
