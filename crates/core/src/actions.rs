//! The audit trail's vocabulary: every action an event can name, once. An event is made from an
//! [`AuditAction`], never from a string, so the list below is exhaustive and each action is
//! greppable by its variant. `docs/audit-actions.md` is rendered from it (a test keeps the two
//! equal).

use crate::ports::RecordKind;

macro_rules! actions {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// One kind of audited event. Stored as its name (`as_str`) in the event's body.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $(#[doc = $doc] $variant,)*
        }

        impl AuditAction {
            /// Every action, in the order of `docs/audit-actions.md`.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant),*];

            /// The name the trail stores, e.g. `person.read`.
            pub fn as_str(self) -> &'static str {
                match self { $(AuditAction::$variant => $name,)* }
            }

            /// What an event of this action records.
            pub fn meaning(self) -> &'static str {
                match self { $(AuditAction::$variant => $doc,)* }
            }
        }
    };
}

actions! {
    AuthLogin => "auth.login", "A sign-in attempt that checked something: outcome `ok`, `failed` or `denied` (why in `detail`); a session opens with it.";
    AuthLogout => "auth.logout", "A user ended the session of their token.";
    AuthSessionEnd => "auth.session_end", "A user ended another of their own sessions.";
    AuthPasswordChange => "auth.password_change", "A user changed their own password (or tried: `failed`, `invalid`).";
    AuthUnlock => "auth.unlock", "An administrator lifted the sign-in locks of an account name.";
    TokenCreate => "token.create", "An API token was issued to a service account (its scopes in `detail`).";
    MfaEnroll => "mfa.enroll", "TOTP enrolment began (a secret pending confirmation).";
    MfaConfirm => "mfa.confirm", "TOTP enrolment was confirmed with a code; recovery codes were issued.";
    MfaReset => "mfa.reset", "An administrator removed a user's TOTP and recovery codes.";
    UserCreate => "user.create", "An account was created (role in `detail`).";
    UserDisable => "user.disable", "An account was disabled and its sessions ended.";
    UserEnable => "user.enable", "A disabled or suspended account was enabled again.";
    UserResetPassword => "user.reset_password", "An administrator set a new password (`must-change` when through the admin API).";
    UserSetRole => "user.set_role", "An account's role changed (the new role in `detail`).";
    UserGrantRequest => "user.grant.request", "A privileged role was asked for; it waits for a second administrator.";
    UserGrantApprove => "user.grant.approve", "A second administrator approved a privileged grant.";
    UserGrantRefuse => "user.grant.refuse", "A second administrator refused a privileged grant.";
    PersonCreate => "person.create", "A person was created (`via=import` for the host's import and planted honeytokens).";
    PersonImport => "person.import", "A person imported (written by earlier versions; still read as a person's source).";
    PersonRead => "person.read", "A person was shown: the fields shown in clear in `fields`, how in `detail`.";
    PersonUpdate => "person.update", "A person was changed (the fields in the answer in `fields`).";
    PersonDelete => "person.delete", "A person was deleted with their activities and key.";
    PersonReveal => "person.reveal", "Masked fields were shown in clear for a stated purpose.";
    PersonReindex => "person.reindex", "The name index was rebuilt (counts only).";
    PeopleSearch => "people.search", "A search (how many results, never the terms).";
    CompanyCreate => "company.create", "A company was created.";
    CompanyRead => "company.read", "A company was shown.";
    CompanyUpdate => "company.update", "A company was changed.";
    CompanyDelete => "company.delete", "A company was deleted.";
    DealCreate => "deal.create", "A deal was created.";
    DealRead => "deal.read", "A deal was shown.";
    DealUpdate => "deal.update", "A deal was changed.";
    DealDelete => "deal.delete", "A deal was deleted.";
    ActivityCreate => "activity.create", "An activity was created.";
    ActivityRead => "activity.read", "An activity was shown.";
    ActivityUpdate => "activity.update", "An activity was changed.";
    ActivityDelete => "activity.delete", "An activity was deleted.";
    ConsentGrant => "consent.grant", "A person's consent to a purpose and channel was recorded.";
    ConsentWithdraw => "consent.withdraw", "A person's consent was withdrawn.";
    ConsentRead => "consent.read", "A person's consents were shown.";
    ExportRequest => "export.request", "A bulk export was asked for (approved at once or pending).";
    ExportApprove => "export.approve", "A second person approved a bulk export.";
    ExportReject => "export.reject", "A second person rejected a bulk export.";
    ExportDownload => "export.download", "An approved bulk export was downloaded (once).";
    GdprErase => "gdpr.erase", "A person was erased by crypto-shredding (art. 17); the receipt's digest in `detail`.";
    GdprExport => "gdpr.export", "A person's data was exported for an access request (art. 15).";
    GdprDisclose => "gdpr.disclose", "Data was disclosed to a processor, or the disclosure refused (`denied`).";
    GdprPurpose => "gdpr.purpose", "A purpose of processing was added or changed.";
    GdprProcessorPut => "gdpr.processor.put", "A processor (vendor) entry was added or changed.";
    GdprRequest => "gdpr.request", "A data subject request was registered.";
    GdprRequestClose => "gdpr.request.close", "A data subject request was closed.";
    GdprRequestExtend => "gdpr.request.extend", "A data subject request's deadline was extended.";
    GdprRetention => "gdpr.retention", "The retention rules ran (or were tried: `dry-run`).";
    GdprBreachQuery => "gdpr.breach_query", "Who an actor's accesses reached over a time range (breach scoping).";
    GdprBreachRecord => "gdpr.breach.record", "A personal data breach was recorded.";
    GdprBreachNotified => "gdpr.breach.notified", "A breach's notification to the authority was recorded.";
    GdprBreachDelayReason => "gdpr.breach.delay_reason", "Why a breach was notified after 72 hours.";
    GdprRestricted => "gdpr.restricted", "A person's processing was restricted (art. 18).";
    GdprRestrictedLift => "gdpr.restricted.lift", "A restriction of processing was lifted.";
    GdprLegalHold => "gdpr.legal_hold", "A person was put on legal hold (no erasure).";
    GdprLegalHoldLift => "gdpr.legal_hold.lift", "A legal hold was lifted.";
    GdprMarketingObjection => "gdpr.marketing_objection", "A person objected to marketing (art. 21(3)).";
    GdprMarketingObjectionLift => "gdpr.marketing_objection.lift", "An objection to marketing was withdrawn.";
    AuditRead => "audit.read", "The trail or the alerts were read (the filter's names, never its values).";
    AuditExport => "audit.export", "The trail was exported by the operator.";
    AuditVerify => "audit.verify", "The trail was verified from the web UI.";
    PolicyReload => "policy.reload", "The policy set was reloaded (or the reload refused).";
    RequestRefused => "request.refused", "A request was refused (401, 403, 429); anonymous ones summed per client block and minute.";
    Alert => "alert", "A security alert: the kind in `resource_id`, the severity in `outcome`.";
    BackupCreate => "backup.create", "A backup was made.";
    BackupKeysExport => "backup.keys_export", "The backup's key was exported for escrow.";
    BackupList => "backup.list", "The backups at a target were listed.";
    BackupVerify => "backup.verify", "A backup was verified.";
    BackupRestoreTest => "backup.restore_test", "A backup was restored into a scratch database and checked.";
    BackupRestore => "backup.restore", "A backup was restored.";
    BackupPrune => "backup.prune", "Old backups were deleted by the retention rule.";
    BackupPruneDryRun => "backup.prune_dry_run", "What a prune would delete was listed.";
}

/// What was done to a record: the second half of its action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Create,
    Read,
    Update,
    Delete,
}

impl AuditAction {
    /// The action of `verb` on a record of `kind`, e.g. `deal.update`.
    pub fn record(kind: RecordKind, verb: Verb) -> AuditAction {
        use AuditAction::*;
        match (kind, verb) {
            (RecordKind::Person, Verb::Create) => PersonCreate,
            (RecordKind::Person, Verb::Read) => PersonRead,
            (RecordKind::Person, Verb::Update) => PersonUpdate,
            (RecordKind::Person, Verb::Delete) => PersonDelete,
            (RecordKind::Company, Verb::Create) => CompanyCreate,
            (RecordKind::Company, Verb::Read) => CompanyRead,
            (RecordKind::Company, Verb::Update) => CompanyUpdate,
            (RecordKind::Company, Verb::Delete) => CompanyDelete,
            (RecordKind::Deal, Verb::Create) => DealCreate,
            (RecordKind::Deal, Verb::Read) => DealRead,
            (RecordKind::Deal, Verb::Update) => DealUpdate,
            (RecordKind::Deal, Verb::Delete) => DealDelete,
            (RecordKind::Activity, Verb::Create) => ActivityCreate,
            (RecordKind::Activity, Verb::Read) => ActivityRead,
            (RecordKind::Activity, Verb::Update) => ActivityUpdate,
            (RecordKind::Activity, Verb::Delete) => ActivityDelete,
        }
    }

    /// The action with this stored name, if Sejf writes it.
    pub fn from_name(name: &str) -> Option<AuditAction> {
        AuditAction::ALL.iter().copied().find(|a| a.as_str() == name)
    }

    /// `docs/audit-actions.md`: every action and what it records.
    pub fn markdown() -> String {
        let mut out = String::from(
            "# Audit actions\n\nEvery action an event of Sejf's audit trail can name, rendered from \
             `sejf_core::actions::AuditAction` (a test keeps this page equal to it). Filter the trail \
             by them: `GET /api/v1/audit?action=person.read`, `sejf audit tail`.\n\n| action | what the event records |\n|---|---|\n",
        );
        for a in AuditAction::ALL {
            out.push_str(&format!("| `{}` | {} |\n", a.as_str(), a.meaning()));
        }
        out
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for a in AuditAction::ALL {
            let name = a.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(name.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')), "{name}");
            assert_eq!(AuditAction::from_name(name), Some(*a));
        }
        assert_eq!(AuditAction::from_name("person.sold"), None);
    }

    #[test]
    fn the_documented_list_is_the_list() {
        let page = include_str!("../../../docs/audit-actions.md");
        assert!(page == AuditAction::markdown(), "docs/audit-actions.md is out of date; it should read:\n{}", AuditAction::markdown());
    }
}
