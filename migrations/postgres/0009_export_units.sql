-- The business units of the people an export request covers (a JSON array of unit slugs,
-- sorted), so that whoever approves it must answer for every one of them. Requests made
-- before this migration have '[]': their units are worked out from the people they cover.
ALTER TABLE export_requests ADD COLUMN units TEXT NOT NULL DEFAULT '[]';
