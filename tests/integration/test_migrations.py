"""Every pipeline's migrations: from empty and from the original's database, once each, under a lock.

What each pipeline's DAG then does on such a database is tested beside that DAG.
"""

from __future__ import annotations

import threading

import pytest

from devstack import originals
from etl_bundle.common import migrations

# pipeline -> upgrade options (version table and template context where they are not the defaults)
PIPELINES: dict[str, dict] = {
    "ecapris": {},
    "dfps": {},
    "invoice": {},
    "tec": {
        "version_table": "tec__staging__operational_capacity",
        "context": {"schema": "staging", "table": "operational_capacity"},
    },
    "reporting": {},
}


def _version_table(pipeline: str) -> str:
    return PIPELINES[pipeline].get("version_table", pipeline)


def _head(pipeline: str) -> str:
    return migrations.migration_files(pipeline)[-1].stem


def _objects(connect) -> set[tuple[str, str, str]]:
    """(schema, name, kind) of every relation outside the catalogs."""
    with connect() as conn:
        rows = conn.execute(
            "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
        ).fetchall()
    return set(rows)


def test_every_pipeline_with_migrations_is_covered():
    folders = {path.parent.name for path in migrations.SQL_DIR.glob("*/migrations")}
    assert folders == set(PIPELINES)
    assert set(originals.pipelines()) <= set(PIPELINES)


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_empty_database_upgrades_to_head_and_again_is_a_no_op(scratch_warehouse, pipeline):
    options = PIPELINES[pipeline]
    files = migrations.migration_files(pipeline)
    assert migrations.upgrade(pipeline, scratch_warehouse, **options) == [path.stem for path in files]
    assert migrations.current(scratch_warehouse, _version_table(pipeline)) == _head(pipeline)
    before = _objects(scratch_warehouse)
    assert migrations.upgrade(pipeline, scratch_warehouse, **options) == []
    assert _objects(scratch_warehouse) == before


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_racing_upgrades_apply_one_set(scratch_warehouse, pipeline):
    options = PIPELINES[pipeline]
    results: list[list[str]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def run():
        start.wait()
        try:
            results.append(migrations.upgrade(pipeline, scratch_warehouse, **options))
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    applied = sorted(results, key=len, reverse=True)
    assert applied[0] == [path.stem for path in migrations.migration_files(pipeline)]
    assert applied[1:] == [[], [], []]
    with scratch_warehouse() as conn:
        rows = conn.execute(
            f'SELECT version_num FROM {migrations.VERSION_SCHEMA}."{_version_table(pipeline)}"'  # noqa: S608
        ).fetchall()
    assert rows == [(_head(pipeline),)]


@pytest.mark.parametrize("pipeline", originals.pipelines())
def test_original_database_is_adopted_once(scratch_warehouse, pipeline):
    options = PIPELINES[pipeline]
    with scratch_warehouse() as conn:
        originals.load(conn, pipeline)
    assert migrations.upgrade(pipeline, scratch_warehouse, **options) == [
        path.stem for path in migrations.migration_files(pipeline)
    ]
    before = _objects(scratch_warehouse)
    assert migrations.upgrade(pipeline, scratch_warehouse, **options) == []
    assert _objects(scratch_warehouse) == before
