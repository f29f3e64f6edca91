-- One relation a manifest's query reads: whether it exists and the reader role may read it.
SELECT to_regclass(%(relation)s) IS NOT NULL AS present,
       coalesce(has_table_privilege(%(role)s, to_regclass(%(relation)s), 'SELECT'), false) AS readable
