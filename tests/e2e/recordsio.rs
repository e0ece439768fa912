//! Companies, deals and activities in and out as CSV, linked the way a spreadsheet user links
//! them (a person by e-mail, a company by NIP or name, a deal by the id its export gave it):
//! Polish headers and amounts, all-or-nothing on a bad link, re-imports that skip what is held,
//! and a whole CRM moved to a second installation through its exports.

use crate::harness::{Backend, Install, raw_db};
use crate::on_both;

on_both!(
    companies_deals_and_activities_import_linked_and_move_between_installations,
    contacts_from_phones_import_and_people_export_as_vcards
);

fn run(install: &Install, args: &[&str]) -> (i32, String, String) {
    let out = install.cli(args, None);
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

async fn count(install: &Install, table: &str) -> i64 {
    let db = raw_db(install).await;
    let sql = match table {
        "companies" => "SELECT COUNT(*) FROM companies",
        "deals" => "SELECT COUNT(*) FROM deals",
        "activities" => "SELECT COUNT(*) FROM activities",
        _ => "SELECT COUNT(*) FROM people",
    };
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&db).await.unwrap();
    db.close().await;
    n
}

fn import(install: &Install, file: &std::path::Path, kind: &str, text: &str) -> (i32, String, String) {
    std::fs::write(file, text).unwrap();
    run(install, &["import", file.to_str().unwrap(), "--kind", kind, "--owner", "ewa"])
}

/// An export to standard output, as text.
fn export(install: &Install, kind: &str) -> String {
    let (code, out, err) = run(install, &["export", "--kind", kind]);
    assert_eq!(code, 0, "{err}");
    out
}

async fn companies_deals_and_activities_import_linked_and_move_between_installations(backend: Backend) {
    let a = Install::new(backend).await;
    a.add_user("ewa", "sales", &["north"]);
    let dir = &a.root;
    let people = dir.join("ludzie.csv");
    let (code, _, err) =
        import(&a, &people, "people", "imię;nazwisko;e-mail\nŁukasz;Zięba;lukasz@zieba.pl\nAnna;Dąbrowska;anna@dabrowska.pl\n");
    assert_eq!(code, 0, "{err}");

    // Companies with Polish headers; the NIP in any of its usual spellings.
    let companies = dir.join("firmy.csv");
    let (code, out, err) = import(
        &a,
        &companies,
        "companies",
        "Nazwa;NIP;WWW\nZięba Sp. z o.o.;525-000-00-09;https://zieba.pl\nDąbrowska i Syn;PL 5260250274;\nBez NIP-u S.A.;;\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 3 companies, skipped 0 duplicates in "), "{out}");
    // The rate, as a people import reports it, over the time until the store was closed.
    assert!(out.trim_end().ends_with(" rows/s)"), "{out}");

    // Deals name their person by e-mail and company by NIP or name; a Polish amount.
    let deals = dir.join("szanse.csv");
    let text = "Tytuł;Kwota;Waluta;Etap;E-mail;NIP;Firma\n\
                200 licencji;12 500,50;PLN;;lukasz@zieba.pl;5250000009;\n\
                Wdrożenie;800;EUR;;anna@dabrowska.pl;;Bez NIP-u S.A.\n";
    // A link to nothing refuses the whole file and names the line.
    let bad = text.replace("anna@dabrowska.pl", "nikt@nigdzie.pl");
    let (code, _, err) = import(&a, &deals, "deals", &bad);
    assert_eq!(code, 1);
    assert!(err.contains("line 3, person_email: no person has this e-mail"), "{err}");
    assert!(!err.contains("nikt@nigdzie.pl"), "errors name the line, not the value: {err}");
    assert_eq!(count(&a, "deals").await, 0, "nothing of a refused file is written");
    let (code, out, err) = import(&a, &deals, "deals", text);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 2 deals"), "{out}");

    let exported = export(&a, "deals");
    assert!(
        exported.starts_with("id,title,amount,currency,stage,expected_close,person_email,company_vat_id,company_name\r\n"),
        "{exported}"
    );
    assert!(exported.contains(",200 licencji,12500.5,PLN,lead,,lukasz@zieba.pl,PL5250000009,\r\n"), "{exported}");
    assert!(exported.contains(",Wdrożenie,800,EUR,lead,,anna@dabrowska.pl,,Bez NIP-u S.A.\r\n"), "{exported}");
    let deal_id = exported.lines().nth(1).unwrap().split(',').next().unwrap().to_string();

    let activities = dir.join("zadania.csv");
    let (code, out, err) = import(
        &a,
        &activities,
        "activities",
        &format!(
            "rodzaj,treść,termin,zrobione,e-mail,deal_id\ncall,\"Zadzwonić, potwierdzić\",2027-01-15T10:00:00Z,nie,lukasz@zieba.pl,{deal_id}\nnote,Spotkanie udane,,tak,anna@dabrowska.pl,\n"
        ),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 2 activities"), "{out}");

    // The same files again: every row is recognised and skipped; --on-duplicate fail refuses.
    let (code, out, err) = run(&a, &["import", companies.to_str().unwrap(), "--kind", "companies", "--owner", "ewa"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 0 companies, skipped 3 duplicates"), "{out}");
    let (code, out, err) = run(&a, &["import", deals.to_str().unwrap(), "--kind", "deals", "--owner", "ewa"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 0 deals, skipped 2 duplicates"), "{out}");
    let (code, _, err) = run(&a, &["import", deals.to_str().unwrap(), "--kind", "deals", "--owner", "ewa", "--on-duplicate", "fail"]);
    assert_eq!(code, 1);
    assert!(err.contains("2 of 2 rows match records already held") && err.contains("nothing was imported"), "{err}");
    // update is for people; a records import says so rather than guessing.
    let (code, _, err) = run(&a, &["import", deals.to_str().unwrap(), "--kind", "deals", "--owner", "ewa", "--on-duplicate", "update"]);
    assert_eq!(code, 1);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("only people are updated"), "{err}");

    // --excel: `;`, BOM, a decimal comma.
    let xl = dir.join("szanse-excel.csv");
    let (code, _, err) = run(&a, &["export", "--kind", "deals", "--excel", "--out", xl.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let bytes = std::fs::read(&xl).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    assert!(String::from_utf8_lossy(&bytes).contains(";200 licencji;12500,5;PLN;"));

    // Everything moves to a second installation through its exports, in order, links intact.
    let b = Install::new(backend).await;
    b.add_user("ewa", "sales", &["north"]);
    for kind in ["companies", "people", "deals", "activities"] {
        let file = b.root.join(format!("{kind}.csv"));
        let (code, _, err) = run(&a, &["export", "--kind", kind, "--out", file.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        let (code, out, err) = run(&b, &["import", file.to_str().unwrap(), "--kind", kind, "--owner", "ewa"]);
        assert_eq!(code, 0, "{kind}: {err}");
        assert!(out.contains("imported 2 ") || out.contains("imported 3 "), "{kind}: {out}");
    }
    for kind in ["companies", "deals", "activities"] {
        assert_eq!(export(&a, kind), export(&b, kind), "{kind} are the same in both installations");
    }
    assert_eq!(count(&b, "activities").await, 2);
}

/// Two contacts as Android's Contacts app exports them (vCard 2.1, Polish letters
/// quoted-printable), one as an iPhone does (3.0, grouped properties, a photo).
const PHONE_CONTACTS: &str = "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Zi=C4=99ba;=C5=81ukasz;;;\r\n\
    FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=C5=81ukasz Zi=C4=99ba\r\nTEL;CELL;PREF:+48 601 222 333\r\nEMAIL;HOME:lukasz@zieba.pl\r\n\
    ADR;HOME;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;;ul. D=C5=82uga 5;=C5=81=C3=B3d=C5=BA;;90-001;PL\r\nBDAY:1985-03-07\r\nEND:VCARD\r\n\
    BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:D=C4=85browska;Anna;;;\r\nTEL;CELL:602000111\r\nEND:VCARD\r\n\
    BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17.0//EN\r\nN:Żółć;Ewa;;;\r\nFN:Ewa Żółć\r\n\
    item1.EMAIL;type=INTERNET;type=pref:ewa@zolc.pl\r\nitem1.X-ABLabel:_$!<Other>!$_\r\nTEL;type=CELL;type=VOICE;type=pref:+48 603 111 222\r\n\
    CATEGORIES:klient\r\nPHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRg==\r\nEND:VCARD\r\n";

async fn contacts_from_phones_import_and_people_export_as_vcards(backend: Backend) {
    let a = Install::new(backend).await;
    a.add_user("ewa", "sales", &["north"]);
    let file = a.root.join("kontakty.vcf");
    std::fs::write(&file, PHONE_CONTACTS).unwrap();
    let (code, out, err) = run(&a, &["import", file.to_str().unwrap(), "--owner", "ewa"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 3 people"), "{out}");
    assert!(err.contains("vCard, 3 cards"), "{err}");
    let csv = export(&a, "people");
    assert!(csv.contains("Łukasz,Zięba,lukasz@zieba.pl,+48601222333,,1985-03-07,ul. Długa 5,Łódź,90-001,PL"), "{csv}");
    assert!(csv.contains("Ewa,Żółć,ewa@zolc.pl,+48603111222,") && csv.contains("Anna,Dąbrowska,,+48602000111"), "{csv}");

    // The same contacts again are the same people.
    let (code, out, err) = run(&a, &["import", file.to_str().unwrap(), "--owner", "ewa"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 0 people, updated 0, skipped 3 duplicates"), "{out}");

    // A PESEL stays out of the cards; everything else goes in, and the cards import elsewhere.
    let with_pesel = a.root.join("z-peselem.csv");
    std::fs::write(&with_pesel, "imię,nazwisko,PESEL\nJan,Nowak,44051401359\n").unwrap();
    assert_eq!(run(&a, &["import", with_pesel.to_str().unwrap(), "--owner", "ewa"]).0, 0);
    let cards = a.root.join("eksport.vcf");
    let (code, out, err) = run(&a, &["export", "--format", "vcard", "--out", cards.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("exported 4 people"), "{out}");
    let text = std::fs::read_to_string(&cards).unwrap();
    assert_eq!(text.matches("BEGIN:VCARD\r\nVERSION:4.0\r\n").count(), 4, "{text}");
    assert!(!text.contains("44051401359"), "never the PESEL in a vCard");
    assert!(text.contains("N:Zięba;Łukasz;;;\r\n") && text.contains("TEL;TYPE=CELL:+48601222333\r\n"), "{text}");
    let b = Install::new(backend).await;
    b.add_user("ewa", "sales", &["north"]);
    let (code, out, err) = run(&b, &["import", cards.to_str().unwrap(), "--owner", "ewa"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 4 people"), "{out}");
    let moved = export(&b, "people");
    assert!(moved.contains("Jan,Nowak,,,,") && moved.contains("Łukasz,Zięba,lukasz@zieba.pl,+48601222333"), "{moved}");

    // vCards are for people; a broken card is named by its number and nothing is imported.
    let (code, _, err) = run(&a, &["export", "--kind", "deals", "--format", "vcard"]);
    assert_eq!(code, 1);
    assert!(err.contains("--format vcard: people only"), "{err}");
    let broken = a.root.join("zepsuty.vcf");
    std::fs::write(&broken, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jan Kowalski\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nEMAIL:bez.nazwy@example.pl\r\nEND:VCARD\r\n").unwrap();
    let (code, _, err) = run(&b, &["import", broken.to_str().unwrap(), "--owner", "ewa"]);
    assert_eq!(code, 1);
    assert!(err.contains("card 2: has no name") && !err.contains("bez.nazwy"), "{err}");
    assert_eq!(count(&b, "people").await, 4);
}
