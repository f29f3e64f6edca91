"""SQL templates under include/sql, rendered per dialect.

Jinja fills in identifiers, dialect branches and run context only; values are
always bind parameters. A template branches on ``dialect`` ("oracle" or
"postgres") where the Oracle source and its Postgres stand-in need other text.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from etl_bundle.common.paths import SQL_DIR

DIALECT_BY_CONN_TYPE = {"oracle": "oracle", "postgres": "postgres"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def check_identifier(name: str) -> str:
    """A schema, table or column name from configuration, safe to place in SQL text."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def quote_identifier(name: str) -> str:
    return '"' + check_identifier(name) + '"'


def dialect_for_conn_type(conn_type: str) -> str:
    try:
        return DIALECT_BY_CONN_TYPE[conn_type]
    except KeyError:
        raise ValueError(
            f"no SQL dialect for connection type {conn_type!r}; expected one of {sorted(DIALECT_BY_CONN_TYPE)}"
        ) from None


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(SQL_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - renders SQL, never HTML; values go as bind parameters
    )
    # Identifiers enter SQL text only through this filter: checked, then quoted.
    environment.filters["ident"] = quote_identifier
    return environment


def render_sql(template: str, *, dialect: str, **context: Any) -> str:
    """Render ``include/sql/<template>`` for ``dialect``."""
    if dialect not in DIALECT_BY_CONN_TYPE.values():
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    return _environment().get_template(template).render(dialect=dialect, **context).strip()


def sql_templates() -> list[str]:
    """Every template under include/sql, as paths relative to it."""
    return sorted(str(p.relative_to(SQL_DIR)) for p in SQL_DIR.rglob("*.sql"))
