-- A report source schema: the reader role may look into it (with grant_source_tables.sql).
GRANT USAGE ON SCHEMA {{ schema | ident }} TO {{ role | ident }}
