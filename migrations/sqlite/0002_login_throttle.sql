-- Sign-in throttling, shared by every server: failures per account name and per client
-- address, and the lock they earn. Keys are "user:<name>" or "addr:<ip>"; no personal data.
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    locks INTEGER NOT NULL
) STRICT;
