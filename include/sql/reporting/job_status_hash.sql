SELECT query_hash FROM reporting.{{ status_table | ident }} WHERE table_name = %(table_name)s
