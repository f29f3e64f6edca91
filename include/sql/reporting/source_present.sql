-- Whether a configured source schema, or table, exists (a missing one is skipped, said in the log).
SELECT CASE WHEN %(name)s::text IS NULL THEN to_regnamespace(%(schema)s) IS NOT NULL
            ELSE to_regclass(%(relation)s) IS NOT NULL END
