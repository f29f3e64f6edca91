"""SQL templates: rendering per dialect, and every template parses in its dialect."""

from __future__ import annotations

import pytest
import sqlglot

from etl_bundle.common.sql import dialect_for_conn_type, render_sql, sql_templates

TEMPLATES = sql_templates()


def _dialects(template: str) -> list[str]:
    from etl_bundle.common.paths import SQL_DIR

    text = (SQL_DIR / template).read_text()
    # A template that branches on the dialect serves an Oracle source and its stand-in.
    return ["oracle", "postgres"] if "dialect" in text else ["postgres"]


@pytest.mark.parametrize(
    ("template", "dialect"), [(t, d) for t in TEMPLATES for d in _dialects(t)], ids=lambda v: str(v)
)
def test_template_parses_in_its_dialect(template, dialect):
    text = render_sql(template, dialect=dialect)
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
