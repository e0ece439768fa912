-- A person's tags and name tokens without a foreign key to their person; a trigger deletes them
-- with the person instead (ADR 0032). The key checked every inserted row against the person's
-- row: about ten lookups for a person of eight name tokens, which on PostgreSQL are a query
-- and a row lock each, a third of the database's time during an import. Every path that adds
-- these rows has written or locked the person's row first in the same transaction, so the check
-- never found anything to refuse; the cascade, which an erasure depends on, is the trigger.
CREATE TABLE person_tags_next (
    person_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (person_id, tag)
) STRICT;
INSERT INTO person_tags_next (person_id, tag) SELECT person_id, tag FROM person_tags ORDER BY person_id, tag;
DROP TABLE person_tags;
ALTER TABLE person_tags_next RENAME TO person_tags;
CREATE INDEX person_tags_tag ON person_tags (tag);
CREATE TABLE person_name_tokens_next (
    token INTEGER NOT NULL,
    person_id TEXT NOT NULL,
    PRIMARY KEY (token, person_id)
) STRICT, WITHOUT ROWID;
INSERT INTO person_name_tokens_next (token, person_id) SELECT token, person_id FROM person_name_tokens ORDER BY token, person_id;
DROP TABLE person_name_tokens;
ALTER TABLE person_name_tokens_next RENAME TO person_name_tokens;
CREATE INDEX person_name_tokens_person ON person_name_tokens (person_id, token);
-- Whatever deletes a person (a deletion, an erasure, retention, a restore's re-erasure) deletes
-- their tags and name tokens in the same statement's transaction, as the cascade did.
CREATE TRIGGER people_delete_rows AFTER DELETE ON people BEGIN DELETE FROM person_tags WHERE person_id = old.id; DELETE FROM person_name_tokens WHERE person_id = old.id; END;
