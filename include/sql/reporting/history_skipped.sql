-- A view the open circuit breaker kept from running: recorded, with the reason.
INSERT INTO reporting.seeder_run_history
    (run_id, manifest_id, table_name, report_name, agency_id, agency_slug, report_type, status, action,
     finish_time, duration_seconds, consecutive_failures, errors)
VALUES
    (%(run_id)s, %(manifest_id)s, %(table_name)s, %(report_name)s, %(agency_id)s, %(agency_slug)s, %(report_type)s,
     'skipped', 'skipped', now(), 0,
     COALESCE((SELECT consecutive_failures FROM reporting.seeder_job_status WHERE table_name = %(table_name)s), 0),
     %(errors)s)
