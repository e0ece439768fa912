//! People as vCards (RFC 6350), through calcard: the export a phone or a mail client imports,
//! and the import of what their contacts apps export — vCard 4.0, 3.0 (iPhone, macOS Contacts,
//! with `item1.` groups) and 2.1 (Android, with `QUOTED-PRINTABLE` Polish letters).
//!
//! A card carries a person's name, e-mail, phone, address, birth date, note and tags
//! (`CATEGORIES`). It never carries the PESEL: a vCard goes to phones and mail clients, which
//! need no national identifier (data minimisation, GDPR art. 5(1)(c)); the CSV export holds
//! every field for those who may have it. Values are not validated here: the import runs each
//! card's fields through `PersonData::parse` as it does a CSV row's. Errors name the card's
//! number and the property, never a value.

use calcard::common::PartialDateTime;
use calcard::vcard::{VCard, VCardEntry, VCardParameter, VCardParameterName, VCardParameterValue, VCardProperty, VCardType, VCardValue};
use calcard::{Entry, Parser};
use sejf_domain::people::{AddressRaw, PersonRaw};
use uuid::Uuid;

/// One card of a file, as a person's raw fields.
#[derive(Clone, Default)]
pub struct VCardPerson {
    /// The card's number in the file, from 1.
    pub card: usize,
    pub raw: PersonRaw,
    pub tags: Vec<String>,
}

sejf_domain::redacted_debug!(VCardPerson { card });

/// A file that is not vCards, or a card that is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VCardError {
    /// The card's number (0: the file as a whole).
    pub card: usize,
    pub reason: &'static str,
}

impl std::fmt::Display for VCardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.card == 0 { write!(f, "{}", self.reason) } else { write!(f, "card {}: {}", self.card, self.reason) }
    }
}

impl std::error::Error for VCardError {}

/// Whether a file looks like vCards (its first non-blank line opens one).
pub fn looks_like_vcard(bytes: &[u8]) -> bool {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(text.len());
    text[start..].len() >= 11 && text[start..start + 11].eq_ignore_ascii_case(b"BEGIN:VCARD")
}

/// One person's card (vCard 4.0, CRLF, folded at 75 octets, escaped as RFC 6350 says).
pub fn person_vcard(id: Uuid, f: &PersonRaw, tags: &[String]) -> String {
    let text = |v: &str| VCardValue::Text(v.to_string());
    let mut card = VCard { entries: Vec::with_capacity(12) };
    let mut push = |name: VCardProperty, values: Vec<VCardValue>, params: Vec<VCardParameter>| {
        card.entries.push(VCardEntry::new(name).with_values(values).with_params(params));
    };
    push(VCardProperty::Version, vec![text("4.0")], vec![]);
    push(VCardProperty::Uid, vec![text(&format!("urn:uuid:{id}"))], vec![]);
    let first = f.first_name.as_deref().unwrap_or("");
    let last = f.last_name.as_deref().unwrap_or("");
    let full = [first, last].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" ");
    push(VCardProperty::Fn, vec![text(&full)], vec![]);
    push(VCardProperty::N, vec![text(last), text(first), text(""), text(""), text("")], vec![]);
    if let Some(e) = &f.email {
        push(VCardProperty::Email, vec![text(e)], vec![]);
    }
    if let Some(p) = &f.phone {
        push(VCardProperty::Tel, vec![text(p)], vec![VCardParameter::typ(VCardType::Cell)]);
    }
    if let Some(a) = &f.address {
        let part = |v: &Option<String>| text(v.as_deref().unwrap_or(""));
        push(
            VCardProperty::Adr,
            vec![text(""), text(""), part(&a.street), part(&a.city), text(""), part(&a.postal_code), part(&a.country)],
            vec![],
        );
    }
    if let Some(date) = f.birth_date.as_deref().and_then(partial_date) {
        push(VCardProperty::Bday, vec![VCardValue::PartialDateTime(date)], vec![]);
    }
    if let Some(n) = &f.notes {
        push(VCardProperty::Note, vec![text(n)], vec![]);
    }
    if !tags.is_empty() {
        push(VCardProperty::Categories, tags.iter().map(|t| text(t)).collect(), vec![]);
    }
    card.to_string()
}

/// `YYYY-MM-DD` as a vCard date.
fn partial_date(date: &str) -> Option<PartialDateTime> {
    let mut parts = date.splitn(3, '-');
    let year = parts.next()?.parse().ok()?;
    let month = parts.next()?.parse().ok()?;
    let day = parts.next()?.parse().ok()?;
    Some(PartialDateTime { year: Some(year), month: Some(month), day: Some(day), ..Default::default() })
}

/// Every card of a file, as people's raw fields.
pub fn people_from_vcards(text: &str) -> Result<Vec<VCardPerson>, VCardError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !looks_like_vcard(text.as_bytes()) {
        return Err(VCardError { card: 0, reason: "not a vCard file (it does not start with BEGIN:VCARD)" });
    }
    let text = unquote_type_lists(text);
    let mut parser = Parser::new(&text);
    let mut people = Vec::new();
    loop {
        let card = people.len() + 1;
        match parser.entry() {
            Entry::VCard(vcard) => people.push(person_of(card, &vcard)?),
            Entry::Eof => return Ok(people),
            Entry::ICalendar(_) => return Err(VCardError { card, reason: "is a calendar entry, not a vCard" }),
            Entry::InvalidLine(_) => return Err(VCardError { card, reason: "has a line that is not a vCard property" }),
            Entry::UnterminatedComponent(_) => return Err(VCardError { card, reason: "has no END:VCARD" }),
            _ => return Err(VCardError { card, reason: "is not a well-formed vCard" }),
        }
    }
}

/// `TYPE="pref,cell"` (one quoted value holding a list, as some 4.0 exporters write it) as
/// `TYPE=pref,cell`, which calcard reads as the list it is (quoted, it keeps only the last
/// type and loses `pref`). Only parameter sections change: the part of a line before its first
/// `:` outside quotes; values (a note that quotes something) are left as they are.
fn unquote_type_lists(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.as_bytes().windows(6).any(|w| w.eq_ignore_ascii_case(b"TYPE=\"")) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut quoted = false;
        let end = line.char_indices().find(|&(_, c)| {
            quoted ^= c == '"';
            c == ':' && !quoted
        });
        let (params, rest) = line.split_at(end.map_or(line.len(), |(i, _)| i));
        let mut params = params.to_string();
        let mut from = 0;
        while let Some(at) = params[from..].to_ascii_uppercase().find(";TYPE=\"").map(|i| i + from) {
            let open = at + ";TYPE=\"".len();
            let Some(close) = params[open..].find('"').map(|i| i + open) else { break };
            let list = &params[open..close];
            if list.bytes().all(|b| b.is_ascii_alphanumeric() || b == b',' || b == b'-') {
                params = format!("{}{}{}", &params[..open - 1], list, &params[close + 1..]);
            }
            from = open - 1;
        }
        out.push_str(&params);
        out.push_str(rest);
    }
    out.into()
}

/// A country as contacts apps write it in an address (`Polska`, `Germany`) as its ISO 3166
/// code; a code, or a name not known here, stays as it is (validation names what it refuses).
fn country_code(name: &str) -> String {
    const NAMES: &[(&str, &[&str])] = &[
        ("PL", &["polska", "poland", "polen", "rzeczpospolita polska"]),
        ("DE", &["niemcy", "germany", "deutschland"]),
        ("CZ", &["czechy", "czech republic", "czechia", "česko", "česká republika"]),
        ("SK", &["słowacja", "slovakia", "slovensko"]),
        ("LT", &["litwa", "lithuania", "lietuva"]),
        ("LV", &["łotwa", "latvia", "latvija"]),
        ("EE", &["estonia", "eesti"]),
        ("UA", &["ukraina", "ukraine", "україна"]),
        ("BY", &["białoruś", "belarus"]),
        ("GB", &["wielka brytania", "united kingdom", "great britain", "uk", "england", "anglia"]),
        ("IE", &["irlandia", "ireland"]),
        ("FR", &["francja", "france"]),
        ("ES", &["hiszpania", "spain", "españa"]),
        ("PT", &["portugalia", "portugal"]),
        ("IT", &["włochy", "italy", "italia"]),
        ("NL", &["holandia", "niderlandy", "netherlands", "the netherlands", "nederland"]),
        ("BE", &["belgia", "belgium", "belgique", "belgië"]),
        ("LU", &["luksemburg", "luxembourg"]),
        ("AT", &["austria", "österreich"]),
        ("CH", &["szwajcaria", "switzerland", "schweiz", "suisse"]),
        ("SE", &["szwecja", "sweden", "sverige"]),
        ("NO", &["norwegia", "norway", "norge"]),
        ("DK", &["dania", "denmark", "danmark"]),
        ("FI", &["finlandia", "finland", "suomi"]),
        ("HU", &["węgry", "hungary", "magyarország"]),
        ("RO", &["rumunia", "romania", "românia"]),
        ("BG", &["bułgaria", "bulgaria"]),
        ("HR", &["chorwacja", "croatia", "hrvatska"]),
        ("SI", &["słowenia", "slovenia", "slovenija"]),
        ("GR", &["grecja", "greece"]),
        ("US", &["stany zjednoczone", "usa", "united states", "united states of america"]),
        ("CA", &["kanada", "canada"]),
    ];
    let folded = name.trim().to_lowercase();
    NAMES
        .iter()
        .find(|(_, names)| names.contains(&folded.as_str()))
        .map_or_else(|| name.trim().to_string(), |(code, _)| (*code).to_string())
}

/// Whether a property is marked preferred (`PREF=1` in 4.0, `TYPE=pref` in 3.0, `PREF` in 2.1).
fn preferred(e: &VCardEntry) -> bool {
    e.params.iter().any(|p| match (&p.name, &p.value) {
        (VCardParameterName::Pref, VCardParameterValue::Integer(n)) => *n == 1,
        (VCardParameterName::Pref, _) => true,
        (VCardParameterName::Type, VCardParameterValue::Text(t)) => t.eq_ignore_ascii_case("pref"),
        _ => false,
    })
}

/// The text of a property's values, components joined by `sep`.
fn texts(e: &VCardEntry) -> Vec<String> {
    e.values
        .iter()
        .map(|v| match v {
            VCardValue::Text(t) => t.trim().to_string(),
            VCardValue::Component(parts) => parts.join(" ").trim().to_string(),
            _ => String::new(),
        })
        .collect()
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// The first (or the preferred) property `name` of a card.
fn pick<'a>(card: &'a VCard, name: &VCardProperty) -> Option<&'a VCardEntry> {
    let mut all = card.entries.iter().filter(|e| &e.name == name);
    let first = all.clone().next();
    all.find(|e| preferred(e)).or(first)
}

fn person_of(n: usize, card: &VCard) -> Result<VCardPerson, VCardError> {
    let first_text = |name: VCardProperty| pick(card, &name).and_then(|e| texts(e).into_iter().find(|t| !t.is_empty()));
    let (mut first_name, mut last_name) = (None, None);
    if let Some(nm) = pick(card, &VCardProperty::N) {
        let parts = texts(nm);
        last_name = parts.first().and_then(|s| some(s));
        first_name = parts.get(1).and_then(|s| some(s));
    }
    if first_name.is_none() && last_name.is_none() {
        let full = first_text(VCardProperty::Fn).ok_or(VCardError { card: n, reason: "has no name (N or FN)" })?;
        match full.rsplit_once(' ') {
            Some((f, l)) => (first_name, last_name) = (some(f), some(l)),
            None => last_name = some(&full),
        }
    }
    let phone = first_text(VCardProperty::Tel).map(|t| t.strip_prefix("tel:").unwrap_or(&t).to_string());
    let address = pick(card, &VCardProperty::Adr).map(texts).map(|p| {
        let at = |i: usize| p.get(i).and_then(|s| some(s));
        // Post office box and extended address go before the street, as a letter has them.
        let street = [at(0), at(1), at(2)].into_iter().flatten().collect::<Vec<_>>().join(", ");
        AddressRaw { street: some(&street), city: at(3), postal_code: at(5), country: at(6).map(|c| country_code(&c)) }
    });
    let birth_date = pick(card, &VCardProperty::Bday).and_then(|e| {
        // Apple writes a birthday without a year as a placeholder year it names in a parameter
        // (`BDAY;X-APPLE-OMIT-YEAR=1604:1604-03-07`).
        let omitted = e.params.iter().find_map(|p| match (&p.name, &p.value) {
            (VCardParameterName::Other(n), VCardParameterValue::Text(y)) if n.eq_ignore_ascii_case("X-APPLE-OMIT-YEAR") => {
                y.parse::<u16>().ok()
            }
            _ => None,
        });
        e.values.iter().find_map(|v| match v {
            // A birthday without a year (`--0307`) is no birth date.
            VCardValue::PartialDateTime(PartialDateTime { year: Some(y), month: Some(m), day: Some(d), .. }) if Some(*y) != omitted => {
                Some(format!("{y:04}-{m:02}-{d:02}"))
            }
            VCardValue::Text(t) => some(t),
            _ => None,
        })
    });
    let tags = card
        .entries
        .iter()
        .filter(|e| e.name == VCardProperty::Categories)
        .flat_map(texts)
        .flat_map(|t| t.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>())
        .collect();
    Ok(VCardPerson {
        card: n,
        raw: PersonRaw {
            first_name,
            last_name,
            email: first_text(VCardProperty::Email),
            phone,
            national_id: None,
            birth_date,
            address: address.filter(|a| a.street.is_some() || a.city.is_some() || a.postal_code.is_some() || a.country.is_some()),
            notes: first_text(VCardProperty::Note),
        },
        tags,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// As Android's Contacts app exports: vCard 2.1, Polish letters quoted-printable, a soft
    /// line break inside the note.
    const ANDROID: &str = "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Zi=C4=99ba;=C5=81ukasz;;;\r\n\
        FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=C5=81ukasz Zi=C4=99ba\r\nTEL;CELL;PREF:+48 601 222 333\r\nTEL;HOME:+48 42 123 45 67\r\n\
        EMAIL;HOME:lukasz@zieba.pl\r\nADR;HOME;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;;ul. D=C5=82uga 5;=C5=81=C3=B3d=C5=BA;;90-001;Polska\r\n\
        BDAY:1985-03-07\r\nNOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Klient od 2019, lubi kaw=C4=99=\r\n i herbat=C4=99\r\nEND:VCARD\r\n\
        BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:D=C4=85browska;Anna;;;\r\nTEL;CELL:602000111\r\nEND:VCARD\r\n";

    /// As an iPhone exports: vCard 3.0, grouped properties with Apple labels, a photo, a
    /// birthday without a year.
    const IPHONE: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17.0//EN\r\nN:Żółć;Ewa;;;\r\nFN:Ewa Żółć\r\n\
        ORG:Żółć i Syn;\r\nitem1.EMAIL;type=INTERNET:ewa.prywatny@example.pl\r\nitem2.EMAIL;type=INTERNET;type=pref:ewa@zolc.pl\r\n\
        item1.X-ABLabel:_$!<Other>!$_\r\nTEL;type=CELL;type=VOICE;type=pref:+48 602 000 111\r\nCATEGORIES:klient,vip\r\n\
        PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRg==\r\nBDAY;VALUE=date:--0307\r\nEND:VCARD\r\n";

    #[test]
    fn android_and_iphone_exports_import() {
        let people = people_from_vcards(ANDROID).unwrap();
        assert_eq!(people.len(), 2);
        let p = &people[0].raw;
        assert_eq!((p.first_name.as_deref(), p.last_name.as_deref()), (Some("Łukasz"), Some("Zięba")));
        assert_eq!(p.phone.as_deref(), Some("+48 601 222 333"), "the preferred phone");
        assert_eq!(p.email.as_deref(), Some("lukasz@zieba.pl"));
        assert_eq!(p.birth_date.as_deref(), Some("1985-03-07"));
        assert_eq!(p.notes.as_deref(), Some("Klient od 2019, lubi kawę i herbatę"));
        let a = p.address.clone().unwrap();
        assert_eq!(
            (a.street.as_deref(), a.city.as_deref(), a.postal_code.as_deref(), a.country.as_deref()),
            (Some("ul. Długa 5"), Some("Łódź"), Some("90-001"), Some("PL")),
            "the country's name as its code"
        );
        assert_eq!(people[1].raw.last_name.as_deref(), Some("Dąbrowska"));
        assert_eq!(people[1].card, 2);

        let people = people_from_vcards(IPHONE).unwrap();
        let p = &people[0];
        assert_eq!((p.raw.first_name.as_deref(), p.raw.last_name.as_deref()), (Some("Ewa"), Some("Żółć")));
        assert_eq!(p.raw.email.as_deref(), Some("ewa@zolc.pl"), "type=pref wins");
        assert_eq!(p.raw.birth_date, None, "a birthday without a year is no birth date");
        assert_eq!(p.tags, ["klient", "vip"]);
    }

    /// What iPhone and macOS Contacts write for a birthday without a year, a quoted list of
    /// types (vCard 4.0 exporters), and countries by name.
    #[test]
    fn apple_yearless_birthdays_quoted_type_lists_and_country_names() {
        let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Nowak;Jan;;;\r\nBDAY;X-APPLE-OMIT-YEAR=1604:1604-03-07\r\n\
            TEL;TYPE=\"work\":+48 22 000 00 00\r\nTEL;TYPE=\"pref,cell\":+48 601 000 000\r\n\
            NOTE:powiedział TYPE=\"a,b\": bez zmian\r\nADR:;;Hauptstr. 1;Berlin;;10115;Deutschland\r\nEND:VCARD\r\n\
            BEGIN:VCARD\r\nVERSION:3.0\r\nN:Kos;Ola;;;\r\nBDAY:1990-01-02\r\nADR:;;Rynek 1;Kraków;;30-001;Atlantyda\r\nEND:VCARD\r\n";
        let people = people_from_vcards(card).unwrap();
        let p = &people[0].raw;
        assert_eq!(p.birth_date, None, "1604 stands for no year");
        assert_eq!(p.phone.as_deref(), Some("+48 601 000 000"), "pref inside a quoted list still counts");
        assert_eq!(p.notes.as_deref(), Some("powiedział TYPE=\"a,b\": bez zmian"), "a value is never rewritten");
        assert_eq!(p.address.as_ref().unwrap().country.as_deref(), Some("DE"));
        let q = &people[1].raw;
        assert_eq!(q.birth_date.as_deref(), Some("1990-01-02"));
        assert_eq!(q.address.as_ref().unwrap().country.as_deref(), Some("Atlantyda"), "an unknown name is left for validation to name");
        assert_eq!(country_code(" POLSKA "), "PL");
        assert_eq!(country_code("pl"), "pl", "a code stays a code");
    }

    #[test]
    fn an_export_imports_back_with_every_field_but_the_pesel() {
        let raw = PersonRaw {
            first_name: Some("Łukasz".into()),
            last_name: Some("Zięba".into()),
            email: Some("lukasz@zieba.pl".into()),
            phone: Some("+48601222333".into()),
            national_id: Some("44051401359".into()),
            birth_date: Some("1985-03-07".into()),
            address: Some(AddressRaw {
                street: Some("ul. Długa 5; m. 3".into()),
                city: Some("Łódź".into()),
                postal_code: Some("90-001".into()),
                country: Some("PL".into()),
            }),
            notes: Some("Zażółć gęślą jaźń, a; b\\ c\nnowa linia, i długa notatka, która musi zostać złamana w kilku miejscach".into()),
        };
        let tags = vec!["klient".to_string(), "v,ip".to_string()];
        let card = person_vcard(Uuid::nil(), &raw, &tags);
        assert!(card.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n"), "{card}");
        assert!(!card.contains("44051401359"), "never the PESEL");
        for line in card.split("\r\n") {
            assert!(line.len() <= 75, "folded at 75 octets: {line:?}");
        }
        assert!(!card.replace("\r\n", "").contains('\n'), "newlines are escaped");
        let back = people_from_vcards(&card).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].raw, PersonRaw { national_id: None, ..raw });
        assert_eq!(back[0].tags, ["klient", "v", "ip"], "a comma inside a tag splits it, as contacts apps read CATEGORIES");
    }

    #[test]
    fn garbage_is_refused_naming_the_card_and_never_the_value() {
        let e = people_from_vcards("imię;nazwisko\nJan;Kowalski\n").unwrap_err();
        assert_eq!(e.card, 0);
        let e = people_from_vcards("BEGIN:VCARD\r\nVERSION:4.0\r\nEMAIL:tajny@example.pl\r\nEND:VCARD\r\n").unwrap_err();
        assert_eq!(e.to_string(), "card 1: has no name (N or FN)");
        let e = people_from_vcards("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n").unwrap_err();
        assert_eq!(e.card, 0, "a calendar is not a contacts file");
        // A last card without END:VCARD, as some phones cut a file, still imports.
        assert_eq!(people_from_vcards("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Jan Nowak\r\n").unwrap().len(), 1);
        assert!(looks_like_vcard(b"\xEF\xBB\xBF\r\nbegin:vcard\r\n"));
        assert!(!looks_like_vcard(b"first_name,last_name"));
    }
}
