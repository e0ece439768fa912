-- Read budgets over a sliding window instead of clock hours: the latest time (unix
-- microseconds) each user read each person, shared by every server. Servers count in memory and
-- write their new reads in batches (ADR 0017); reads older than the window are deleted as
-- batches arrive. The clock-hour rows of 0007 are dropped: budgets start afresh at the upgrade.
DROP TABLE read_budget;
CREATE TABLE read_budget (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    person_id TEXT NOT NULL,
    read_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, person_id)
) STRICT;
CREATE INDEX read_budget_read_at ON read_budget (read_at);
