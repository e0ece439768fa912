//! Tests of the parent module.

use super::*;
use proptest::prelude::*;
use time::macros::date;

fn all_countries() -> Vec<CountryCode> {
    let codes = COUNTRIES.split_ascii_whitespace();
    codes.map(|c| CountryCode::parse(c).unwrap()).collect()
}

fn country(s: &str) -> CountryCode {
    CountryCode::parse(s).unwrap()
}

/// Appends the PESEL check digit, to build test numbers with a right checksum.
fn with_check(ten: &str) -> String {
    let digits = ten.bytes().map(|b| u32::from(b - b'0'));
    let sum: u32 = digits.zip(PESEL_WEIGHTS).map(|(d, w)| d * w).sum();
    format!("{ten}{}", (10 - sum % 10) % 10)
}

/// Asserts `parse` refuses every input, with a reason that does not quote it.
fn refuses<T: fmt::Debug>(inputs: &[&str], parse: impl Fn(&str) -> Result<T, Invalid>) {
    for &input in inputs {
        let reason = parse(input).expect_err(input).0;
        assert!(input.len() < 4 || !reason.contains(input), "{input}");
    }
}

#[test]
fn code_tables_are_sorted_unique_and_consistent() {
    for (list, len) in [(COUNTRIES, 2), (CURRENCIES, 3)] {
        let codes: Vec<&str> = list.split_ascii_whitespace().collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
        assert!(codes.iter().all(|c| c.len() == len));
    }
    assert_eq!(all_countries().len(), 249);
    let regions = CALLING_CODES.split_ascii_whitespace().map(|e| &e[..2]);
    assert!(regions.eq(COUNTRIES.split_ascii_whitespace()));
    // Splitting off the calling code relies on no code being a prefix of another one.
    let ccs: HashSet<&str> = CALLING_CODES.split_ascii_whitespace().map(|e| &e[2..]).collect();
    for a in &ccs {
        assert!(ccs.iter().all(|b| a == b || !b.starts_with(a)), "{a}");
    }
    assert_eq!(calling_code(country("AX")), Some("358"));
}

#[test]
fn country_and_currency_codes() {
    assert_eq!(CountryCode::parse(" pl ").unwrap(), CountryCode::PL);
    assert_eq!(format!("{} {:?}", country("gB"), CountryCode::PL), "GB CountryCode(PL)");
    refuses(&["", "P", "POL", "XX", "UK", "EL", "1A", "ŁL"], CountryCode::parse);
    assert_eq!(CurrencyCode::parse("pln").unwrap(), CurrencyCode::PLN);
    assert_eq!(CurrencyCode::parse(" eur").unwrap().to_string(), "EUR");
    assert_eq!(CurrencyCode::parse("xcg").unwrap().as_str(), "XCG");
    refuses(&["", "PL", "EURO", "HRK", "ABC", "€€€"], CurrencyCode::parse);
}

#[test]
fn emails() {
    let e = Email::parse("  Jan.Kowalski+crm@Example.COM ").unwrap();
    assert_eq!(e.as_str(), "Jan.Kowalski+crm@example.com");
    assert_eq!(e.normalized(), "jan.kowalski+crm@example.com");
    assert_eq!(format!("{e:?}"), "Email(<redacted>)");
    for good in "a@b.pl o'brien@mail.co.uk x@xn--p1ai.xn--p1ai jan@żółw.pl a_b{c}@s-d.example.org".split(' ') {
        assert_eq!(Email::parse(good).unwrap().as_str(), good);
    }
    let bad = "plain a@b @b.pl a@ a@@b.pl a@b@c.pl .a@b.pl a.@b.pl a..b@c.pl a@-b.pl a@b-.pl \
               a@b..pl a@b.pl. a@b.p a@b.123 a@b_c.pl ł@b.pl a@xn--.pl";
    refuses(&bad.split(' ').collect::<Vec<_>>(), Email::parse);
    let long_local = format!("{}@example.com", "a".repeat(65));
    let long_label = format!("a@{}.com", "b".repeat(64));
    let too_long = format!("a@{}.com", vec!["c".repeat(60); 5].join("."));
    refuses(&["", "a b@c.pl", &long_local, &long_label, &too_long], Email::parse);
}

#[test]
fn phones() {
    let good = "601 234 567,PL,+48601234567; +44 20 7946 0958,PL,+442079460958; \
        0049 30 123456,PL,+4930123456; (030) 123-456,DE,+4930123456; \
        020 7946 0958,GB,+442079460958; 01 23 45 67 89,FR,+33123456789; \
        06 1234 5678,IT,+390612345678; 1 (212) 555-0100,US,+12125550100; \
        416.555.0100,CA,+14165550100; 8 912 345 67 89,RU,+79123456789; \
        06 1 234 5678,HU,+3612345678; +380 44 123 4567,DE,+380441234567";
    for case in good.split(';') {
        let v: Vec<&str> = case.split(',').map(str::trim).collect();
        assert_eq!(Phone::parse(v[0], country(v[1])).unwrap().as_str(), v[2], "{case}");
    }
    let bad = "abc,PL; ,PL; 601 234 56,PL; 0601234567,PL; +48 601 234 5678,PL; \
        +999 1234 5678,PL; +1 212 555 010,US; 601-234-567 ext 5,PL; 601+234567,PL; \
        +44 20 7946 09581,GB; +49 12345,DE; +33 1 2345 6789 0123 45,FR; ++48601234567,PL";
    for case in bad.split(';') {
        let v: Vec<&str> = case.split(',').map(str::trim).collect();
        refuses(&[v[0]], |s| Phone::parse(s, country(v[1])));
    }
    let p = Phone::parse("601234567", CountryCode::PL).unwrap();
    assert_eq!(format!("{p:?}"), "Phone(<redacted>)");
    assert!(all_countries().iter().all(|&c| calling_code(c).is_some()));
}

#[test]
fn pesels() {
    let id = NationalId::parse("44051401359", None).unwrap();
    assert_eq!(id, NationalId::Pesel("44051401359".into()));
    assert_eq!(id.birth_date(), Some(date!(1944 - 05 - 14)));
    assert_eq!(format!("{id:?}"), "Pesel(<redacted>)");
    let id = NationalId::parse(" 020708-03628 ", Some(CountryCode::PL)).unwrap();
    assert_eq!((id.as_str(), id.normalized().as_str()), ("02070803628", "02070803628"));
    assert_eq!(id.birth_date(), Some(date!(1902 - 07 - 08)));
    let born = |ten| NationalId::parse(&with_check(ten), None).unwrap().birth_date();
    assert_eq!(born("0022290000"), Some(date!(2000 - 02 - 29)));
    assert_eq!(born("9992310000"), Some(date!(1899 - 12 - 31)));
    assert_eq!(born("0141010000"), Some(date!(2101 - 01 - 01)));
    assert_eq!(born("9972310000"), Some(date!(2299 - 12 - 31)));
    // Right checksum, impossible dates: 30 February 1999, month 13, 29 February 2001,
    // day 0, month 93.
    assert_eq!(with_check("9902300000"), "99023000003");
    for ten in ["9902300000", "9913010000", "0122290000", "9901000000", "9993010000"] {
        let reason = NationalId::parse(&with_check(ten), None).unwrap_err().0;
        assert_eq!(reason, "encodes a birth date that does not exist", "{ten}");
    }
    let reason = NationalId::parse("44051401358", None).unwrap_err().0;
    assert_eq!(reason, "has an invalid PESEL checksum");
    let bad = ["", "4405140135", "440514013590", "4405140135X", "AB123456"];
    refuses(&bad, |s| NationalId::parse(s, Some(CountryCode::PL)));
    refuses(&bad, |s| NationalId::parse(s, None));
}

#[test]
fn other_national_ids() {
    let de = Some(country("DE"));
    let id = NationalId::parse(" t22-000 12 9 ", de).unwrap();
    assert_eq!(id, NationalId::Other("T22000129".into()));
    assert_eq!((id.birth_date(), format!("{id:?}")), (None, "Other(<redacted>)".into()));
    let pesel = NationalId::parse("44051401359", de).unwrap();
    assert!(matches!(pesel, NationalId::Pesel(_)));
    let other = NationalId::parse("44051401358", de).unwrap();
    assert!(matches!(other, NationalId::Other(_)));
    refuses(&["abc", "ABC_123", &"X".repeat(33), "ÄBC123"], |s| NationalId::parse(s, de));
}

#[test]
fn vat_ids() {
    for good in ["5260250274", "PL5260250274", "pl 526-025-02-74"] {
        assert_eq!(VatId::parse(good).unwrap().as_str(), "PL5260250274", "{good}");
    }
    assert_eq!(VatId::parse("de 123 456 789").unwrap().to_string(), "DE123456789");
    assert_eq!(VatId::parse("EL123456789").unwrap().as_str(), "EL123456789");
    assert_eq!(VatId::parse("FRXX123456789").unwrap().as_str(), "FRXX123456789");
    let bad = "5260250275 PL5260250275 526025027 PL12345 XX123456789 DE1 DE12345678901234 \
               DE12.3456 D";
    refuses(&bad.split(' ').collect::<Vec<_>>(), VatId::parse);
    refuses(&[""], VatId::parse);
}

#[test]
fn unit_slugs_and_tags() {
    for good in ["north", "pl-waw", "a", "a1", &"b".repeat(32)] {
        assert_eq!(UnitSlug::parse(good).unwrap().to_string(), good);
    }
    let bad = ["", "North", "1north", "-north", "north-", " north", "pl_waw", "łódź"];
    refuses(&bad, UnitSlug::parse);
    refuses(&[&"b".repeat(33)], UnitSlug::parse);
    assert!(UnitSlug::parse("alpha").unwrap() < UnitSlug::parse("beta").unwrap());
    let tag = Tag::parse("  VIP Klient ŁÓDŹ ").unwrap();
    assert_eq!(tag.as_str(), "vip klient łódź");
    assert_eq!(Tag::parse(&"Ż".repeat(50)).unwrap().to_string(), "ż".repeat(50));
    refuses(&["", "   ", "a\u{7}b", "tab\there", &"x".repeat(51)], Tag::parse);
}

#[test]
fn folding_and_tokens() {
    assert_eq!(fold("Łukasz Żółć"), "lukasz zolc");
    assert_eq!(name_tokens("Łukasz Żółć"), ["lukasz", "zolc"]);
    assert_eq!(fold("ĄĆĘŁŃÓŚŹŻ ąćęłńóśźż"), "acelnoszz acelnoszz");
    let folded = fold("Straße Æsir Øre Œuvre Đorđe Þór ÿ × ẞ İ ΑΒΓ Ж");
    assert_eq!(folded, "strasse aesir ore oeuvre dorde thor y × ss i αβγ ж");
    // First and last letter of each run of the table, so a shifted run cannot go unnoticed.
    let edges = fold("ĀąĆčĎđĒěĜģĤħĨıĲĳĴĵĶĸĹłŃŋŌőŒœŔřŚšŢŧŨųŴŵŶŸŹžſ");
    assert_eq!(edges, "aaccddeegghhiiijijjjkkllnnoooeoerrssttuuwwyyzzs");
    let tokens = name_tokens("Kowalska-Nowak O'Brien kowalska  ");
    assert_eq!(tokens, ["kowalska", "nowak", "o", "brien"]);
    assert!(name_tokens(" - ' ").is_empty());
    // Decomposed Unicode (as macOS writes it) folds as the composed form does.
    assert_eq!(name_tokens("Zie\u{328}ba Da\u{328}browska"), name_tokens("Zięba Dąbrowska"));
    assert_eq!(name_tokens("Zie\u{328}ba"), ["zieba"]);
    assert_eq!(fold("Z\u{307}o\u{301}\u{142}c\u{301}"), "zolc");
}

#[test]
fn the_name_index_holds_prefixes_from_three_to_six_characters() {
    assert_eq!(name_index_terms("dabrowska"), ["*dab", "*dabr", "*dabro", "*dabrow"]);
    assert_eq!(name_index_terms("nowak"), ["*now", "*nowa", "*nowak"]);
    assert_eq!(name_index_terms("ewa"), ["*ewa"]);
    assert_eq!(name_index_terms("jo"), ["jo"], "a short token as itself");
    assert_eq!(name_index_terms("o"), ["o"]);
    assert_eq!(name_index_terms("жанна"), ["*жан", "*жанн", "*жанна"], "character, not byte, boundaries");
    assert_eq!(name_index_terms("żółtkowska").last().map(String::as_str), Some("*żółtko"));
}

#[test]
fn a_search_word_is_looked_up_by_at_most_six_characters() {
    assert_eq!(name_search_term("dabrowskiej"), "*dabrow");
    assert_eq!(name_search_term("dabrow"), "*dabrow");
    assert_eq!(name_search_term("dabr"), "*dabr");
    assert_eq!(name_search_term("zol"), "*zol");
    assert_eq!(name_search_term("zo"), "zo", "shorter words match whole words only");
    assert_eq!(name_search_term("жаннаaa"), "*жаннаa");
}

#[test]
fn every_word_a_search_may_look_up_for_a_token_is_indexed() {
    // Search finds a person by any word that begins a token of their name (three characters or
    // more) or equals it: the term looked up for each such word must be one the token indexed.
    for token in ["o", "jo", "ewa", "anna", "nowak", "dabrow", "dabrowska", "wisniewska", "żółtkowska", "жанна", "łęczycka99"] {
        let terms = name_index_terms(token);
        let ends: Vec<usize> = token.char_indices().map(|(i, c)| i + c.len_utf8()).collect();
        for (n, &end) in ends.iter().enumerate() {
            let word = &token[..end];
            if n + 1 >= NAME_PREFIX_MIN || end == token.len() {
                assert!(terms.contains(&name_search_term(word)), "{word:?} of {token:?}: {terms:?}");
            }
        }
    }
}

#[test]
fn free_text() {
    assert!(check_text("line one\nline two\r\n\tindented ", 100).is_ok());
    assert!(check_text(&"ż".repeat(100), 100).is_ok());
    let reason = check_text(&"ż".repeat(101), 100).unwrap_err().0;
    assert_eq!(reason, "must be at most 100 characters");
    let reason = check_text("bell\u{7}", 100).unwrap_err().0;
    assert_eq!(reason, "must not contain control characters");
    assert!(check_text("nul\0", 100).is_err() && check_text("del\u{7f}", 100).is_err());
}

proptest! {
    #[test]
    fn fold_is_idempotent(s in ".*", latin in "[a-zA-Z À-ſẞİ'-]{0,30}") {
        prop_assert_eq!(fold(&fold(&s)), fold(&s));
        prop_assert_eq!(fold(&fold(&latin)), fold(&latin));
    }

    #[test]
    fn phone_output_reparses_to_itself(
        s in "[+]?(00)?[0-9][0-9 ().-]{0,18}",
        region in proptest::sample::select(all_countries()),
        other in proptest::sample::select(all_countries()),
    ) {
        if let Ok(p) = Phone::parse(&s, region) {
            prop_assert_eq!(Phone::parse(p.as_str(), other).unwrap(), p);
        }
    }

    #[test]
    fn national_id_never_panics_nor_quotes_input(
        s in prop_oneof![".*", "[0-9 -]{0,14}", "[A-Za-z0-9 -]{0,40}"],
        country in proptest::option::of(proptest::sample::select(all_countries())),
    ) {
        match NationalId::parse(&s, country) {
            Ok(id) => prop_assert_eq!(NationalId::parse(id.as_str(), country).unwrap(), id),
            Err(e) => prop_assert!(s.chars().count() <= 3 || !e.0.contains(&s)),
        }
    }

    #[test]
    fn email_parse_never_panics(
        s in prop_oneof![".*", "[a-zA-Z0-9.@_+-]{0,40}", "[a-z.]{1,10}@[a-zA-Zżó.-]{1,20}"],
    ) {
        match Email::parse(&s) {
            Ok(e) => prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e),
            Err(e) => prop_assert!(s.chars().count() <= 3 || !e.0.contains(&s)),
        }
    }
}

#[test]
fn spaced_phones_read_back_as_the_same_number() {
    assert_eq!(spaced_phone("+48601222333"), "+48 601 222 333");
    assert_eq!(spaced_phone("+14155550100"), "+1 415 555 0100");
    assert_eq!(spaced_phone("+4930123456"), "+49 301 234 56");
    assert_eq!(spaced_phone("not a phone"), "not a phone");
    assert_eq!(spaced_phone(""), "");
    for e164 in ["+48601222333", "+14155550100", "+4930123456", "+442079460000"] {
        assert_eq!(Phone::parse(&spaced_phone(e164), CountryCode::PL).unwrap().as_str(), e164);
    }
}
