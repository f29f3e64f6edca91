UPDATE reporting.seeder_circuit_breaker
SET failures = %(failures)s, opened_at = %(opened_at)s, updated_at = clock_timestamp()
WHERE name = %(name)s
