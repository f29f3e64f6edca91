-- Swap {{ schema }}.{{ name }}__new (built beside by the caller, its indexes named <index>__new)
-- in for {{ schema }}.{{ name }}, in the caller's transaction, so readers never see the view
-- missing: they wait on the lock, then read the new one. Kept from the old view: its owner,
-- every privilege on it (whoever the grantee: the old ACL is copied, not a list of known
-- roles), its comment, and any index the new definition does not declare whose columns
-- still exist (one that cannot be rebuilt is reported with a WARNING). Objects that depend
-- on the old view must be swapped first: it is dropped without CASCADE.
-- Include it with schema and name set: {% raw %}{% with schema=..., name=... %}{% include %}{% endraw %}.
DO $swap$
DECLARE
    schema_name constant text := '{{ schema|ident }}';  -- quoted identifiers
    view_name constant text := '{{ name|ident }}';
    old_view regclass := to_regclass(schema_name || '.' || view_name);
    staged regclass := to_regclass(schema_name || '.' || '{{ (name ~ "__new")|ident }}');
    old_kind "char";
    old_qualified text;  -- as pg_get_indexdef spells it
    staged_qualified text;
    entry record;
    statement text;
BEGIN
    IF staged IS NULL THEN
        RAISE EXCEPTION 'swap_matview: %.% was not built', schema_name, '{{ (name ~ "__new")|ident }}';
    END IF;
    IF old_view IS NOT NULL THEN
        SELECT c.relkind INTO old_kind FROM pg_class AS c WHERE c.oid = old_view;
        SELECT format('%I.%I', n.nspname, c.relname) INTO old_qualified
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE c.oid = old_view;
        SELECT format('%I.%I', n.nspname, c.relname) INTO staged_qualified
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE c.oid = staged;
        IF old_kind NOT IN ('m', 'v') THEN
            RAISE EXCEPTION 'swap_matview: % is not a view (relkind %)', old_view, old_kind;
        END IF;
        EXECUTE format(
            'ALTER MATERIALIZED VIEW %s OWNER TO %I',
            staged, (SELECT pg_get_userbyid(c.relowner) FROM pg_class AS c WHERE c.oid = old_view)
        );
        FOR entry IN
            SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee,
                   a.privilege_type, a.is_grantable
            FROM pg_class AS c, aclexplode(c.relacl) AS a
            WHERE c.oid = old_view AND a.grantee <> c.relowner
        LOOP
            EXECUTE format(
                'GRANT %s ON %s TO %s%s', entry.privilege_type, staged, entry.grantee,
                CASE WHEN entry.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END
            );
        END LOOP;
        IF obj_description(old_view, 'pg_class') IS NOT NULL THEN
            EXECUTE format('COMMENT ON MATERIALIZED VIEW %s IS %L', staged, obj_description(old_view, 'pg_class'));
        END IF;
        FOR entry IN
            SELECT i.relname AS index_name, pg_get_indexdef(i.oid) AS definition
            FROM pg_index AS x JOIN pg_class AS i ON i.oid = x.indexrelid
            WHERE x.indrelid = old_view
              AND to_regclass(schema_name || '.' || quote_ident(i.relname || '__new')) IS NULL
        LOOP
            -- pg_get_indexdef names the table schema-qualified (quoted only where needed),
            -- whatever the search_path, which regclass::text does not
            statement := replace(
                entry.definition,
                format(' INDEX %I ON %s ', entry.index_name, old_qualified),
                format(' INDEX %I ON %s ', entry.index_name || '__new', staged_qualified)
            );
            IF statement = entry.definition THEN
                RAISE WARNING 'swap_matview: index % of % not kept: unexpected definition %',
                    entry.index_name, old_view, entry.definition;
                CONTINUE;
            END IF;
            BEGIN
                EXECUTE statement;
            EXCEPTION WHEN undefined_column OR undefined_object THEN
                RAISE WARNING 'swap_matview: index % of % not kept on the new view: %',
                    entry.index_name, old_view, SQLERRM;
            END;
        END LOOP;
        EXECUTE format('DROP %s %s', CASE old_kind WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END, old_view);
    END IF;
    EXECUTE format('ALTER MATERIALIZED VIEW %s RENAME TO %s', staged, view_name);
    FOR entry IN
        SELECT i.relname AS index_name
        FROM pg_index AS x JOIN pg_class AS i ON i.oid = x.indexrelid
        WHERE x.indrelid = staged AND i.relname LIKE '%\_\_new'
    LOOP
        EXECUTE format('ALTER INDEX %s.%I RENAME TO %I', schema_name, entry.index_name, left(entry.index_name, -5));
    END LOOP;
END
$swap$;
