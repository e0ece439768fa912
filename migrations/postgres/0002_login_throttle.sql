-- Sign-in throttling, shared by every server: failures per account name and per client
-- address, and the lock they earn. Keys are "user:<name>" or "addr:<ip>"; no personal data.
CREATE TABLE login_throttle (
    key TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    locks BIGINT NOT NULL
);
