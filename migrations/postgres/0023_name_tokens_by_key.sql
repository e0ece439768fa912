-- The same rebuild as SQLite's (which makes the table WITHOUT ROWID): the index by person
-- becomes (person, token), so a person's read takes their tokens from the index alone.
CREATE TABLE person_name_tokens_next (
    token BIGINT NOT NULL,
    person_id TEXT COLLATE "C" NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (token, person_id)
);
INSERT INTO person_name_tokens_next (token, person_id) SELECT token, person_id FROM person_name_tokens ORDER BY token, person_id;
DROP TABLE person_name_tokens;
ALTER TABLE person_name_tokens_next RENAME TO person_name_tokens;
ALTER INDEX person_name_tokens_next_pkey RENAME TO person_name_tokens_pkey;
CREATE INDEX person_name_tokens_person ON person_name_tokens (person_id, token);
