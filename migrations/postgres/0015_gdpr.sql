-- GDPR/RODO (docs/adr/0022-gdpr.md).
--
-- The register of processing purposes (Art. 6 lawful basis, Art. 30 records). `applies_to_all`:
-- the purpose covers every person without a consent (e.g. a contract or legitimate interest);
-- `marketing`: the purpose markets, so it needs current consent per channel.
CREATE TABLE gdpr_purposes (
    name TEXT PRIMARY KEY NOT NULL,
    lawful_basis TEXT NOT NULL,
    categories TEXT NOT NULL,
    retention TEXT NOT NULL,
    recipients TEXT NOT NULL,
    marketing BIGINT NOT NULL,
    applies_to_all BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO gdpr_purposes VALUES
    ('sales_contact', 'legitimate_interests', 'identification,contact', '24 months after the last activity', 'staff of the owning unit', 0, 1, 0),
    ('invoicing', 'legal_obligation', 'identification,contact,national_id', '5 years after the end of the tax year', 'accounting', 0, 0, 0),
    ('marketing', 'consent', 'identification,contact', 'until consent is withdrawn', 'staff of the owning unit', 1, 0, 0),
    ('newsletter', 'consent', 'contact', 'until consent is withdrawn', 'staff of the owning unit', 1, 0, 0);

-- Consent per purpose and channel: every grant and withdrawal is a row (the full history); the
-- newest row per (purpose, channel) is the current state. `client` and `source` are the proof.
CREATE TABLE consents (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    person_id TEXT COLLATE "C" NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    channel TEXT NOT NULL,
    granted BIGINT NOT NULL,
    wording_version TEXT NOT NULL,
    source TEXT NOT NULL,
    client TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX consents_person ON consents (person_id, recorded_at, id);

-- Flags on a data subject: 'restricted' (Art. 18), 'legal_hold' (blocks erasure),
-- 'marketing_objection' (Art. 21(3): never marketed again).
CREATE TABLE person_flags (
    person_id TEXT COLLATE "C" NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    flag TEXT NOT NULL,
    reason TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at BIGINT NOT NULL,
    PRIMARY KEY (person_id, flag)
);

-- Erased people's e-mail and phone as blind-index values (keyed hashes, nothing readable), so
-- an import that would bring them back is flagged.
CREATE TABLE suppression (
    kind TEXT NOT NULL,
    bidx BIGINT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (kind, bidx)
);

-- The signed receipt of each erasure, which the person can be given.
CREATE TABLE erasure_receipts (
    person_id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    body TEXT NOT NULL,
    signature TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
