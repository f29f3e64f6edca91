-- Tables our role creates in a source schema later are readable at once.
ALTER DEFAULT PRIVILEGES IN SCHEMA {{ schema | ident }} GRANT SELECT ON TABLES TO {{ role | ident }}
