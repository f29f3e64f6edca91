-- The breaker's row (created by breaker_ensure.sql), locked until commit so parallel
-- tasks update it one at a time; the database's clock is the one every worker shares.
SELECT failures, opened_at, clock_timestamp() AS now
FROM reporting.seeder_circuit_breaker WHERE name = %(name)s FOR UPDATE
