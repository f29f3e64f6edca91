INSERT INTO reporting.seeder_circuit_breaker (name) VALUES (%(name)s) ON CONFLICT (name) DO NOTHING
