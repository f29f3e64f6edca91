-- reporting_seeder's tables, created idempotently. Manifests, agency, run history and
-- job status follow the original's SCHEMA.md; query_hash, action and the breaker
-- tables are ours.
CREATE SCHEMA IF NOT EXISTS reporting;

CREATE TABLE IF NOT EXISTS public.agency (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT,
    subdomain TEXT,
    lms_integration_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    lms_tenant_root_only BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE IF NOT EXISTS reporting.seeder_custom_report_manifest (
    id INTEGER PRIMARY KEY,
    table_name TEXT NOT NULL,
    report_name TEXT NOT NULL,
    agency_id INTEGER,
    agency_slug TEXT,
    query TEXT NOT NULL,
    database_id INTEGER,
    enabled BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE IF NOT EXISTS reporting.seeder_canned_report (
    id INTEGER PRIMARY KEY,
    table_name TEXT NOT NULL UNIQUE,
    report_name TEXT NOT NULL,
    query TEXT NOT NULL,
    database_id INTEGER
);

CREATE TABLE IF NOT EXISTS reporting.seeder_canned_report_manifest (
    id INTEGER PRIMARY KEY,
    agency_id INTEGER,
    agency_slug TEXT,
    canned_report_id INTEGER NOT NULL REFERENCES reporting.seeder_canned_report (id),
    enabled BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE IF NOT EXISTS reporting.seeder_run_history (
    id BIGSERIAL PRIMARY KEY,
    run_id TEXT NOT NULL,
    manifest_id INTEGER NOT NULL,
    table_name TEXT NOT NULL,
    report_name TEXT NOT NULL,
    agency_id INTEGER NOT NULL,
    agency_slug TEXT NOT NULL,
    report_type TEXT NOT NULL CHECK (report_type IN ('custom', 'canned')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'success', 'error', 'skipped')),
    action TEXT,
    start_time TIMESTAMPTZ NOT NULL DEFAULT now(),
    finish_time TIMESTAMPTZ,
    duration_seconds INTEGER,
    records_processed BIGINT DEFAULT 0,
    bytes_processed BIGINT DEFAULT 0,
    memory_usage_mb INTEGER,
    cpu_percentage INTEGER,
    consecutive_failures INTEGER DEFAULT 0,
    errors TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS seeder_run_history_table_name ON reporting.seeder_run_history (table_name);
CREATE INDEX IF NOT EXISTS seeder_run_history_agency_slug ON reporting.seeder_run_history (agency_slug);
CREATE INDEX IF NOT EXISTS seeder_run_history_start_time ON reporting.seeder_run_history (start_time DESC);
CREATE INDEX IF NOT EXISTS seeder_run_history_run_id ON reporting.seeder_run_history (run_id);

CREATE TABLE IF NOT EXISTS reporting.seeder_job_status (
    table_name TEXT PRIMARY KEY,
    manifest_id INTEGER NOT NULL,
    report_name TEXT NOT NULL,
    report_type TEXT NOT NULL,
    agency_id INTEGER NOT NULL,
    agency_slug TEXT NOT NULL,
    status TEXT NOT NULL,
    duration_seconds INTEGER DEFAULT 0,
    start_time TIMESTAMPTZ,
    consecutive_failures INTEGER DEFAULT 0,
    last_run_id TEXT,
    last_errors TEXT,
    -- The manifest query the view was last built from (not pg_matviews' rewritten text).
    query_hash TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS seeder_job_status_agency_slug ON reporting.seeder_job_status (agency_slug);

-- One breaker shared by every task of every run.
CREATE TABLE IF NOT EXISTS reporting.seeder_circuit_breaker (
    name TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    opened_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- A view's failure counts once per run, however many task tries it took.
CREATE TABLE IF NOT EXISTS reporting.seeder_breaker_failures (
    run_id TEXT NOT NULL,
    table_name TEXT NOT NULL,
    failed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, table_name)
);
