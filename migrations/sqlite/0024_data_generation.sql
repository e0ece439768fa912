-- The generation of the data the request path reads (ADR 0028). Every change to a table below
-- adds one to it in the change's own transaction, so a reader that sees the same generation in
-- its snapshot as in the newest one knows its snapshot is current, and keeps it (and with it its
-- page cache: SQLite empties a connection's cache whenever it begins a read after any commit).
-- Not counted: the audit trail's tables and the read budget, which every read writes and no
-- reader of the request path reads, and a person's tags and name tokens, which change only with
-- their person's row (a rebuild of the name index adds one itself). A test checks that every
-- other table is counted.
CREATE TABLE data_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
) STRICT;
INSERT INTO data_generation (id, n) VALUES (1, 0);
CREATE TRIGGER activities_gen_ins AFTER INSERT ON activities BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER activities_gen_upd AFTER UPDATE ON activities BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER activities_gen_del AFTER DELETE ON activities BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER companies_gen_ins AFTER INSERT ON companies BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER companies_gen_upd AFTER UPDATE ON companies BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER companies_gen_del AFTER DELETE ON companies BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER consents_gen_ins AFTER INSERT ON consents BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER consents_gen_upd AFTER UPDATE ON consents BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER consents_gen_del AFTER DELETE ON consents BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER deals_gen_ins AFTER INSERT ON deals BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER deals_gen_upd AFTER UPDATE ON deals BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER deals_gen_del AFTER DELETE ON deals BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER disclosures_gen_ins AFTER INSERT ON disclosures BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER disclosures_gen_upd AFTER UPDATE ON disclosures BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER disclosures_gen_del AFTER DELETE ON disclosures BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER dsr_requests_gen_ins AFTER INSERT ON dsr_requests BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER dsr_requests_gen_upd AFTER UPDATE ON dsr_requests BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER dsr_requests_gen_del AFTER DELETE ON dsr_requests BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER erasure_ledger_gen_ins AFTER INSERT ON erasure_ledger BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER erasure_ledger_gen_upd AFTER UPDATE ON erasure_ledger BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER erasure_ledger_gen_del AFTER DELETE ON erasure_ledger BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER erasure_receipts_gen_ins AFTER INSERT ON erasure_receipts BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER erasure_receipts_gen_upd AFTER UPDATE ON erasure_receipts BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER erasure_receipts_gen_del AFTER DELETE ON erasure_receipts BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER export_requests_gen_ins AFTER INSERT ON export_requests BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER export_requests_gen_upd AFTER UPDATE ON export_requests BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER export_requests_gen_del AFTER DELETE ON export_requests BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER gdpr_purposes_gen_ins AFTER INSERT ON gdpr_purposes BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER gdpr_purposes_gen_upd AFTER UPDATE ON gdpr_purposes BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER gdpr_purposes_gen_del AFTER DELETE ON gdpr_purposes BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER gdpr_registers_gen_ins AFTER INSERT ON gdpr_registers BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER gdpr_registers_gen_upd AFTER UPDATE ON gdpr_registers BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER gdpr_registers_gen_del AFTER DELETE ON gdpr_registers BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER honeytokens_gen_ins AFTER INSERT ON honeytokens BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER honeytokens_gen_upd AFTER UPDATE ON honeytokens BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER honeytokens_gen_del AFTER DELETE ON honeytokens BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER import_jobs_gen_ins AFTER INSERT ON import_jobs BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER import_jobs_gen_upd AFTER UPDATE ON import_jobs BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER import_jobs_gen_del AFTER DELETE ON import_jobs BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER index_state_gen_ins AFTER INSERT ON index_state BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER index_state_gen_upd AFTER UPDATE ON index_state BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER index_state_gen_del AFTER DELETE ON index_state BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER keystore_gen_ins AFTER INSERT ON keystore BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER keystore_gen_upd AFTER UPDATE ON keystore BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER keystore_gen_del AFTER DELETE ON keystore BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER login_throttle_gen_ins AFTER INSERT ON login_throttle BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER login_throttle_gen_upd AFTER UPDATE ON login_throttle BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER login_throttle_gen_del AFTER DELETE ON login_throttle BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER people_gen_ins AFTER INSERT ON people BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER people_gen_upd AFTER UPDATE ON people BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER people_gen_del AFTER DELETE ON people BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER person_flags_gen_ins AFTER INSERT ON person_flags BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER person_flags_gen_upd AFTER UPDATE ON person_flags BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER person_flags_gen_del AFTER DELETE ON person_flags BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER recovery_codes_gen_ins AFTER INSERT ON recovery_codes BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER recovery_codes_gen_upd AFTER UPDATE ON recovery_codes BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER recovery_codes_gen_del AFTER DELETE ON recovery_codes BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER restore_state_gen_ins AFTER INSERT ON restore_state BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER restore_state_gen_upd AFTER UPDATE ON restore_state BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER restore_state_gen_del AFTER DELETE ON restore_state BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER role_grants_gen_ins AFTER INSERT ON role_grants BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER role_grants_gen_upd AFTER UPDATE ON role_grants BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER role_grants_gen_del AFTER DELETE ON role_grants BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER sessions_gen_ins AFTER INSERT ON sessions BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER sessions_gen_upd AFTER UPDATE ON sessions BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER sessions_gen_del AFTER DELETE ON sessions BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER suppression_gen_ins AFTER INSERT ON suppression BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER suppression_gen_upd AFTER UPDATE ON suppression BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER suppression_gen_del AFTER DELETE ON suppression BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER units_gen_ins AFTER INSERT ON units BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER units_gen_upd AFTER UPDATE ON units BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER units_gen_del AFTER DELETE ON units BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER user_units_gen_ins AFTER INSERT ON user_units BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER user_units_gen_upd AFTER UPDATE ON user_units BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER user_units_gen_del AFTER DELETE ON user_units BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER users_gen_ins AFTER INSERT ON users BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER users_gen_upd AFTER UPDATE ON users BEGIN UPDATE data_generation SET n = n + 1; END;
CREATE TRIGGER users_gen_del AFTER DELETE ON users BEGIN UPDATE data_generation SET n = n + 1; END;
