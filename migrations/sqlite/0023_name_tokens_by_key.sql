-- A person's name tokens kept in the primary key's own tree. Each token row (a score per
-- person: every token of the name and its prefixes, ADR 0003) lived in three B-trees: the
-- table, the primary key (token, person) and person_name_tokens_person; every person's insert,
-- delete and name change wrote each row into all three, and the rows were a third of the data
-- directory. WITHOUT ROWID keeps each row in the key itself; the index by person then holds
-- (person, token), from which a person's read takes their tokens without visiting the table.
-- The rows are copied in key order, so the new tree is written front to back.
CREATE TABLE person_name_tokens_next (
    token INTEGER NOT NULL,
    person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (token, person_id)
) STRICT, WITHOUT ROWID;
INSERT INTO person_name_tokens_next (token, person_id) SELECT token, person_id FROM person_name_tokens ORDER BY token, person_id;
DROP TABLE person_name_tokens;
ALTER TABLE person_name_tokens_next RENAME TO person_name_tokens;
CREATE INDEX person_name_tokens_person ON person_name_tokens (person_id, token);
