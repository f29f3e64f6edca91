-- The role a manifest's query runs as (SET LOCAL ROLE while a view is built): it can
-- read the report sources and create a view in the reporting schema (whose owner is
-- then set back to the seeder's own role), nothing else. NOLOGIN: only a member (the
-- seeder's role, granted here) can become it. SELECT on the sources is granted by
-- each run's plan_views (`[reporting_seeder] source_schemas` and `source_tables`), so
-- a source table created after this migration is readable too.
DO $reader$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reporting_seeder_reader') THEN
        CREATE ROLE reporting_seeder_reader NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
    END IF;
    IF NOT pg_has_role(current_user, 'reporting_seeder_reader', 'MEMBER') THEN
        EXECUTE format('GRANT reporting_seeder_reader TO %I', current_user);
    END IF;
END
$reader$;

GRANT USAGE, CREATE ON SCHEMA reporting TO reporting_seeder_reader;
