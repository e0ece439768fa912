-- The register of data-subject requests (GDPR art. 12, 15–22; docs/adr/0022-gdpr.md): what was
-- asked, when, how the requester's identity was checked, the one-month deadline (extendable by
-- two months with a reason), who handled it and how it ended. `person_id` is '' until the
-- person is identified and stays after an erasure (no foreign key): the request outlives them.
CREATE TABLE dsr_requests (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    person_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    identity_check TEXT NOT NULL,
    extension_reason TEXT NOT NULL,
    status TEXT NOT NULL,
    handled_by TEXT NOT NULL,
    closed_at BIGINT NOT NULL,
    note TEXT NOT NULL,
    created_by TEXT NOT NULL,
    alerted_at BIGINT NOT NULL
);
CREATE INDEX dsr_requests_status ON dsr_requests (status, due_at, id);
