"""A manifest's ``query``: exactly one read-only SELECT, or it is rejected before it runs.

Pure: parsed with sqlglot in the Postgres dialect. Accepted are one ``SELECT`` (with
``WITH``, set operations, subqueries); refused are several statements, anything
but a query (DDL, DML, ``COPY``, ``CALL``...), a data-modifying CTE, ``SELECT INTO``
and locking clauses (``FOR UPDATE`` / ``SHARE``). This is the first of three
guards: the statement is also sent with the extended protocol (the server refuses a
second statement however the text fooled the parser), and the view's query runs as
a reader role that may only read the sources (``views.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FIELD = "query"
_TRAILING = re.compile(r"[\s;]+\Z")


class QueryRejectedError(ValueError):
    """The manifest's query is not one read-only SELECT (or reads what it may not)."""


@dataclass(frozen=True)
class CheckedQuery:
    text: str  # the manifest's own text, trailing semicolons and blanks removed
    # Relations it reads, as Postgres resolves the names: (schema, name) or (name,), an
    # unquoted part folded to lower case; CTE names and functions in FROM excluded.
    tables: tuple[tuple[str, ...], ...]


def check_query(query: str) -> CheckedQuery:
    """The query as it will run and the relations it reads; ``QueryRejectedError`` saying why not."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    if not isinstance(query, str) or not query.strip():
        raise QueryRejectedError("is empty")
    try:
        statements = [s for s in sqlglot.parse(query, read="postgres") if s is not None]
    except (ParseError, TokenError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise QueryRejectedError(f"is not valid SQL ({first_line})") from None
    if len(statements) != 1:
        raise QueryRejectedError(f"holds {len(statements)} statements; exactly one SELECT is allowed")
    (statement,) = statements
    if not isinstance(statement, exp.Query):
        raise QueryRejectedError(f"is a {_kind(statement)} statement, not a SELECT")
    for node in statement.walk():
        if isinstance(node, exp.Insert | exp.Update | exp.Delete | exp.Merge):
            raise QueryRejectedError(f"modifies data ({_kind(node)} inside the SELECT, e.g. a data-modifying CTE)")
        if isinstance(node, exp.Into):
            raise QueryRejectedError("is a SELECT INTO (it creates a table)")
        if isinstance(node, exp.Lock):
            raise QueryRejectedError("has a locking clause (FOR UPDATE / FOR SHARE)")
        if isinstance(node, exp.Command | exp.Create | exp.Drop | exp.Alter):
            raise QueryRejectedError(f"holds a {_kind(node)} statement")
    cte_names = {cte.alias_or_name for cte in statement.find_all(exp.CTE)}
    tables = []
    for table in statement.find_all(exp.Table):
        # A function in FROM (generate_series, pg_sleep) is a Table node without a name.
        if not table.name or (not table.db and table.name in cte_names):
            continue
        name = tuple(_folded(part) for part in table.parts)
        if name not in tables:
            tables.append(name)
    return CheckedQuery(text=_TRAILING.sub("", query).strip(), tables=tuple(tables))


def _folded(identifier) -> str:
    return identifier.name if getattr(identifier, "quoted", False) else identifier.name.lower()


def _kind(node) -> str:
    key = getattr(node, "key", "") or type(node).__name__
    return key.upper()
