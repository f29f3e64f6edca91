"""Versioned schema migrations: Alembic over the SQL files of ``include/sql/<pipeline>/migrations/``.

Each pipeline's migrations are files named ``NNNN_what_it_does.sql``, applied in
the order of their numbers, each once. The file stem is the Alembic revision (so at
most 32 characters, Alembic's ``version_num``), the previous file its
``down_revision``. A file is a Jinja template rendered by ``etl_bundle.common.sql``
(identifiers through ``ident``; TEC's migrations take the endpoint's schema and
table), then executed as it is (several statements, no bind parameters).

Why Alembic without ``env.py`` and Python revision files: the migrations are plain
SQL, kept beside the pipeline's other templates, and every pipeline is upgraded
from its own DDL task. So the revisions are read from the SQL files
(``SqlScriptDirectory``) and the migration context is configured here, once.

One upgrade is one transaction (Postgres has transactional DDL): all pending
migrations apply, or none. Its first statement takes an advisory lock named after
the version table, so runs and backfill runs that start together apply each
migration once: the others wait, then find nothing left to do. The applied
revision is recorded per pipeline (per target table for TEC) in
``etl_migrations.<version_table>``.
"""

from __future__ import annotations

import logging
import re
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from etl_bundle.common.paths import SQL_DIR
from etl_bundle.common.sql import check_identifier, render_sql

log = logging.getLogger(__name__)

VERSION_SCHEMA = "etl_migrations"
_FILE_NAME = re.compile(r"^(?P<number>\d{4})_[a-z0-9_]+\.sql$")
_VERSION_NUM_LENGTH = 32  # Alembic's version table column


def migration_files(pipeline: str) -> list[Path]:
    """The pipeline's migration files in order; a misnamed or renumbered file is an error."""
    folder = SQL_DIR / check_identifier(pipeline) / "migrations"
    files = sorted(folder.glob("*.sql"))
    numbers = []
    for path in files:
        match = _FILE_NAME.match(path.name)
        if not match or len(path.stem) > _VERSION_NUM_LENGTH:
            raise ValueError(f"{path}: a migration is named NNNN_lower_snake.sql, at most 36 characters")
        numbers.append(int(match["number"]))
    if numbers != list(range(1, len(files) + 1)):
        raise ValueError(f"{folder}: migrations must be numbered 0001, 0002, … without gaps, found {numbers}")
    return files


def _alembic_script_directory():
    from alembic.script import Script, ScriptDirectory

    class SqlScriptDirectory(ScriptDirectory):
        """Alembic revisions made from a pipeline's SQL files instead of Python scripts."""

        def __init__(self, pipeline: str, context: Mapping[str, Any]):
            self.pipeline = pipeline
            self.context = dict(context)
            super().__init__(SQL_DIR / pipeline / "migrations")

        def _load_revisions(self) -> Iterator[Script]:
            previous = None
            for path in migration_files(self.pipeline):
                yield Script(self._revision_module(path, previous), path.stem, path)
                previous = path.stem

        def _revision_module(self, path: Path, down_revision: str | None) -> types.ModuleType:
            template = f"{self.pipeline}/migrations/{path.name}"
            context = self.context

            def upgrade(*, connection) -> None:
                # No parameters at all, so a % in the SQL (LIKE '%x%', format('%I'), RAISE '%')
                # reaches Postgres as written instead of being read as a placeholder.
                sql = render_sql(template, dialect="postgres", **context)
                connection.execution_options(no_parameters=True).exec_driver_sql(sql)

            def downgrade(**_: Any) -> None:
                # Forward only: a migration that went wrong is corrected by the next one.
                raise NotImplementedError(f"{template}: migrations are not reversed")

            module = types.ModuleType(path.stem, f"{template}")
            module.revision = path.stem
            module.down_revision = down_revision
            module.upgrade = upgrade
            module.downgrade = downgrade
            return module

    return SqlScriptDirectory


def upgrade(
    pipeline: str,
    connect: Callable[[], Any],
    *,
    version_table: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> list[str]:
    """Apply the pipeline's pending migrations under its lock; the revisions applied, in order.

    ``connect`` returns a new psycopg (3) connection (e.g. ``PostgresHook.get_conn``);
    it is used for this upgrade only. ``version_table`` defaults to the pipeline's
    name; ``context`` is what the migration templates are rendered with.
    """
    from alembic.config import Config
    from alembic.runtime.environment import EnvironmentContext
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    version_table = check_identifier(version_table or pipeline)
    script = _alembic_script_directory()(pipeline, context or {})
    applied: list[str] = []

    def pending(heads, migration_context):
        return script._upgrade_revs("heads", heads)

    def record(*, step, **_: Any) -> None:
        applied.append(step.up_revision_id)
        log.info("%s: applied migration %s", version_table, step.up_revision_id)

    engine = create_engine("postgresql+psycopg://", creator=connect, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            environment = EnvironmentContext(Config(), script, fn=pending)
            environment.configure(
                connection=connection,
                version_table=version_table,
                version_table_schema=VERSION_SCHEMA,
                transactional_ddl=True,
                transaction_per_migration=False,
                on_version_apply=record,
            )
            with environment.begin_transaction():
                # Before Alembic reads the version table: whoever waits here then sees what
                # the holder committed, and finds nothing left to apply.
                connection.exec_driver_sql(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%(lock)s, 0))",
                    {"lock": f"{VERSION_SCHEMA}.{version_table}"},
                )
                connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {VERSION_SCHEMA}")
                environment.run_migrations(connection=connection)
    finally:
        engine.dispose()
    if not applied:
        log.info("%s: schema up to date", version_table)
    return applied


def current(connect: Callable[[], Any], version_table: str) -> str | None:
    """The revision recorded for ``version_table``, or None when nothing was applied yet."""
    conn = connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", (f"{VERSION_SCHEMA}.{check_identifier(version_table)}",))
            if cursor.fetchone()[0] is None:
                return None
            cursor.execute(f'SELECT version_num FROM {VERSION_SCHEMA}."{version_table}"')  # noqa: S608 - checked identifier
            row = cursor.fetchone()
            return row[0] if row else None
    finally:
        conn.close()


def upgrade_with_hook(pipeline: str, postgres_conn_id: str, **kwargs: Any) -> list[str]:
    """``upgrade`` on an Airflow Postgres connection (what the DDL tasks run)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    return upgrade(pipeline, PostgresHook(postgres_conn_id=postgres_conn_id).get_conn, **kwargs)
