//! Validated value types for customer and company data: codes, contact details, identifiers,
//! tags, and the text folding behind name search.
//!
//! A value of any type here can only come out of its parser, so holding one means the input
//! passed validation and is in canonical form (upper-case codes, E.164 phones, digits-only PESEL).
//!
//! Invariants the rest of Sejf relies on:
//! - An [`Invalid`] reason never quotes the refused input. Reasons reach HTTP error bodies and
//!   logs, and the input is usually someone's personal data.
//! - [`Email`], [`Phone`] and [`NationalId`] have a redacted `Debug` and no `Display`, so a stray
//!   `{:?}` in a log line cannot leak them; reading them takes a deliberate `as_str()`.
//! - `normalized()`, [`fold`] and [`name_tokens`] feed the blind indexes. Changing their output
//!   silently breaks look-ups of records already stored, so treat them as a stored format.

use std::collections::HashSet;
use std::fmt;

use time::{Date, Month};

/// Why a value was refused; a short human reason in English that never quotes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid(reason: &str) -> Invalid {
    Invalid(reason.to_owned())
}

fn err<T>(reason: &str) -> Result<T, Invalid> {
    Err(invalid(reason))
}

/// Currently assigned ISO 3166-1 alpha-2 codes, sorted.
const COUNTRIES: &str = "\
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS \
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE \
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM \
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC \
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA \
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO \
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Active ISO 4217 codes, sorted. Withdrawn ones (HRK, ANG, BGN, SLL, ZWL, ...) are left out on
/// purpose: new records should not be priced in a currency that no longer exists.
const CURRENCIES: &str = "\
AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD \
CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP \
GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR \
KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN \
MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD \
SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX \
USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF \
XPT XSU XTS XUA XXX YER ZAR ZMW ZWG";

/// ITU-T E.164 country calling code of every region in [`COUNTRIES`]. Territories without their
/// own code use the one they are dialled through (AQ and HM via +672, TF via +262, BV via +47).
const CALLING_CODES: &str = "\
AD376 AE971 AF93 AG1 AI1 AL355 AM374 AO244 AQ672 AR54 AS1 AT43 AU61 AW297 AX358 AZ994 BA387 \
BB1 BD880 BE32 BF226 BG359 BH973 BI257 BJ229 BL590 BM1 BN673 BO591 BQ599 BR55 BS1 BT975 BV47 \
BW267 BY375 BZ501 CA1 CC61 CD243 CF236 CG242 CH41 CI225 CK682 CL56 CM237 CN86 CO57 CR506 CU53 \
CV238 CW599 CX61 CY357 CZ420 DE49 DJ253 DK45 DM1 DO1 DZ213 EC593 EE372 EG20 EH212 ER291 ES34 \
ET251 FI358 FJ679 FK500 FM691 FO298 FR33 GA241 GB44 GD1 GE995 GF594 GG44 GH233 GI350 GL299 \
GM220 GN224 GP590 GQ240 GR30 GS500 GT502 GU1 GW245 GY592 HK852 HM672 HN504 HR385 HT509 HU36 \
ID62 IE353 IL972 IM44 IN91 IO246 IQ964 IR98 IS354 IT39 JE44 JM1 JO962 JP81 KE254 KG996 KH855 \
KI686 KM269 KN1 KP850 KR82 KW965 KY1 KZ7 LA856 LB961 LC1 LI423 LK94 LR231 LS266 LT370 LU352 \
LV371 LY218 MA212 MC377 MD373 ME382 MF590 MG261 MH692 MK389 ML223 MM95 MN976 MO853 MP1 MQ596 \
MR222 MS1 MT356 MU230 MV960 MW265 MX52 MY60 MZ258 NA264 NC687 NE227 NF672 NG234 NI505 NL31 \
NO47 NP977 NR674 NU683 NZ64 OM968 PA507 PE51 PF689 PG675 PH63 PK92 PL48 PM508 PN64 PR1 PS970 \
PT351 PW680 PY595 QA974 RE262 RO40 RS381 RU7 RW250 SA966 SB677 SC248 SD249 SE46 SG65 SH290 \
SI386 SJ47 SK421 SL232 SM378 SN221 SO252 SR597 SS211 ST239 SV503 SX1 SY963 SZ268 TC1 TD235 \
TF262 TG228 TH66 TJ992 TK690 TL670 TM993 TN216 TO676 TR90 TT1 TV688 TW886 TZ255 UA380 UG256 \
UM1 US1 UY598 UZ998 VA39 VC1 VE58 VG1 VI1 VN84 VU678 WF681 WS685 YE967 YT262 ZA27 ZM260 ZW263";

/// Trims, upper-cases and checks a fixed-length letter code against one of the lists above.
fn parse_code<const N: usize>(s: &str, list: &str, what: &str) -> Result<[u8; N], Invalid> {
    let shape = || Invalid(format!("must be a {what} of {N} letters"));
    let code: [u8; N] = s.trim().as_bytes().try_into().map_err(|_| shape())?;
    if !code.iter().all(u8::is_ascii_alphabetic) {
        return Err(shape());
    }
    let code = code.map(|b| b.to_ascii_uppercase());
    if !list.split_ascii_whitespace().any(|c| c.as_bytes() == code) {
        return Err(Invalid(format!("is not a known {what}")));
    }
    Ok(code)
}

fn ascii_str(bytes: &[u8]) -> &str {
    // The parsers store only ASCII letters, so this never falls back; "" keeps it panic-free.
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// ISO 3166-1 alpha-2 country code, upper-case, one of the currently assigned codes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    pub const PL: CountryCode = CountryCode(*b"PL");

    /// Accepts any case and surrounding whitespace.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        parse_code(s, COUNTRIES, "ISO 3166-1 country code").map(Self)
    }

    pub fn as_str(&self) -> &str {
        ascii_str(&self.0)
    }
}

/// ISO 4217 currency code, upper-case, one of the active codes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CurrencyCode([u8; 3]);

impl CurrencyCode {
    /// The Polish złoty, the default currency of deals.
    pub const PLN: CurrencyCode = CurrencyCode(*b"PLN");

    /// Accepts any case and surrounding whitespace.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        parse_code(s, CURRENCIES, "ISO 4217 currency code").map(Self)
    }

    pub fn as_str(&self) -> &str {
        ascii_str(&self.0)
    }
}

/// E-mail address in a practical subset of RFC 5321/5322: a dot-atom local part and a domain of
/// LDH or Unicode (IDN) labels. Stored trimmed, with the domain lower-cased.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        if s.is_empty() {
            return err("must not be empty");
        }
        // Checked again at the end, as lower-casing can lengthen; this one spares huge input.
        if s.chars().count() > 254 {
            return err("must be at most 254 characters");
        }
        let (local, domain) = s.split_once('@').ok_or_else(|| invalid("must contain an @"))?;
        if domain.contains('@') {
            return err("must contain exactly one @");
        }
        check_local_part(local)?;
        // Validate the lower-cased domain, as that is what gets stored: lower-casing can change
        // a label (İ becomes i plus a combining dot), and stored values must re-parse.
        let domain = domain.to_lowercase();
        check_domain(&domain)?;
        let address = format!("{local}@{domain}");
        if address.chars().count() > 254 {
            return err("must be at most 254 characters");
        }
        Ok(Self(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Lower-cased full address, used for the blind index.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

fn check_local_part(local: &str) -> Result<(), Invalid> {
    if local.is_empty() {
        return err("must have a name before the @");
    }
    if local.chars().count() > 64 {
        return err("must have at most 64 characters before the @");
    }
    if !local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c)) {
        return err("contains a character that is not allowed before the @");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return err("must not start or end with a dot or have two dots in a row before the @");
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), Invalid> {
    let mut labels = 0;
    let mut last = "";
    for label in domain.split('.') {
        let n = label.chars().count();
        if n == 0 || n > 63 {
            return err("must have a domain whose parts are 1 to 63 characters long");
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric())) {
            return err("contains a character that is not allowed in the domain");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return err("must not have a domain part that starts or ends with a dash");
        }
        labels += 1;
        last = label;
    }
    let punycode = last.strip_prefix("xn--").is_some_and(|rest| !rest.is_empty());
    let alphabetic = last.chars().count() >= 2 && last.chars().all(char::is_alphabetic);
    if labels < 2 || !(punycode || alphabetic) {
        return err("must have a domain with a valid top-level domain, like example.com");
    }
    Ok(())
}

/// Phone number in E.164 form, e.g. "+48601234567".
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// A leading "+" or "00" makes the number international; anything else is national for
    /// `default_region`. Spaces, dashes, dots and parentheses are ignored.
    pub fn parse(s: &str, default_region: CountryCode) -> Result<Self, Invalid> {
        let s = s.trim();
        if s.is_empty() {
            return err("must not be empty");
        }
        if s.len() > 64 {
            return err("must be at most 64 characters");
        }
        let (plus, rest) = match s.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '\u{a0}' | '-' | '.' | '(' | ')' => {}
                _ => {
                    return err("may contain only digits, spaces, dashes, dots, parentheses and a leading +");
                }
            }
        }
        let international = if plus { Some(digits.as_str()) } else { digits.strip_prefix("00") };
        let (cc, nsn) = match international {
            Some(d) => split_calling_code(d).ok_or_else(|| invalid("has an unknown country calling code"))?,
            None => {
                let cc = calling_code(default_region).ok_or_else(|| invalid("has no known calling code for its region"))?;
                (cc, strip_trunk_prefix(default_region, cc, &digits))
            }
        };
        let (min, max, reason) = match cc {
            "48" => (9, 9, "must have 9 digits after +48"),
            "1" => (10, 10, "must have 10 digits after +1"),
            "49" => (6, 13, "must have 6 to 13 digits after +49"),
            "44" => (9, 10, "must have 9 or 10 digits after +44"),
            _ => (4, 14, "must have 4 to 14 digits after the country calling code"),
        };
        if !(min..=max).contains(&nsn.len()) {
            return Err(invalid(reason));
        }
        if !(8..=15).contains(&(cc.len() + nsn.len())) {
            return err("must have 8 to 15 digits including the country calling code");
        }
        Ok(Self(format!("+{cc}{nsn}")))
    }

    /// The E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An E.164 number as people write it, with a space after the country calling code and between
/// groups of three digits (`+48 601 222 333`): what a spreadsheet keeps as text, where it reads
/// `+48601222333` as the number 48601222333. Anything else is returned unchanged.
pub fn spaced_phone(e164: &str) -> String {
    let Some((cc, nsn)) = e164.strip_prefix('+').filter(|d| d.bytes().all(|b| b.is_ascii_digit())).and_then(split_calling_code) else {
        return e164.to_string();
    };
    let mut out = format!("+{cc}");
    let mut rest = nsn;
    while !rest.is_empty() {
        // The last group takes a lone digit rather than leave it on its own (3-3-4).
        let take = if rest.len() == 4 { 4 } else { rest.len().min(3) };
        let (group, tail) = rest.split_at(take);
        out.push(' ');
        out.push_str(group);
        rest = tail;
    }
    out
}

fn calling_code(region: CountryCode) -> Option<&'static str> {
    CALLING_CODES.split_ascii_whitespace().find_map(|entry| {
        let (r, cc) = entry.split_at_checked(2)?;
        (r == region.as_str()).then_some(cc)
    })
}

/// Splits international digits into calling code and national number. Calling codes form a
/// prefix code, so the first (shortest) match is the only one.
fn split_calling_code(digits: &str) -> Option<(&str, &str)> {
    (1..=3).find_map(|len| {
        let (cc, rest) = digits.split_at_checked(len)?;
        CALLING_CODES.split_ascii_whitespace().any(|e| e.get(2..) == Some(cc)).then_some((cc, rest))
    })
}

/// Removes the prefix dialled only inside the country. Regions without one keep a leading 0 so
/// that a mistyped number fails validation instead of being silently "fixed".
fn strip_trunk_prefix<'a>(region: CountryCode, cc: &str, digits: &'a str) -> &'a str {
    let prefix = match region.as_str() {
        // Italy, San Marino, the Vatican and Côte d'Ivoire keep the 0 in the international form.
        "IT" | "SM" | "VA" | "CI" => return digits,
        // No trunk prefix exists here, so a leading 0 is a mistake to report, not to strip.
        "PL" | "CZ" | "DK" | "EE" | "ES" | "GR" | "IS" | "LU" | "LV" | "MT" | "CY" | "NO" | "SJ" | "PT" => return digits,
        "HU" => "06",
        // The 8 is a trunk prefix only in front of a full 10-digit number (8 800 is toll-free).
        "RU" | "KZ" if digits.len() == 11 => "8",
        "RU" | "KZ" => return digits,
        _ if cc == "1" && digits.len() == 11 => "1",
        _ if cc == "1" => return digits,
        _ => "0",
    };
    digits.strip_prefix(prefix).unwrap_or(digits)
}

/// A person's national identifier; a Polish PESEL is fully validated.
#[derive(Clone, PartialEq, Eq)]
pub enum NationalId {
    Pesel(String),
    Other(String),
}

const PESEL_WEIGHTS: [u32; 10] = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];

impl NationalId {
    /// `country` is the person's country if known. None or Some(PL) → must be a valid PESEL.
    /// Another country → the generic format, though a valid PESEL is still recognised as one.
    pub fn parse(s: &str, country: Option<CountryCode>) -> Result<Self, Invalid> {
        if s.len() > 256 {
            return err("is too long");
        }
        let cleaned: String = s.trim().chars().filter(|c| !matches!(c, ' ' | '-')).map(|c| c.to_ascii_uppercase()).collect();
        match country {
            None | Some(CountryCode::PL) => pesel_birth_date(&cleaned).map(|_| Self::Pesel(cleaned)),
            Some(_) if pesel_birth_date(&cleaned).is_ok() => Ok(Self::Pesel(cleaned)),
            Some(_) => {
                if !cleaned.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
                    return err("may contain only letters A-Z, digits, spaces and dashes");
                }
                if !(4..=32).contains(&cleaned.len()) {
                    return err("must have 4 to 32 letters or digits");
                }
                Ok(Self::Other(cleaned))
            }
        }
    }

    /// Digits only for a PESEL, upper-case without separators otherwise.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pesel(s) | Self::Other(s) => s,
        }
    }

    /// Same as [`NationalId::as_str`]; the form hashed into the blind index.
    pub fn normalized(&self) -> String {
        self.as_str().to_owned()
    }

    /// The birth date a PESEL encodes.
    pub fn birth_date(&self) -> Option<Date> {
        match self {
            Self::Pesel(s) => pesel_birth_date(s).ok(),
            Self::Other(_) => None,
        }
    }
}

impl fmt::Debug for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pesel(_) => f.write_str("Pesel(<redacted>)"),
            Self::Other(_) => f.write_str("Other(<redacted>)"),
        }
    }
}

/// Validates a PESEL (digits, checksum, encoded date) and returns the birth date it encodes.
fn pesel_birth_date(s: &str) -> Result<Date, Invalid> {
    let not_pesel = || invalid("must be a PESEL of 11 digits");
    let d: [u8; 11] = s.as_bytes().try_into().map_err(|_| not_pesel())?;
    if !d.iter().all(u8::is_ascii_digit) {
        return Err(not_pesel());
    }
    let d = d.map(|b| b - b'0');
    let sum: u32 = d.iter().zip(PESEL_WEIGHTS).map(|(&x, w)| u32::from(x) * w).sum();
    if (10 - sum % 10) % 10 != u32::from(d[10]) {
        return err("has an invalid PESEL checksum");
    }
    let bad_date = || invalid("encodes a birth date that does not exist");
    // The month field carries the century: +80 for the 1800s, +0, +20, +40, +60 after.
    let (century, month) = match d[2] * 10 + d[3] {
        m @ 1..=12 => (1900, m),
        m @ 21..=32 => (2000, m - 20),
        m @ 41..=52 => (2100, m - 40),
        m @ 61..=72 => (2200, m - 60),
        m @ 81..=92 => (1800, m - 80),
        _ => return Err(bad_date()),
    };
    let month = Month::try_from(month).map_err(|_| bad_date())?;
    Date::from_calendar_date(century + i32::from(d[0] * 10 + d[1]), month, d[4] * 10 + d[5]).map_err(|_| bad_date())
}

/// Company VAT id: a Polish NIP (stored as "PL" + 10 digits) or another EU-style id.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VatId(String);

const NIP_WEIGHTS: [u32; 9] = [6, 5, 7, 2, 3, 4, 5, 6, 7];

impl VatId {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        if s.len() > 64 {
            return err("is too long");
        }
        let c: String = s.trim().chars().filter(|c| !matches!(c, ' ' | '-')).map(|c| c.to_ascii_uppercase()).collect();
        if !c.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return err("may contain only letters, digits, spaces and dashes");
        }
        if let Some(nip) = c.strip_prefix("PL") {
            check_nip(nip)?;
            return Ok(Self(c));
        }
        if c.bytes().all(|b| b.is_ascii_digit()) {
            check_nip(&c)?;
            return Ok(Self(format!("PL{c}")));
        }
        let (prefix, rest) = c.split_at_checked(2).ok_or_else(|| invalid("is too short"))?;
        if prefix != "EL" && CountryCode::parse(prefix).is_err() {
            return err("must start with a two-letter country prefix");
        }
        if !(2..=13).contains(&rest.len()) {
            return err("must have 2 to 13 letters or digits after the country prefix");
        }
        Ok(Self(c))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_nip(nip: &str) -> Result<(), Invalid> {
    let d: [u8; 10] = nip.as_bytes().try_into().map_err(|_| invalid("must be a NIP of 10 digits"))?;
    if !d.iter().all(u8::is_ascii_digit) {
        return err("must be a NIP of 10 digits");
    }
    let d = d.map(|b| u32::from(b - b'0'));
    let sum: u32 = d.iter().zip(NIP_WEIGHTS).map(|(x, w)| x * w).sum();
    // A remainder of 10 can never match a digit; such numbers are never issued.
    if sum % 11 != d[9] {
        return err("has an invalid NIP checksum");
    }
    Ok(())
}

/// Business unit slug: 1..=32 of `[a-z0-9-]`, starting with a letter, not ending with '-'.
#[derive(Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct UnitSlug(String);

impl UnitSlug {
    /// Not trimmed: a slug is an identifier, and silently accepting " north" would hide a bug.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let b = s.as_bytes();
        if b.is_empty() {
            return err("must not be empty");
        }
        if !b.iter().all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-') {
            return err("may contain only lower-case letters a-z, digits and dashes");
        }
        if b.len() > 32 {
            return err("must be at most 32 characters");
        }
        if !b.first().is_some_and(u8::is_ascii_lowercase) {
            return err("must start with a letter");
        }
        if b.last() == Some(&b'-') {
            return err("must not end with a dash");
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Tag: 1..=50 characters, trimmed, no control characters, stored lower-case.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Tag(String);

impl Tag {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let t = s.trim();
        if t.chars().any(char::is_control) {
            return err("must not contain control characters");
        }
        if t.len() > 1024 {
            return err("must be at most 50 characters");
        }
        // Counted after lower-casing, which can lengthen a string, so the stored form obeys it.
        let lower = t.to_lowercase();
        match lower.chars().count() {
            0 => err("must not be empty"),
            51.. => err("must be at most 50 characters"),
            _ => Ok(Self(lower)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Codes, VAT ids, slugs and tags are not personal data, so they print as themselves.
macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(CountryCode, CurrencyCode, VatId, UnitSlug, Tag);

/// `Debug` that names the type and shows either the value or, for personal data, nothing.
macro_rules! debug_as {
    ($($t:ident => $show:expr),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let show: fn(&$t) -> &str = $show;
                write!(f, "{}({})", stringify!($t), show(self))
            }
        }
    )*};
}
debug_as!(
    CountryCode => |c| c.as_str(),
    CurrencyCode => |c| c.as_str(),
    Email => |_| "<redacted>",
    Phone => |_| "<redacted>"
);

/// Base letter of each code point from U+00C0 to U+017F (Latin-1 Supplement letters and Latin
/// Extended-A). '_' means no folding; digits stand for two letters: 1 ae, 2 th, 3 ss, 4 ij, 5 oe.
const FOLDS: &[u8; 192] = b"\
aaaaaa1ceeeeiiiidnooooo_ouuuuy23aaaaaa1ceeeeiiiidnooooo_ouuuuy2y\
aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii44jjkkkllllllllll\
nnnnnnnnnoooooo55rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

fn push_folded(out: &mut String, c: char) -> bool {
    let folded = u32::from(c).checked_sub(0xC0).and_then(|i| FOLDS.get(usize::try_from(i).ok()?));
    match folded {
        None | Some(b'_') => return false,
        Some(b'1') => out.push_str("ae"),
        Some(b'2') => out.push_str("th"),
        Some(b'3') => out.push_str("ss"),
        Some(b'4') => out.push_str("ij"),
        Some(b'5') => out.push_str("oe"),
        Some(&b) => out.push(char::from(b)),
    }
    true
}

/// Case- and diacritic-folding for name search: lower-cases, folds Polish, Latin-1 Supplement
/// and Latin Extended-A letters to base ASCII (ł→l, ß→ss, æ→ae, þ→th), keeps the rest lower-cased.
pub fn fold(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let mut out = String::with_capacity(s.len());
    // NFC first, so "Zie\u{328}ba" (decomposed, as macOS writes it) folds as "Zięba" does; a
    // combining mark left over (a letter with no precomposed form) goes, as the diacritics of
    // precomposed letters do.
    for c in s.nfc().filter(|c| !is_combining_mark(*c)) {
        if !push_folded(&mut out, c) {
            // Lower-casing can yield a foldable letter (ẞ → ß); folding it too keeps fold idempotent.
            for l in c.to_lowercase() {
                if !push_folded(&mut out, l) {
                    out.push(l);
                }
            }
        }
    }
    out
}

/// The shortest prefix a name search matches by (ADR 0003: the leakage trade-off).
pub const NAME_PREFIX_MIN: usize = 3;

/// The longest prefix the name index holds (ADR 0034): a longer search word is looked up by its
/// first [`NAME_PREFIX_MAX`] characters, and the candidates' decrypted names decide.
pub const NAME_PREFIX_MAX: usize = 6;

/// What the name blind index holds for one name token, before hashing (ADR 0003, ADR 0034): a
/// token shorter than [`NAME_PREFIX_MIN`] characters as itself; a longer one as its prefixes
/// from [`NAME_PREFIX_MIN`] to [`NAME_PREFIX_MAX`] characters (the whole token when shorter),
/// each marked `*` (tokens are alphanumeric, so a prefix never equals a token): "dabrowska" →
/// "*dab", "*dabr", "*dabro", "*dabrow"; "ewa" → "*ewa"; "jo" → "jo". Every word a search may
/// look up for this token ([`name_search_term`]) is among them.
pub fn name_index_terms(token: &str) -> Vec<String> {
    let ends: Vec<usize> = token.char_indices().map(|(i, c)| i + c.len_utf8()).collect();
    if ends.len() < NAME_PREFIX_MIN {
        return vec![token.to_owned()];
    }
    ends[NAME_PREFIX_MIN - 1..ends.len().min(NAME_PREFIX_MAX)].iter().map(|&end| format!("*{}", &token[..end])).collect()
}

/// The one index term a name search looks up for a (folded) search word: a word shorter than
/// [`NAME_PREFIX_MIN`] characters as a whole token, a longer one as a prefix of at most
/// [`NAME_PREFIX_MAX`] characters ("Dąbrowskiej" is looked up as "*dabrow" and finds Dąbrowska
/// as a candidate, which its decrypted name then rules out).
pub fn name_search_term(word: &str) -> String {
    if word.chars().count() < NAME_PREFIX_MIN {
        return word.to_owned();
    }
    let end = word.char_indices().nth(NAME_PREFIX_MAX).map_or(word.len(), |(i, _)| i);
    format!("*{}", &word[..end])
}

/// Name tokens for the name blind index: folded, split on anything not alphanumeric, empty
/// tokens dropped, duplicates removed keeping the first occurrence.
pub fn name_tokens(s: &str) -> Vec<String> {
    let folded = fold(s);
    let mut seen = HashSet::new();
    folded.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty() && seen.insert(*t)).map(str::to_owned).collect()
}

/// Checks a free-text field: no control characters other than \n, \r and \t, and at most
/// `max_chars` Unicode scalar values. Does not trim.
pub fn check_text(s: &str, max_chars: usize) -> Result<(), Invalid> {
    if s.len() > max_chars && s.chars().count() > max_chars {
        return Err(Invalid(format!("must be at most {max_chars} characters")));
    }
    if s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return err("must not contain control characters");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
