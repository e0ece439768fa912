//! Honeytoken people that cannot be told from real customers by looking at them: Polish names
//! drawn from the common ones (surnames in their masculine or feminine form), a birth date and
//! a PESEL that agree, a mobile number from the operators' ranges, an address in one of forty
//! cities on one of eighty streets, and an e-mail address in the styles people use, at a mail
//! provider people use (or at a domain the organisation names, whose mailbox then catches
//! anyone who writes to the bait). Never a reserved example domain, never the demo's handful of
//! streets.
//!
//! The randomness comes from the operating system; the data is not secret, only unpredictable.

use sejf_domain::people::{AddressRaw, PersonRaw};
use sejf_domain::values::fold;

use crate::synth::Synth;

const FEMALE: &str = "\
Anna|Maria|Katarzyna|Małgorzata|Agnieszka|Barbara|Ewa|Krystyna|Elżbieta|Zofia|Teresa|Magdalena|Joanna|Janina|\
Monika|Danuta|Jadwiga|Aleksandra|Halina|Irena|Beata|Marta|Dorota|Karolina|Jolanta|Natalia|Alicja|Iwona|\
Justyna|Grażyna|Urszula|Renata|Agata|Paulina|Wiktoria|Julia|Hanna|Lena|Weronika|Sylwia";
const MALE: &str = "\
Piotr|Krzysztof|Andrzej|Tomasz|Paweł|Jan|Michał|Marcin|Stanisław|Jakub|Adam|Marek|Łukasz|Grzegorz|Mateusz|\
Wojciech|Mariusz|Dariusz|Zbigniew|Jerzy|Maciej|Rafał|Kamil|Robert|Kacper|Józef|Ryszard|Tadeusz|Dawid|Bartosz|\
Szymon|Sebastian|Przemysław|Artur|Sławomir|Damian|Henryk|Daniel|Janusz|Kazimierz";
/// Masculine forms; `-ski`, `-cki` and `-dzki` take `-a` in the feminine.
const SURNAMES: &str = "\
Nowak|Kowalski|Wiśniewski|Wójcik|Kowalczyk|Kamiński|Lewandowski|Zieliński|Szymański|Woźniak|Dąbrowski|\
Kozłowski|Jankowski|Mazur|Wojciechowski|Kwiatkowski|Krawczyk|Kaczmarek|Piotrowski|Grabowski|Zając|Pawłowski|\
Michalski|Król|Wieczorek|Jabłoński|Wróbel|Nowakowski|Majewski|Olszewski|Stępień|Malinowski|Jaworski|Adamczyk|\
Dudek|Nowicki|Pawlak|Górski|Witkowski|Walczak|Sikora|Baran|Rutkowski|Michalak|Szewczyk|Ostrowski|Tomaszewski|\
Pietrzak|Marciniak|Wróblewski|Zalewski|Jakubowski|Jasiński|Zawadzki|Sadowski|Bąk|Chmielewski|Włodarczyk|\
Borkowski|Czarnecki";
/// City and the first two digits of its postal codes, `city:NN`.
const CITIES: &str = "\
Warszawa:02|Kraków:31|Łódź:91|Wrocław:53|Poznań:61|Gdańsk:80|Szczecin:71|Bydgoszcz:85|Lublin:20|Białystok:15|\
Katowice:40|Gdynia:81|Częstochowa:42|Radom:26|Toruń:87|Sosnowiec:41|Rzeszów:35|Kielce:25|Gliwice:44|\
Olsztyn:10|Bielsko-Biała:43|Zielona Góra:65|Opole:45|Tychy:43|Gorzów Wielkopolski:66|Płock:09|Elbląg:82|\
Wałbrzych:58|Włocławek:87|Tarnów:33|Koszalin:75|Kalisz:62|Legnica:59|Grudziądz:86|Słupsk:76|Nowy Sącz:33|\
Siedlce:08|Piła:64|Pruszków:05|Piaseczno:05";
const STREETS: &str = "\
Polna|Leśna|Słoneczna|Krótka|Szkolna|Ogrodowa|Lipowa|Łąkowa|Brzozowa|Kwiatowa|Kościelna|Sosnowa|Zielona|\
Parkowa|Akacjowa|Kolejowa|Spacerowa|Długa|Klonowa|Mickiewicza|Kościuszki|Sienkiewicza|Słowackiego|\
Jana Pawła II|Piłsudskiego|Kopernika|Wojska Polskiego|3 Maja|Reymonta|Żeromskiego|Prusa|Konopnickiej|Chopina|\
Kasprowicza|Moniuszki|Narutowicza|Mostowa|Wiejska|Topolowa|Jesionowa|Wierzbowa|Graniczna|Cicha|Krakowska|\
Warszawska|Poznańska|Wrocławska|Gdańska|Lubelska|Toruńska|Rzemieślnicza|Handlowa|Przemysłowa|Fabryczna|\
Ogrodnicza|Sportowa|Wspólna|Nowa|Jagiellońska|Piastowska|Bohaterów Westerplatte|Armii Krajowej|Grunwaldzka|\
Batorego|Kilińskiego|Okrzei|Traugutta|Mazowiecka|Pomorska|Śląska|Dworcowa|Zamkowa|Orzeszkowej|Asnyka|\
Broniewskiego|Tuwima|Norwida|Wyspiańskiego|Staszica|Kochanowskiego";
/// Mail providers Polish customers use, with rough shares.
const PROVIDERS: &[(&str, u32)] = &[
    ("gmail.com", 34),
    ("wp.pl", 14),
    ("o2.pl", 10),
    ("onet.pl", 9),
    ("interia.pl", 9),
    ("op.pl", 5),
    ("outlook.com", 4),
    ("icloud.com", 3),
    ("yahoo.com", 2),
    ("tlen.pl", 2),
    ("gazeta.pl", 2),
    ("interia.eu", 2),
    ("poczta.fm", 1),
    ("vp.pl", 1),
    ("autograf.pl", 1),
    ("hotmail.com", 1),
];
/// Mobile number ranges of the Polish operators (first three digits).
const MOBILE: &[(u32, u32)] = &[(501, 519), (530, 539), (600, 609), (660, 669), (690, 699), (720, 729), (780, 799), (880, 889)];

/// A new random source seeded by the operating system.
pub fn source() -> Result<Synth, crate::TransferError> {
    let seed = sejf_crypto::random::bytes::<8>()?;
    Ok(Synth::new(u64::from_le_bytes(seed)))
}

/// One honeytoken person; `domain` is where its e-mail address lives (else a common provider).
pub fn person(rng: &mut Synth, domain: Option<&str>, this_year: i32) -> PersonRaw {
    let female = rng.below(2) == 0;
    let first = pick(rng, if female { FEMALE } else { MALE });
    let last = feminine_if(pick(rng, SURNAMES), female);
    let age = 20 + rng.below(61) as i32;
    let (year, month, day) = (this_year - age, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32);
    let pesel = rng.pesel(year, month, day, female);
    let (city, postal) = pick(rng, CITIES).split_once(':').unwrap_or(("Warszawa", "02"));
    let street = pick(rng, STREETS);
    let number = 1 + rng.below(150);
    let street = match rng.below(3) {
        0 => format!("ul. {street} {number}/{}", 1 + rng.below(60)),
        _ => format!("ul. {street} {number}"),
    };
    let (lo, hi) = *rng.pick(MOBILE);
    let phone = format!("+48 {} {:03} {:03}", lo + rng.below((hi - lo + 1) as usize) as u32, rng.below(1000), rng.below(1000));
    let domain = domain.map(str::to_string).unwrap_or_else(|| provider(rng).to_string());
    PersonRaw {
        first_name: Some(first.to_string()),
        last_name: Some(last.clone()),
        email: Some(format!("{}@{domain}", local_part(rng, first, &last, year))),
        phone: Some(phone),
        // Most, not all, customers have given their PESEL.
        national_id: (rng.below(10) < 8).then(|| pesel.clone()),
        birth_date: (rng.below(10) < 7).then(|| format!("{year:04}-{month:02}-{day:02}")),
        address: (rng.below(10) < 8).then(|| AddressRaw {
            street: Some(street),
            city: Some(city.to_string()),
            postal_code: Some(format!("{postal}-{:03}", rng.below(1000))),
            country: Some("PL".to_string()),
        }),
        notes: None,
    }
}

/// One of the `|`-separated entries of `list`.
fn pick(rng: &mut Synth, list: &'static str) -> &'static str {
    let n = list.split('|').count();
    list.split('|').nth(rng.below(n)).unwrap_or_default()
}

fn feminine_if(surname: &str, female: bool) -> String {
    match surname.strip_suffix('i') {
        Some(stem) if female && (stem.ends_with("sk") || stem.ends_with("ck") || stem.ends_with("dzk")) => format!("{stem}a"),
        _ => surname.to_string(),
    }
}

fn provider(rng: &mut Synth) -> &'static str {
    let total: u32 = PROVIDERS.iter().map(|(_, w)| w).sum();
    let mut roll = rng.below(total as usize) as u32;
    for (domain, weight) in PROVIDERS {
        if roll < *weight {
            return domain;
        }
        roll -= weight;
    }
    PROVIDERS[0].0
}

/// The local part in one of the styles people choose: `jan.kowalski`, `jkowalski`,
/// `kowalski.jan`, `jan.kowalski84`, `jan_kowalski`, `jankowalski7`.
fn local_part(rng: &mut Synth, first: &str, last: &str, year: i32) -> String {
    let (f, l) = (fold(first).replace(' ', ""), fold(last).replace(' ', ""));
    let initial: String = f.chars().take(1).collect();
    match rng.below(6) {
        0 => format!("{f}.{l}"),
        1 => format!("{initial}{l}"),
        2 => format!("{l}.{f}"),
        3 => format!("{f}.{l}{:02}", year % 100),
        4 => format!("{f}_{l}"),
        _ => format!("{f}{l}{}", 1 + rng.below(99)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sejf_domain::people::PersonData;
    use sejf_domain::values::CountryCode;

    #[test]
    fn bait_is_valid_varied_and_never_an_example_domain() {
        let mut rng = Synth::new(42);
        let mut streets = std::collections::HashSet::new();
        let mut domains = std::collections::HashSet::new();
        for _ in 0..500 {
            let p = person(&mut rng, None, 2026);
            PersonData::parse(&p, CountryCode::PL).unwrap();
            let email = p.email.unwrap();
            let domain = email.split_once('@').unwrap().1.to_string();
            assert!(!domain.contains("example") && !domain.ends_with(".test") && !domain.ends_with(".invalid"), "{domain}");
            domains.insert(domain);
            if let Some(a) = p.address {
                streets.insert(a.street.unwrap());
            }
        }
        assert!(streets.len() > 300, "addresses repeat: {} distinct of 500", streets.len());
        assert!(domains.len() >= 8, "{domains:?}");
        let own = person(&mut rng, Some("klienci.firma.pl"), 2026);
        assert!(own.email.unwrap().ends_with("@klienci.firma.pl"));
        assert_eq!(feminine_if("Kowalski", true), "Kowalska");
        assert_eq!(feminine_if("Zawadzki", true), "Zawadzka");
        assert_eq!(feminine_if("Nowak", true), "Nowak");
        assert_eq!(feminine_if("Kowalski", false), "Kowalski");
    }
}
