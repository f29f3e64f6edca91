"""Database errors told without the values they carry.

psycopg's message for a failed statement holds the row in its DETAIL and
CONTEXT lines (``Key (person_id)=(123)``, ``Failing row contains (...)``) and
often quotes the offending value in the primary message (``value "3000000000"
is out of range``). Those values can be personal data, so logs, run history and
exceptions carry :func:`describe` instead: the error class, SQLSTATE, table,
column, constraint and type, and the primary message with every quoted literal
that is not one of those names replaced by ``…``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

_QUOTED = re.compile(r'"([^"]*)"|\'([^\']*)\'')

# SQLSTATE classes where the data broke a rule of the target: a retry breaks it again.
DATA_RULE_CLASSES = ("22", "23")


class DatabaseError(Exception):
    """A database failure described without row values; retried like any error."""


def _diag_names(diag) -> set[str]:
    names = {
        getattr(diag, field, None)
        for field in ("schema_name", "table_name", "column_name", "constraint_name", "datatype_name")
    }
    return {name for name in names if name}


def _redacted(message: str, keep: set[str]) -> str:
    def replace(match: re.Match) -> str:
        inner = match.group(1) if match.group(1) is not None else match.group(2)
        return match.group(0) if inner in keep else match.group(0)[0] + "…" + match.group(0)[-1]

    return _QUOTED.sub(replace, message)


def sqlstate(err: BaseException) -> str | None:
    err = _driver_error(err)
    diag = getattr(err, "diag", None)
    return getattr(diag, "sqlstate", None) or getattr(err, "sqlstate", None)


def is_data_rule_error(err: BaseException) -> bool:
    """True when the statement failed on the data (classes 22 and 23), not on the server."""
    state = sqlstate(err)
    return bool(state) and state[:2] in DATA_RULE_CLASSES


def _driver_error(err: BaseException) -> BaseException:
    """psycopg's error inside SQLAlchemy's wrapper (Alembic and Airflow's hooks raise the wrapper)."""
    orig = getattr(err, "orig", None)
    return orig if orig is not None and hasattr(orig, "diag") else err


def describe(err: BaseException) -> str:
    """One line naming what failed and where, with no value from the row.

    Non-database errors are told as ``Class: message`` (their text is ours).
    """
    err = _driver_error(err)
    diag = getattr(err, "diag", None)
    if diag is None or not hasattr(diag, "message_primary"):
        return f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}".rstrip(": ")
    parts = [type(err).__name__]
    state = sqlstate(err)
    if state:
        parts.append(f"SQLSTATE {state}")
    table = ".".join(name for name in (diag.schema_name, diag.table_name) if name)
    for label, value in (
        ("table", table),
        ("column", diag.column_name),
        ("constraint", diag.constraint_name),
        ("type", diag.datatype_name),
    ):
        if value:
            parts.append(f"{label} {value}")
    primary = diag.message_primary or (str(err).strip().splitlines() or [""])[0]
    return f"{', '.join(parts)}: {_redacted(primary, _diag_names(diag))}"


@contextmanager
def values_kept_out(what: str) -> Iterator[None]:
    """Re-raise a psycopg error from the block as one that carries only :func:`describe`.

    A data-rule error (classes 22 and 23) becomes ``AirflowFailException``: a retry
    would meet the same data. Anything else stays retryable. The original is not
    chained (``from None``): its text, with the values, would be logged with it.
    SQLAlchemy's wrapper of a psycopg error (``DBAPIError``) is treated as the error it wraps.
    """
    import psycopg
    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except (psycopg.Error, DBAPIError) as err:
        message = f"{what}: {describe(err)}"
        if is_data_rule_error(err):
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(message) from None
        raise DatabaseError(message) from None
