-- The read budget's count answered from the primary key alone, as on SQLite (where the table
-- is rebuilt WITHOUT ROWID): the key carries read_at (INCLUDE), so a user's count is one
-- range of it, and the separate (user_id, read_at) index of migration 21 goes, one index fewer
-- for every upsert of a batch. `sejf migrate --runtime-role` grants the rebuilt table again.
CREATE TABLE read_budget_next (
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    person_id TEXT COLLATE "C" NOT NULL,
    read_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, person_id) INCLUDE (read_at)
);
INSERT INTO read_budget_next (user_id, person_id, read_at) SELECT user_id, person_id, read_at FROM read_budget;
DROP TABLE read_budget;
ALTER TABLE read_budget_next RENAME TO read_budget;
ALTER INDEX read_budget_next_pkey RENAME TO read_budget_pkey;
CREATE INDEX read_budget_read_at ON read_budget (read_at);
