-- The sign-in guard (docs/adr/0018-sign-in-guard.md): keys are now keyed hashes of an account
-- and an address, counted by one atomic statement before a password is checked; `busy_until`
-- is the account's verification lease and its progressive delay, shared by every server.
-- Rows under the old key scheme ("user:<name>", "addr:<ip>") mean nothing any more.
DELETE FROM login_throttle;
ALTER TABLE login_throttle ADD COLUMN busy_until INTEGER NOT NULL DEFAULT 0;
