//! The message catalogue: every string the UI shows, in English and Polish, and the locale's
//! formats for dates and PLN amounts. A key missing a language does not compile: each entry of
//! [`catalogue!`] names both.

/// The two languages of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Pl,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Pl => "pl",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "pl" => Some(Lang::Pl),
            _ => None,
        }
    }

    /// The first language of `Accept-Language` (by quality) that the UI speaks; English else.
    pub fn from_accept_language(header: &str) -> Self {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut bits = part.split(';');
            let tag = bits.next().unwrap_or_default().trim();
            let q = bits.find_map(|b| b.trim().strip_prefix("q=")).and_then(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or_default();
            if let Some(lang) = Lang::parse(primary)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::En)
    }

    pub fn t(self, m: M) -> &'static str {
        match self {
            Lang::En => m.en(),
            Lang::Pl => m.pl(),
        }
    }

    /// Unix microseconds as a local-looking date and time (UTC), in the language's format.
    pub fn datetime(self, micros: i64) -> String {
        let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000) else { return String::new() };
        match self {
            Lang::En => format!("{:04}-{:02}-{:02} {:02}:{:02}", t.year(), t.month() as u8, t.day(), t.hour(), t.minute()),
            Lang::Pl => format!("{:02}.{:02}.{:04} {:02}:{:02}", t.day(), t.month() as u8, t.year(), t.hour(), t.minute()),
        }
    }

    /// An ISO date (`2026-12-04`) in the language's format; anything else unchanged.
    pub fn date(self, iso: &str) -> String {
        let parts: Vec<&str> = iso.get(..10).unwrap_or(iso).split('-').collect();
        match (self, parts.as_slice()) {
            (Lang::Pl, [y, m, d]) => format!("{d}.{m}.{y}"),
            _ => iso.get(..10).unwrap_or(iso).to_string(),
        }
    }

    /// A decimal amount (`12500.50`) with its currency: `12 500,50 zł` or `PLN 12,500.50`.
    pub fn money(self, amount: &str, currency: &str) -> String {
        let (int, frac) = amount.split_once('.').unwrap_or((amount, "00"));
        let (sign, digits) = int.strip_prefix('-').map(|d| ("-", d)).unwrap_or(("", int));
        let sep = match self {
            Lang::En => ',',
            Lang::Pl => '\u{a0}',
        };
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(sep);
            }
            grouped.push(c);
        }
        let frac = format!("{frac:0<2}");
        match (self, currency) {
            (Lang::Pl, "PLN") => format!("{sign}{grouped},{frac}\u{a0}zł"),
            (Lang::Pl, c) => format!("{sign}{grouped},{frac}\u{a0}{c}"),
            (Lang::En, c) => format!("{c}\u{a0}{sign}{grouped}.{frac}"),
        }
    }
}

macro_rules! catalogue {
    ($($key:ident => $en:expr, $pl:expr;)*) => {
        /// A message of the UI.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum M { $($key),* }
        impl M {
            pub fn en(self) -> &'static str { match self { $(M::$key => $en),* } }
            pub fn pl(self) -> &'static str { match self { $(M::$key => $pl),* } }
            #[cfg(test)]
            pub const ALL: &'static [M] = &[$(M::$key),*];
        }
    };
}

catalogue! {
    AppName => "Sejf", "Sejf";
    SkipToContent => "Skip to content", "Przejdź do treści";
    SignIn => "Sign in", "Zaloguj się";
    SignOut => "Sign out", "Wyloguj się";
    Username => "User name", "Nazwa użytkownika";
    Password => "Password", "Hasło";
    TotpCode => "Code from your authenticator app (or a recovery code)", "Kod z aplikacji uwierzytelniającej (lub kod odzyskiwania)";
    BadCredentials => "Wrong user name, password or code.", "Błędna nazwa użytkownika, hasło lub kod.";
    MfaRequired => "Enter the code from your authenticator app.", "Wpisz kod z aplikacji uwierzytelniającej.";
    Throttled => "Too many failed sign-ins. Try again later.", "Zbyt wiele nieudanych prób logowania. Spróbuj później.";
    NetworkNotAllowed => "Your role may not sign in from this network.", "Twoja rola nie może logować się z tej sieci.";
    SignedOutIdle => "You were signed out. Sign in again.", "Zostałeś wylogowany. Zaloguj się ponownie.";
    Language => "Language", "Język";
    Change => "Change", "Zmień";
    EnrolTitle => "Set up two-step sign-in", "Skonfiguruj logowanie dwuetapowe";
    EnrolIntro => "Every account needs a second factor. Scan the code with an authenticator app, then enter the code it shows.", "Każde konto wymaga drugiego składnika. Zeskanuj kod aplikacją uwierzytelniającą i wpisz pokazany przez nią kod.";
    EnrolStart => "Show my code", "Pokaż mój kod";
    EnrolSecret => "Or type this key into the app:", "Albo wpisz ten klucz w aplikacji:";
    QrLabel => "QR code of your authenticator key", "Kod QR klucza uwierzytelniającego";
    Confirm => "Confirm", "Potwierdź";
    CodeWrong => "This is not the current code. Try the next one.", "To nie jest bieżący kod. Spróbuj następnego.";
    RecoveryTitle => "Your recovery codes", "Twoje kody odzyskiwania";
    RecoveryIntro => "Keep these codes somewhere safe: each signs you in once if you lose your phone. They are shown only now.", "Przechowuj te kody w bezpiecznym miejscu: każdy pozwala zalogować się raz, gdy zgubisz telefon. Są pokazywane tylko teraz.";
    RecoveryDone => "I have saved them: sign in", "Zapisałem je: zaloguj się";
    People => "People", "Osoby";
    Companies => "Companies", "Firmy";
    Deals => "Deals", "Szanse sprzedaży";
    Activities => "Activities", "Aktywności";
    MyTasks => "My tasks", "Moje zadania";
    Audit => "Audit", "Audyt";
    Privacy => "Privacy", "Prywatność";
    MainNav => "Main", "Główne";
    FirstName => "First name", "Imię";
    LastName => "Last name", "Nazwisko";
    Name => "Name", "Nazwa";
    Email => "E-mail", "E-mail";
    Phone => "Phone", "Telefon";
    NationalId => "PESEL", "PESEL";
    BirthDate => "Birth date", "Data urodzenia";
    Street => "Street", "Ulica";
    City => "City", "Miasto";
    PostalCode => "Postal code", "Kod pocztowy";
    Country => "Country", "Kraj";
    Tags => "Tags (comma-separated)", "Tagi (oddzielone przecinkami)";
    Notes => "Notes", "Notatki";
    Unit => "Unit", "Jednostka";
    Owner => "Owner", "Właściciel";
    Tag => "Tag", "Tag";
    Created => "Created", "Utworzono";
    Updated => "Updated", "Zmieniono";
    Filter => "Filter", "Filtruj";
    OnlyMine => "Only mine", "Tylko moje";
    Search => "Search", "Szukaj";
    SearchHint => "Exact match on e-mail, phone or PESEL; name by whole words.", "Dokładne dopasowanie e-maila, telefonu lub PESEL; nazwisko całymi słowami.";
    SearchResults => "Search results", "Wyniki wyszukiwania";
    NextPage => "Next page", "Następna strona";
    NoRecords => "Nothing here yet.", "Na razie nic tu nie ma.";
    NewPerson => "New person", "Nowa osoba";
    EditPerson => "Edit person", "Edytuj osobę";
    Save => "Save", "Zapisz";
    Cancel => "Cancel", "Anuluj";
    Edit => "Edit", "Edytuj";
    Delete => "Delete", "Usuń";
    DeleteConfirm => "Delete this record for good? This cannot be undone.", "Usunąć ten rekord na zawsze? Tego nie można cofnąć.";
    YesDelete => "Yes, delete", "Tak, usuń";
    Deleted => "Deleted.", "Usunięto.";
    SavedOk => "Saved.", "Zapisano.";
    FixErrors => "Please correct the fields marked below.", "Popraw zaznaczone poniżej pola.";
    Masked => "masked", "ukryte";
    MaskedKept => "You may not see this field; it is kept as it is.", "Nie możesz widzieć tego pola; pozostaje bez zmian.";
    Reveal => "Reveal for a purpose", "Pokaż w określonym celu";
    RevealFields => "Fields to reveal", "Pola do pokazania";
    Purpose => "Purpose (recorded in the audit trail)", "Cel (zapisywany w dzienniku audytu)";
    RevealButton => "Reveal", "Pokaż";
    Revealed => "Shown for the stated purpose; the read is recorded.", "Pokazano w podanym celu; odczyt został zapisany.";
    NotFoundTitle => "Not found", "Nie znaleziono";
    NotFoundText => "There is no such page, or you may not see it.", "Nie ma takiej strony albo nie masz do niej dostępu.";
    ForbiddenTitle => "Not allowed", "Brak uprawnień";
    ForbiddenText => "Your role may not do this.", "Twoja rola nie pozwala na to działanie.";
    CsrfTitle => "The form expired", "Formularz wygasł";
    CsrfText => "The form was not sent from this session. Go back, reload the page and try again.", "Formularz nie pochodzi z tej sesji. Wróć, odśwież stronę i spróbuj ponownie.";
    ErrorTitle => "Something went wrong", "Coś poszło nie tak";
    ErrorText => "The request could not be completed. Try again in a moment.", "Nie udało się wykonać żądania. Spróbuj za chwilę.";
    BudgetText => "You have read as many people as your role may per hour.", "Odczytałeś tylu klientów, ilu twoja rola może w ciągu godziny.";
    ConflictText => "The record changed meanwhile. Reload it and try again.", "Rekord zmienił się w międzyczasie. Odśwież go i spróbuj ponownie.";
    Back => "Back", "Wstecz";
    Actions => "Actions", "Działania";
    Details => "Details", "Szczegóły";
    SignedInAs => "Signed in as", "Zalogowano jako";
    FieldRequired => "is required", "jest wymagane";
    NewCompany => "New company", "Nowa firma";
    CompanySearch => "Company name or NIP", "Nazwa firmy lub NIP";
    VatId => "NIP (VAT id)", "NIP";
    Website => "Website", "Strona WWW";
    Timeline => "Timeline", "Historia";
    Title => "Title", "Tytuł";
    Stage => "Stage", "Etap";
    Amount => "Amount (PLN)", "Kwota (PLN)";
    ExpectedClose => "Expected close", "Planowane zamknięcie";
    Total => "Total", "Suma";
    FirstFifty => "first 50 shown", "pokazano pierwsze 50";
    MoveTo => "Move to stage", "Przenieś do etapu";
    NewDeal => "Add a deal", "Dodaj szansę sprzedaży";
    Kind => "Kind", "Rodzaj";
    Body => "Description", "Opis";
    Due => "Due", "Termin";
    Done => "Done", "Wykonane";
    MarkDone => "Mark done", "Oznacz jako wykonane";
    KindCall => "Call", "Rozmowa telefoniczna";
    KindNote => "Note", "Notatka";
    KindEmail => "E-mail", "E-mail";
    KindMeeting => "Meeting", "Spotkanie";
    KindTask => "Task", "Zadanie";
    NewActivity => "New activity", "Nowa aktywność";
    AddActivity => "Add to timeline", "Dodaj do historii";
    Verification => "Trail verification", "Weryfikacja dziennika";
    LastCheckpoint => "Events covered by the last signed checkpoint", "Zdarzenia objęte ostatnim podpisanym punktem kontrolnym";
    NotVerifiedYet => "Not verified from this screen since the server started.", "Nie weryfikowano z tego ekranu od uruchomienia serwera.";
    VerifyNow => "Verify the whole trail now", "Zweryfikuj teraz cały dziennik";
    TrailIntact => "Intact: events checked", "Nienaruszony: sprawdzono zdarzeń";
    TrailBroken => "BROKEN at", "NARUSZONY przy";
    Alerts => "Security alerts", "Alerty bezpieczeństwa";
    WhoAccessed => "Person id (who accessed this person)", "Id osoby (kto miał dostęp do tej osoby)";
    AuditAction => "Action", "Działanie";
    From => "From", "Od";
    To => "To", "Do";
    When => "When", "Kiedy";
    Record => "Record", "Rekord";
    FieldsShown => "Fields shown", "Pokazane pola";
    PurposeShort => "Purpose", "Cel";
    Outcome => "Outcome", "Wynik";
    PrivacyIntro => "Find a data subject by e-mail to export everything Sejf holds about them (GDPR art. 15). The export is recorded.", "Znajdź osobę po adresie e-mail, aby wyeksportować wszystko, co Sejf o niej przechowuje (art. 15 RODO). Eksport jest rejestrowany.";
    ExportData => "Export this person's data (JSON)", "Eksportuj dane tej osoby (JSON)";
    FlagKind => "Flag", "Oznaczenie";
    Restriction => "Restriction of processing (art. 18)", "Ograniczenie przetwarzania (art. 18)";
    LegalHold => "Legal hold (blocks erasure)", "Blokada prawna (wstrzymuje usunięcie)";
    Reason => "Reason", "Powód";
    SetFlag => "Set", "Ustaw";
    LiftFlag => "Lift", "Zdejmij";
    RecordRequest => "Record a data-subject request", "Zarejestruj żądanie osoby";
    PersonId => "Person id (when known)", "Id osoby (jeśli znane)";
    ReceivedOn => "Received on", "Data otrzymania";
    IdentityCheck => "How the identity was checked", "Jak sprawdzono tożsamość";
    RecordBreach => "Record a breach", "Zarejestruj naruszenie";
    Nature => "What happened", "Co się stało";
    DataCategoriesComma => "Data categories (comma-separated: identification, contact, national_id, notes)", "Kategorie danych (po przecinku: identification, contact, national_id, notes)";
    BreachActor => "User whose reads it concerns (for the affected set)", "Użytkownik, którego odczytów dotyczy (do ustalenia osób)";
    Measures => "Measures taken", "Podjęte środki";
    RegisterProcessor => "Register a processor", "Zarejestruj podmiot przetwarzający";
    Safeguard => "Transfer safeguard (outside the EEA)", "Zabezpieczenie transferu (poza EOG)";
    DpaSigned => "Data-processing agreement signed on", "Data podpisania umowy powierzenia";
    MarkNotified => "UODO notified", "Zgłoszono do UODO";
    PasswordTitle => "Change password", "Zmień hasło";
    PasswordForced => "An administrator set your password: choose your own before you continue.", "Hasło ustawił administrator: ustaw własne, zanim przejdziesz dalej.";
    CurrentPassword => "Current password", "Obecne hasło";
    NewPassword => "New password", "Nowe hasło";
    PasswordChanged => "Password changed. Sign in with the new one.", "Hasło zmienione. Zaloguj się nowym hasłem.";
    PrivacyRequests => "Data-subject requests", "Żądania osób, których dane dotyczą";
    PrivacyBreaches => "Breaches", "Naruszenia ochrony danych";
    PrivacyProcessors => "Processors", "Podmioty przetwarzające";
    Overdue => "overdue", "po terminie";
    Detected => "Detected", "Wykryto";
    NotifyBy => "Notify UODO by", "Zgłosić do UODO do";
    AuthorityNotified => "Authority notified", "Zgłoszono do UODO";
    NotYet => "not yet", "jeszcze nie";
    Service => "Service", "Usługa";
    DataCategories => "Data categories", "Kategorie danych";
    NextReview => "Next review", "Następny przegląd";
    MayReceive => "may receive its categories", "może otrzymywać swoje kategorie";
    EraseData => "Erase this person (crypto-shredding)", "Usuń tę osobę (kryptograficznie)";
    EraseReason => "Reason for the erasure", "Powód usunięcia";
    EraseConfirm => "I confirm: this cannot be undone", "Potwierdzam: tego nie można cofnąć";
    Erased => "The person was erased. Keep the signed receipt:", "Osoba została usunięta. Zachowaj podpisane potwierdzenie:";
    Users => "Users", "Użytkownicy";
    Approvals => "Pending approvals", "Oczekujące zatwierdzenia";
    Role => "Role", "Rola";
    Units => "Units", "Jednostki";
    UnitsComma => "Units (comma-separated)", "Jednostki (oddzielone przecinkami)";
    Status => "Status", "Stan";
    Disabled => "disabled", "zablokowany";
    Active => "active", "aktywny";
    NewUser => "Add a user", "Dodaj użytkownika";
    InitialPassword => "Initial password", "Hasło początkowe";
    Enable => "Enable", "Odblokuj";
    Disable => "Disable", "Zablokuj";
    Unlock => "Lift sign-in lock", "Zdejmij blokadę logowania";
    ResetMfa => "Reset TOTP", "Resetuj TOTP";
    Requester => "Requested by", "Wnioskujący";
    Records => "Records", "Rekordy";
    Approve => "Approve", "Zatwierdź";
    Reject => "Reject", "Odrzuć";
}

/// A validation reason from the domain in the UI's language: the domain's English reasons are
/// known phrases; an unknown one is shown as it is rather than lost.
pub fn reason(lang: Lang, en: &str) -> String {
    if lang == Lang::En {
        return en.to_string();
    }
    const PL: &[(&str, &str)] = &[
        ("is not a valid e-mail address", "nie jest poprawnym adresem e-mail"),
        ("is not a valid phone number", "nie jest poprawnym numerem telefonu"),
        ("is not a valid PESEL", "nie jest poprawnym numerem PESEL"),
        ("checksum", "ma błędną sumę kontrolną"),
        ("is required", "jest wymagane"),
        ("too long", "jest za długie"),
        ("date", "nie jest poprawną datą (RRRR-MM-DD)"),
        ("NIP", "nie jest poprawnym numerem NIP"),
        ("postal code", "nie jest poprawnym kodem pocztowym"),
        ("country", "nie jest kodem kraju (np. PL)"),
        ("say why you need the data", "podaj cel, co najmniej 5 widocznych znaków"),
        ("not the current code", "to nie jest bieżący kod"),
        ("stage", "nie jest etapem tego lejka"),
        ("amount", "nie jest poprawną kwotą"),
        ("at least one", "podaj co najmniej jedno"),
    ];
    let lower = en.to_lowercase();
    PL.iter().find(|(k, _)| lower.contains(&k.to_lowercase())).map(|(_, pl)| (*pl).to_string()).unwrap_or_else(|| en.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_has_both_languages() {
        for m in M::ALL {
            assert!(!m.en().is_empty() && !m.pl().is_empty(), "{m:?}");
        }
    }

    #[test]
    fn accept_language_picks_the_best_spoken_language() {
        assert_eq!(Lang::from_accept_language("pl-PL,pl;q=0.9,en;q=0.8"), Lang::Pl);
        assert_eq!(Lang::from_accept_language("de-DE,en;q=0.5,pl;q=0.7"), Lang::Pl);
        assert_eq!(Lang::from_accept_language("de-DE"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
    }

    #[test]
    fn amounts_and_dates_follow_the_locale() {
        assert_eq!(Lang::Pl.money("12500.5", "PLN"), "12\u{a0}500,50\u{a0}zł");
        assert_eq!(Lang::En.money("1234567.00", "PLN"), "PLN\u{a0}1,234,567.00");
        assert_eq!(Lang::En.money("999", "EUR"), "EUR\u{a0}999.00");
        assert_eq!(Lang::Pl.date("2026-12-04"), "04.12.2026");
        assert_eq!(Lang::Pl.datetime(0), "01.01.1970 00:00");
        assert_eq!(Lang::En.datetime(0), "1970-01-01 00:00");
    }
}
