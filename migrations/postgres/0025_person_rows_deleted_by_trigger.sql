-- The same rebuild as SQLite's: a person's tags and name tokens without a foreign key to their
-- person, deleted with the person by a trigger (ADR 0032). Each inserted row's key check was a
-- query through SPI and a lock on the person's row, a third of PostgreSQL's time in an import.
CREATE TABLE person_tags_next (
    person_id TEXT COLLATE "C" NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (person_id, tag)
);
INSERT INTO person_tags_next (person_id, tag) SELECT person_id, tag FROM person_tags ORDER BY person_id, tag;
DROP TABLE person_tags;
ALTER TABLE person_tags_next RENAME TO person_tags;
ALTER INDEX person_tags_next_pkey RENAME TO person_tags_pkey;
CREATE INDEX person_tags_tag ON person_tags (tag);
CREATE TABLE person_name_tokens_next (
    token BIGINT NOT NULL,
    person_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (token, person_id)
);
INSERT INTO person_name_tokens_next (token, person_id) SELECT token, person_id FROM person_name_tokens ORDER BY token, person_id;
DROP TABLE person_name_tokens;
ALTER TABLE person_name_tokens_next RENAME TO person_name_tokens;
ALTER INDEX person_name_tokens_next_pkey RENAME TO person_name_tokens_pkey;
CREATE INDEX person_name_tokens_person ON person_name_tokens (person_id, token);
-- Whatever deletes a person deletes their tags and name tokens in the same transaction.
CREATE FUNCTION people_delete_rows() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM person_tags WHERE person_id = OLD.id; DELETE FROM person_name_tokens WHERE person_id = OLD.id; RETURN NULL; END; $$;
CREATE TRIGGER people_delete_rows AFTER DELETE ON people FOR EACH ROW EXECUTE FUNCTION people_delete_rows();
