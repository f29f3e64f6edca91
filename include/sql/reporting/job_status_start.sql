-- The view is running (as the original's update_or_create at start): its failure count,
-- last duration and last errors stay until the attempt ends.
INSERT INTO reporting.{{ status_table | ident }} AS s
    (table_name, manifest_id, report_name, report_type, agency_id, agency_slug, status, duration_seconds,
     start_time, consecutive_failures, last_run_id, updated_at)
VALUES
    (%(table_name)s, %(manifest_id)s, %(report_name)s, %(report_type)s, %(agency_id)s, %(agency_slug)s, 'running',
     0, %(start_time)s, %(consecutive_failures)s, %(run_id)s, clock_timestamp())
ON CONFLICT (table_name) DO UPDATE SET
    manifest_id = EXCLUDED.manifest_id,
    report_name = EXCLUDED.report_name,
    report_type = EXCLUDED.report_type,
    agency_id = EXCLUDED.agency_id,
    agency_slug = EXCLUDED.agency_slug,
    status = EXCLUDED.status,
    start_time = EXCLUDED.start_time,
    last_run_id = EXCLUDED.last_run_id,
    updated_at = EXCLUDED.updated_at
