SELECT query_hash FROM reporting.seeder_job_status WHERE table_name = %(table_name)s
