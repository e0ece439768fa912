-- Each audit event is stored as the exact bytes its leaf hash covers (with its seq): `body`, a
-- compact JSON array [at, actor_id, actor, role, action, resource_type, resource_id, subject_id,
-- fields, purpose, outcome, client, request_id, detail]. Verification hashes the stored bytes as
-- they come (one column, no re-encoding); the columns that searches filter on are generated from
-- the body, so they cannot be changed without changing what is hashed.
--
-- Events written before this migration are carried over into bodies. Their leaf hashes change,
-- so the chain rows and checkpoints of the old encoding are dropped with them: the next seal
-- signs the whole trail again (docs/adr/0011-audit-event-bodies.md).
CREATE TABLE audit_events_v2 (
    seq INTEGER PRIMARY KEY NOT NULL,
    body TEXT NOT NULL,
    at INTEGER GENERATED ALWAYS AS (body ->> '$[0]') VIRTUAL,
    actor TEXT GENERATED ALWAYS AS (body ->> '$[2]') VIRTUAL,
    action TEXT GENERATED ALWAYS AS (body ->> '$[4]') VIRTUAL,
    subject_id TEXT GENERATED ALWAYS AS (body ->> '$[7]') VIRTUAL
) STRICT;
INSERT INTO audit_events_v2 (seq, body)
    SELECT seq, json_array(at, actor_id, actor, role, action, resource_type, resource_id, subject_id, fields,
                           purpose, outcome, client, request_id, detail)
    FROM audit_events ORDER BY seq;
DROP TRIGGER audit_events_no_update;
DROP TRIGGER audit_events_no_delete;
DROP TABLE audit_events;
ALTER TABLE audit_events_v2 RENAME TO audit_events;
CREATE INDEX audit_events_subject ON audit_events (subject_id, seq);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
CREATE INDEX audit_events_at ON audit_events (at);
-- A group commit inserts its events in one statement that numbers them after audit_head; this
-- moves the head along with each row, inside the same statement.
CREATE TRIGGER audit_events_head AFTER INSERT ON audit_events BEGIN UPDATE audit_head SET seq = NEW.seq WHERE id = 1; END;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
DROP TRIGGER audit_chain_no_delete;
DROP TRIGGER audit_checkpoints_no_delete;
DELETE FROM audit_chain;
DELETE FROM audit_checkpoints;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
