-- The read budget's rows kept in the primary key's own tree. Before, every upsert of a batch
-- (about once a second, one row per person read) maintained four B-trees: the table, its
-- primary key, read_budget_read_at and read_budget_user_read_at (migration 21), and the upserts
-- took 14.5 % of the server's CPU under the GET benchmark (docs/benchmarks.md section 4i). A
-- table WITHOUT ROWID keeps each row in the primary key (user, person) itself, so an upsert
-- touches two trees (the key and read_budget_read_at, which forgetting old reads needs), and a
-- user's count is one range of the key: after each batch forgets the reads before the window,
-- every row left is in it.
CREATE TABLE read_budget_next (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    person_id TEXT NOT NULL,
    read_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, person_id)
) STRICT, WITHOUT ROWID;
INSERT INTO read_budget_next (user_id, person_id, read_at) SELECT user_id, person_id, read_at FROM read_budget;
DROP TABLE read_budget;
ALTER TABLE read_budget_next RENAME TO read_budget;
CREATE INDEX read_budget_read_at ON read_budget (read_at);
