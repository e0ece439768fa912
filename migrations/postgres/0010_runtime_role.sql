-- Two roles on PostgreSQL. The owner of the schema runs the migrations (`sejf migrate`); the
-- runtime role the servers connect as reads and writes the data but may only add to the audit
-- trail: it owns no table, so it cannot disable the append-only triggers (only an owner or a
-- superuser can), and it holds no UPDATE, DELETE or TRUNCATE on the audit tables. It may move
-- the audit head (the sequence counter), which can only cause a conflict or a gap, and a gap
-- is what `sejf audit verify` reports.
--
-- `sejf migrate --runtime-role NAME` calls this function as the owner after every migration
-- run, so tables added by later migrations are granted too. It refuses a runtime role that is
-- the owner, a member of it, or a superuser.
CREATE FUNCTION sejf_grant_runtime(runtime_role text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = runtime_role) THEN
        RAISE EXCEPTION 'no such role';
    END IF;
    IF runtime_role = current_user OR pg_has_role(runtime_role, current_user, 'MEMBER') THEN
        RAISE EXCEPTION 'the runtime role must not be the owner of the schema, nor a member of it';
    END IF;
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = runtime_role) THEN
        RAISE EXCEPTION 'the runtime role must not be a superuser';
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), runtime_role);
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
        EXECUTE format('REVOKE ALL ON TABLE %I FROM %I', t, runtime_role);
        IF t IN ('audit_events', 'audit_chain', 'audit_checkpoints') THEN
            EXECUTE format('GRANT SELECT, INSERT ON TABLE %I TO %I', t, runtime_role);
        ELSIF t = 'audit_head' THEN
            EXECUTE format('GRANT SELECT, UPDATE ON TABLE %I TO %I', t, runtime_role);
        ELSIF t = 'schema_migrations' THEN
            EXECUTE format('GRANT SELECT ON TABLE %I TO %I', t, runtime_role);
        ELSE
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %I TO %I', t, runtime_role);
        END IF;
    END LOOP;
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', current_schema(), runtime_role);
    EXECUTE format('REVOKE ALL ON FUNCTION sejf_grant_runtime(text) FROM %I', runtime_role);
END;
$$;
REVOKE ALL ON FUNCTION sejf_grant_runtime(text) FROM PUBLIC;
