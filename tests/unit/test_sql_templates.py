"""SQL templates: rendering per dialect, and every template parses in its dialect."""

from __future__ import annotations

import re

import pytest
import sqlglot

from etl_bundle.common.sql import check_identifier, dialect_for_conn_type, quote_identifier, render_sql, sql_templates
from etl_bundle.tec.load import UPDATE_COLUMNS
from etl_bundle.tec.transforms import TARGET_COLUMNS

TEMPLATES = sql_templates()
# What each pipeline's templates are rendered with, as its code renders them.
CONTEXT_BY_FOLDER = {
    "common": {
        "schema": "curated",
        "name": "demands_archived",
        "views": [("curated", "demands_archived")],
        "concurrently": True,
    },
    "dfps": {},
    "ecapris": {"id_count": 3},
    "invoice": {"tables": ["cases", "audit"]},
    "reporting": {
        "schema": "reporting",
        "name": "canned_sales",
        "new_name": "canned_sales__seeder_new",
        "query": "SELECT agency_id, count(*) AS n FROM reporting_src.incidents GROUP BY agency_id",
        "concurrently": True,
        "if_exists": True,
        "unique": True,
        "index": "canned_sales_key",
        "definition_tail": "USING btree (agency_id)",
        "privilege": "SELECT",
        "grantee": "reporting_reader",
        "history_table": "seeder_run_history",
        "status_table": "seeder_job_status",
        "role": "reporting_seeder_reader",
    },
    "tec": {
        "schema": "staging",
        "table": "operational_capacity",
        "columns": TARGET_COLUMNS,
        "update_columns": UPDATE_COLUMNS,
    },
}


def _dialects(template: str) -> list[str]:
    from etl_bundle.common.paths import SQL_DIR

    text = (SQL_DIR / template).read_text()
    # A template that branches on the dialect serves an Oracle source and its stand-in.
    return ["oracle", "postgres"] if "dialect" in text else ["postgres"]


@pytest.mark.parametrize(
    ("template", "dialect"), [(t, d) for t in TEMPLATES for d in _dialects(t)], ids=lambda v: str(v)
)
def test_template_parses_in_its_dialect(template, dialect):
    text = render_sql(template, dialect=dialect, **CONTEXT_BY_FOLDER[template.split("/")[0]])
    if dialect == "oracle":
        # sqlglot has no PL/SQL: an anonymous block (BEGIN …; END;) is checked statement by statement.
        text = re.sub(r"(?ms)^BEGIN\s+(.*?)\s*END;\s*$", r"\1", text)
    statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    assert statements, f"{template} rendered for {dialect} holds no statement"


def test_ping_renders_per_dialect():
    assert "FROM dual" in render_sql("common/ping.sql", dialect="oracle")
    assert "dual" not in render_sql("common/ping.sql", dialect="postgres")


def test_dialect_comes_from_connection_type():
    assert dialect_for_conn_type("oracle") == "oracle"
    assert dialect_for_conn_type("postgres") == "postgres"
    with pytest.raises(ValueError, match="mysql"):
        dialect_for_conn_type("mysql")


def test_unknown_dialect_and_missing_variables_fail_loudly():
    with pytest.raises(ValueError, match="sqlite"):
        render_sql("common/ping.sql", dialect="sqlite")
    import jinja2

    from etl_bundle.common import sql as sql_module

    env = sql_module._environment()
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("SELECT * FROM {{ table }}").render(dialect="postgres")


def test_identifiers_are_checked_and_quoted():
    assert quote_identifier("operational_capacity") == '"operational_capacity"'
    for bad in ("x; DROP TABLE y", 'a"b', "1abc", "", "a" * 64):
        with pytest.raises(ValueError):
            check_identifier(bad)


def test_every_template_folder_has_a_render_context():
    assert {t.split("/")[0] for t in TEMPLATES} <= set(CONTEXT_BY_FOLDER)
