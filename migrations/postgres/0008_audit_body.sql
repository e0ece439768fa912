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
    seq BIGINT PRIMARY KEY NOT NULL,
    body TEXT NOT NULL,
    at BIGINT GENERATED ALWAYS AS (((body::jsonb) ->> 0)::bigint) STORED,
    actor TEXT COLLATE "C" GENERATED ALWAYS AS ((body::jsonb) ->> 2) STORED,
    action TEXT GENERATED ALWAYS AS ((body::jsonb) ->> 4) STORED,
    subject_id TEXT COLLATE "C" GENERATED ALWAYS AS ((body::jsonb) ->> 7) STORED
);
INSERT INTO audit_events_v2 (seq, body)
    SELECT seq, json_build_array(at, actor_id, actor, role, action, resource_type, resource_id, subject_id, fields,
                                 purpose, outcome, client, request_id, detail)::text
    FROM audit_events ORDER BY seq;
DROP TABLE audit_events;
ALTER TABLE audit_events_v2 RENAME TO audit_events;
ALTER INDEX audit_events_v2_pkey RENAME TO audit_events_pkey;
CREATE INDEX audit_events_subject ON audit_events (subject_id, seq);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_no_update;
ALTER TABLE audit_checkpoints DISABLE TRIGGER audit_checkpoints_no_update;
DELETE FROM audit_chain;
DELETE FROM audit_checkpoints;
ALTER TABLE audit_chain ENABLE TRIGGER audit_chain_no_update;
ALTER TABLE audit_checkpoints ENABLE TRIGGER audit_checkpoints_no_update;
