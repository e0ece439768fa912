-- Read budgets shared by every server: the distinct people each user read in a clock hour
-- (hour = Unix time / 3600). A server records a person the first time the user reads them in
-- the hour; older hours of a user are deleted as the next hour's reads arrive.
CREATE TABLE read_budget (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hour INTEGER NOT NULL,
    person_id TEXT NOT NULL,
    PRIMARY KEY (user_id, hour, person_id)
) STRICT;
