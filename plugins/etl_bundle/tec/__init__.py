"""tec_operational_capacity: Energy Transfer capacity per gas day and cycle into Postgres."""
