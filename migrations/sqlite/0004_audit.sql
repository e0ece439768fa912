-- The audit trail: append-only events (no personal value ever: ids, field names, outcomes),
-- a head row that hands out gap-free sequence numbers inside the writing transaction, and the
-- signed checkpoints of the sealer. Triggers refuse UPDATE and DELETE on both tables.
CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY NOT NULL,
    at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    fields TEXT NOT NULL,
    purpose TEXT NOT NULL,
    outcome TEXT NOT NULL,
    client TEXT NOT NULL,
    request_id TEXT NOT NULL,
    detail TEXT NOT NULL
) STRICT;
CREATE INDEX audit_events_subject ON audit_events (subject_id, seq);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY NOT NULL,
    seq INTEGER NOT NULL
) STRICT;
INSERT INTO audit_head (id, seq) VALUES (1, 0);
CREATE TABLE audit_chain (
    seq INTEGER PRIMARY KEY NOT NULL,
    leaf BLOB NOT NULL,
    link BLOB NOT NULL
) STRICT;
CREATE TABLE audit_checkpoints (
    tree_size INTEGER PRIMARY KEY NOT NULL,
    body TEXT NOT NULL,
    at INTEGER NOT NULL
) STRICT;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
