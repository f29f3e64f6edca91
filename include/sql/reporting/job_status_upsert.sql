-- The view's latest state. query_hash changes only when a build succeeded.
INSERT INTO reporting.seeder_job_status AS s
    (table_name, manifest_id, report_name, report_type, agency_id, agency_slug, status, duration_seconds,
     start_time, consecutive_failures, last_run_id, last_errors, query_hash, updated_at)
VALUES
    (%(table_name)s, %(manifest_id)s, %(report_name)s, %(report_type)s, %(agency_id)s, %(agency_slug)s, %(status)s,
     %(duration_seconds)s, %(start_time)s, %(consecutive_failures)s, %(run_id)s, %(errors)s, %(query_hash)s,
     clock_timestamp())
ON CONFLICT (table_name) DO UPDATE SET
    manifest_id = EXCLUDED.manifest_id,
    report_name = EXCLUDED.report_name,
    report_type = EXCLUDED.report_type,
    agency_id = EXCLUDED.agency_id,
    agency_slug = EXCLUDED.agency_slug,
    status = EXCLUDED.status,
    duration_seconds = COALESCE(EXCLUDED.duration_seconds, s.duration_seconds),
    start_time = COALESCE(EXCLUDED.start_time, s.start_time),
    consecutive_failures = EXCLUDED.consecutive_failures,
    last_run_id = EXCLUDED.last_run_id,
    last_errors = EXCLUDED.last_errors,
    query_hash = COALESCE(EXCLUDED.query_hash, s.query_hash),
    updated_at = EXCLUDED.updated_at
