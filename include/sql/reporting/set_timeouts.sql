-- For this transaction only: how long a statement may run and wait for a lock, and how
-- often a long statement checks that its client is still there (a killed task's
-- refresh then ends within seconds instead of holding its locks to the end).
SELECT set_config('statement_timeout', %(statement_timeout)s, true),
       set_config('lock_timeout', %(lock_timeout)s, true),
       set_config('client_connection_check_interval', %(client_check_interval)s, true)
