"""A test double for Hasura's GraphQL protocol over Moped's Postgres tables.

It answers ``POST /v1/graphql`` the way Hasura does for the parts the eCapris
sync uses, validated against a schema in Hasura's naming:

- ``moped_project(where, distinct_on, limit)`` and
  ``ecapris_subproject_statuses(where, limit)`` with Hasura's boolean expressions
  (``_eq _neq _in _nin _is_null _gt _gte _lt _lte``, ``_and _or _not``);
- ``insert_ecapris_subproject_statuses(objects, on_conflict)`` as one multi-row
  ``INSERT ... ON CONFLICT ON CONSTRAINT ... DO UPDATE`` (or ``DO NOTHING`` when
  ``update_columns`` is empty), with ``affected_rows`` and ``returning``;
- ``update_ecapris_subproject_statuses_many(updates: [{where, _set}])``, one
  ``UPDATE`` per entry in order, each answering ``affected_rows`` and ``returning``;
- the ``X-Hasura-Admin-Secret`` header, and errors in Hasura's shape
  (``{"errors": [{"message", "extensions": {"path", "code"}}]}``, HTTP 200).

Each request is one transaction, as in Hasura. For fault tests, files beside the
admin secret hold a number N that counts down per GraphQL request:

- ``unavailable``: HTTP 503, as a restarting Hasura behind a load balancer answers;
- ``graphql_errors``: HTTP 200 with ``{"errors": [{"message": "database query error",
  "extensions": {"path": "$", "code": "unexpected"}}]}``, what Hasura answers when its
  database fails under a request (hasura/graphql-engine#6489), nothing committed;
- ``mutation_errors``: the same for mutations only; ``K after S`` lets S mutations
  through first (a failure in the middle of a run's upserts).

- ``answers_lost``: the next K mutations are committed, then the connection is closed
  without an answer, as a proxy timing out after Hasura committed leaves the client.

Moped's database unreachable (a restart) gets the same ``database query error`` answer.

Every POST is appended to ``requests.log`` there (one JSON line: path, HTTP status,
root fields, the ``subproject_status_id`` of each row a committed mutation wrote,
whether it was committed): the tests' count of side effects. No header and no
variable is logged, so neither the admin secret nor a row's text. Not product code.
"""

from __future__ import annotations

import argparse
import hmac
import json
import threading
from datetime import date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SCHEMA_SQL = Path(__file__).with_name("moped_schema.sql")
GRAPHQL_PATH = "/v1/graphql"

STATUS_COLUMNS = (
    "id",
    "ecapris_subproject_id",
    "subproject_name",
    "subproject_status_id",
    "current_status_fl",
    "sub_project_status_desc",
    "review_timestamp",
    "subproject_status_impacts",
    "summary_description",
    "reviewed_by_name",
    "reviewed_by_email",
    "created_at",
    "updated_at",
    "created_by_user_id",
    "updated_by_user_id",
)
PROJECT_COLUMNS = ("project_id", "project_name", "ecapris_subproject_id", "is_deleted", "should_sync_ecapris_statuses")

SDL = """
scalar timestamptz

input String_comparison_exp {
  _eq: String, _neq: String, _in: [String!], _nin: [String!], _is_null: Boolean,
  _gt: String, _gte: String, _lt: String, _lte: String
}
input Int_comparison_exp {
  _eq: Int, _neq: Int, _in: [Int!], _nin: [Int!], _is_null: Boolean, _gt: Int, _gte: Int, _lt: Int, _lte: Int
}
input Boolean_comparison_exp { _eq: Boolean, _neq: Boolean, _is_null: Boolean }
input timestamptz_comparison_exp {
  _eq: timestamptz, _neq: timestamptz, _is_null: Boolean,
  _gt: timestamptz, _gte: timestamptz, _lt: timestamptz, _lte: timestamptz
}

type moped_project {
  project_id: Int!
  project_name: String!
  ecapris_subproject_id: String
  is_deleted: Boolean!
  should_sync_ecapris_statuses: Boolean!
}
input moped_project_bool_exp {
  _and: [moped_project_bool_exp!], _or: [moped_project_bool_exp!], _not: moped_project_bool_exp
  project_id: Int_comparison_exp
  project_name: String_comparison_exp
  ecapris_subproject_id: String_comparison_exp
  is_deleted: Boolean_comparison_exp
  should_sync_ecapris_statuses: Boolean_comparison_exp
}
enum moped_project_select_column {
  project_id project_name ecapris_subproject_id is_deleted should_sync_ecapris_statuses
}

type ecapris_subproject_statuses {
  id: Int!
  ecapris_subproject_id: String!
  subproject_name: String!
  subproject_status_id: Int!
  current_status_fl: Boolean!
  sub_project_status_desc: String
  review_timestamp: timestamptz!
  subproject_status_impacts: String
  summary_description: String
  reviewed_by_name: String!
  reviewed_by_email: String
  created_at: timestamptz!
  updated_at: timestamptz!
  created_by_user_id: Int
  updated_by_user_id: Int
}
input ecapris_subproject_statuses_bool_exp {
  _and: [ecapris_subproject_statuses_bool_exp!], _or: [ecapris_subproject_statuses_bool_exp!]
  _not: ecapris_subproject_statuses_bool_exp
  id: Int_comparison_exp
  ecapris_subproject_id: String_comparison_exp
  subproject_status_id: Int_comparison_exp
  current_status_fl: Boolean_comparison_exp
  review_timestamp: timestamptz_comparison_exp
  updated_at: timestamptz_comparison_exp
}
input ecapris_subproject_statuses_insert_input {
  id: Int
  ecapris_subproject_id: String
  subproject_name: String
  subproject_status_id: Int
  current_status_fl: Boolean
  sub_project_status_desc: String
  review_timestamp: timestamptz
  subproject_status_impacts: String
  summary_description: String
  reviewed_by_name: String
  reviewed_by_email: String
  created_by_user_id: Int
  updated_by_user_id: Int
}
enum ecapris_subproject_statuses_constraint {
  ecapris_subproject_statuses_pkey
  ecapris_subproject_statuses_subproject_status_id_key
}
enum ecapris_subproject_statuses_update_column {
  ecapris_subproject_id subproject_name subproject_status_id current_status_fl sub_project_status_desc
  review_timestamp subproject_status_impacts summary_description reviewed_by_name reviewed_by_email
  created_by_user_id updated_by_user_id
}
input ecapris_subproject_statuses_on_conflict {
  constraint: ecapris_subproject_statuses_constraint!
  update_columns: [ecapris_subproject_statuses_update_column!]! = []
}
type ecapris_subproject_statuses_mutation_response {
  affected_rows: Int!
  returning: [ecapris_subproject_statuses!]!
}

type query_root {
  moped_project(
    where: moped_project_bool_exp, distinct_on: [moped_project_select_column!], limit: Int
  ): [moped_project!]!
  ecapris_subproject_statuses(where: ecapris_subproject_statuses_bool_exp, limit: Int): [ecapris_subproject_statuses!]!
}
input ecapris_subproject_statuses_set_input {
  ecapris_subproject_id: String
  subproject_name: String
  current_status_fl: Boolean
  sub_project_status_desc: String
  review_timestamp: timestamptz
  subproject_status_impacts: String
  summary_description: String
  reviewed_by_name: String
  reviewed_by_email: String
}
input ecapris_subproject_statuses_updates {
  where: ecapris_subproject_statuses_bool_exp!
  _set: ecapris_subproject_statuses_set_input
}
type mutation_root {
  insert_ecapris_subproject_statuses(
    objects: [ecapris_subproject_statuses_insert_input!]!, on_conflict: ecapris_subproject_statuses_on_conflict
  ): ecapris_subproject_statuses_mutation_response
  update_ecapris_subproject_statuses_many(
    updates: [ecapris_subproject_statuses_updates!]!
  ): [ecapris_subproject_statuses_mutation_response]
}
schema { query: query_root, mutation: mutation_root }
"""

_OPERATORS = {"_eq": "=", "_neq": "<>", "_gt": ">", "_gte": ">=", "_lt": "<", "_lte": "<="}


def where_sql(expression: dict[str, Any] | None):
    """A Hasura boolean expression as psycopg SQL (columns as identifiers, values bound)."""
    from psycopg import sql

    if not expression:
        return sql.SQL("TRUE")
    parts = []
    for key, value in expression.items():
        if key in ("_and", "_or"):
            joined = sql.SQL(" AND " if key == "_and" else " OR ").join(where_sql(e) for e in value)
            parts.append(sql.SQL("({})").format(joined) if value else sql.SQL("TRUE" if key == "_and" else "FALSE"))
        elif key == "_not":
            parts.append(sql.SQL("NOT ({})").format(where_sql(value)))
        else:
            column = sql.Identifier(key)
            for operator, operand in value.items():
                if operator == "_is_null":
                    parts.append(sql.SQL("{} IS NULL" if operand else "{} IS NOT NULL").format(column))
                elif operator in ("_in", "_nin"):
                    template = "{} = ANY({})" if operator == "_in" else "NOT ({} = ANY({}))"
                    parts.append(sql.SQL(template).format(column, sql.Literal(list(operand))))
                else:
                    parts.append(
                        sql.SQL("{} {} {}").format(column, sql.SQL(_OPERATORS[operator]), sql.Literal(operand))
                    )
    return sql.SQL(" AND ").join(parts) if parts else sql.SQL("TRUE")


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """JSON values as Hasura answers them (timestamps in ISO 8601)."""
    return {k: v.isoformat() if isinstance(v, datetime | date) else v for k, v in row.items()}


def _select(conn, table: str, columns: tuple[str, ...], args: dict[str, Any]) -> list[dict[str, Any]]:
    from psycopg import sql
    from psycopg.rows import dict_row

    distinct = args.get("distinct_on") or []
    query = sql.SQL("SELECT {distinct}{columns} FROM {table} WHERE {where}{order}{limit}").format(
        distinct=sql.SQL("DISTINCT ON ({}) ").format(sql.SQL(", ").join(map(sql.Identifier, distinct)))
        if distinct
        else sql.SQL(""),
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        table=sql.Identifier(table),
        where=where_sql(args.get("where")),
        # Hasura orders by the distinct_on columns first, as DISTINCT ON requires.
        order=sql.SQL(" ORDER BY {}").format(sql.SQL(", ").join(map(sql.Identifier, distinct)))
        if distinct
        else sql.SQL(""),
        limit=sql.SQL(" LIMIT {}").format(sql.Literal(args["limit"])) if args.get("limit") is not None else sql.SQL(""),
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return [_plain(row) for row in cur.execute(query).fetchall()]


def _insert_statuses(conn, objects: list[dict[str, Any]], on_conflict: dict[str, Any] | None) -> dict[str, Any]:
    from psycopg import sql
    from psycopg.rows import dict_row

    if not objects:
        return {"affected_rows": 0, "returning": []}
    columns = sorted({key for obj in objects for key in obj})
    rows = sql.SQL(", ").join(
        sql.SQL("({})").format(
            sql.SQL(", ").join(sql.Literal(obj[c]) if c in obj else sql.SQL("DEFAULT") for c in columns)
        )
        for obj in objects
    )
    conflict = sql.SQL("")
    if on_conflict is not None:
        updates = on_conflict.get("update_columns") or []
        action = (
            sql.SQL("DO UPDATE SET {}").format(
                sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in updates)
            )
            if updates
            else sql.SQL("DO NOTHING")
        )
        conflict = sql.SQL(" ON CONFLICT ON CONSTRAINT {} {}").format(sql.Identifier(on_conflict["constraint"]), action)
    statement = sql.SQL("INSERT INTO ecapris_subproject_statuses ({}) VALUES {}{} RETURNING {}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        rows,
        conflict,
        sql.SQL(", ").join(map(sql.Identifier, STATUS_COLUMNS)),
    )
    with conn.cursor(row_factory=dict_row) as cur:
        returning = [_plain(row) for row in cur.execute(statement).fetchall()]
    return {"affected_rows": len(returning), "returning": returning}


def _update_statuses(conn, updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from psycopg import sql
    from psycopg.rows import dict_row

    responses = []
    for update in updates:
        values = update.get("_set") or {}
        if not values:
            responses.append({"affected_rows": 0, "returning": []})
            continue
        statement = sql.SQL("UPDATE ecapris_subproject_statuses SET {} WHERE {} RETURNING {}").format(
            sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(c), sql.Literal(v)) for c, v in values.items()),
            where_sql(update["where"]),
            sql.SQL(", ").join(map(sql.Identifier, STATUS_COLUMNS)),
        )
        with conn.cursor(row_factory=dict_row) as cur:
            returning = [_plain(row) for row in cur.execute(statement).fetchall()]
        responses.append({"affected_rows": len(returning), "returning": returning})
    return responses


def _written(info, rows: list[dict[str, Any]]) -> None:
    """Note the status ids a mutation wrote, for the request log."""
    info.context.setdefault("written", []).extend(row["subproject_status_id"] for row in rows)


def _insert_resolver(_, info, objects, on_conflict=None):
    result = _insert_statuses(info.context["conn"], objects, on_conflict)
    _written(info, result["returning"])
    return result


def _update_resolver(_, info, updates):
    responses = _update_statuses(info.context["conn"], updates)
    for response in responses:
        _written(info, response["returning"])
    return responses


def build_schema():
    from graphql import build_schema as build

    schema = build(SDL)
    query, mutation = schema.query_type.fields, schema.mutation_type.fields
    query["moped_project"].resolve = lambda _, info, **args: _select(
        info.context["conn"], "moped_project", PROJECT_COLUMNS, args
    )
    query["ecapris_subproject_statuses"].resolve = lambda _, info, **args: _select(
        info.context["conn"], "ecapris_subproject_statuses", STATUS_COLUMNS, args
    )
    mutation["insert_ecapris_subproject_statuses"].resolve = _insert_resolver
    mutation["update_ecapris_subproject_statuses_many"].resolve = _update_resolver
    return schema


def hasura_error(message: str, code: str, path: str = "$") -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"path": path, "code": code}}]}


def _error_code(error) -> str:
    import psycopg

    original = error.original_error
    if original is None:
        return "validation-failed"
    if isinstance(original, psycopg.errors.IntegrityError):
        return "constraint-violation"
    if isinstance(original, psycopg.DataError):
        return "data-exception"
    return "unexpected"


def execute(schema, dsn: str, body: dict[str, Any], record: dict[str, Any] | None = None) -> dict[str, Any]:
    """One GraphQL request as one transaction: committed only when it answers without errors.

    ``record`` (the request log's entry) gets the root fields, the status ids written and
    whether the transaction was committed.
    """
    import psycopg
    from graphql import graphql_sync

    record = {} if record is None else record
    query = body.get("query")
    if not isinstance(query, str):
        return hasura_error("the key 'query' was not present", "parse-failed")
    record["root_fields"] = _root_fields(query)
    context: dict[str, Any] = {}
    with psycopg.connect(dsn) as conn:
        context["conn"] = conn
        result = graphql_sync(
            schema,
            query,
            variable_values=body.get("variables") or {},
            operation_name=body.get("operationName"),
            context_value=context,
        )
        if result.errors:
            conn.rollback()
            first = result.errors[0]
            path = "$.selectionSet." + ".".join(str(p) for p in first.path) if first.path else "$"
            message = str(first.original_error) if first.original_error else first.message
            return hasura_error(message.strip(), _error_code(first), path)
        conn.commit()
    record["committed"] = True
    record["written_status_ids"] = context.get("written", [])
    return {"data": result.data}


def _is_mutation(query: str | None) -> bool:
    from graphql import GraphQLError, OperationType, parse

    if not isinstance(query, str):
        return False
    try:
        document = parse(query)
    except GraphQLError:
        return False
    return any(getattr(d, "operation", None) == OperationType.MUTATION for d in document.definitions)


def _root_fields(query: str) -> list[str]:
    from graphql import GraphQLError, parse

    try:
        document = parse(query)
    except GraphQLError:
        return []
    return [
        selection.name.value
        for definition in document.definitions
        for selection in getattr(getattr(definition, "selection_set", None), "selections", [])
        if hasattr(selection, "name")
    ]


DATABASE_QUERY_ERROR = hasura_error("database query error", "unexpected")


class Handler(BaseHTTPRequestHandler):
    schema = None
    dsn: str = ""
    admin_secret: str = ""
    state_dir: Path | None = None
    fault_lock = threading.Lock()

    def _take_fault(self, name: str) -> bool:
        """True (and one fewer left) while the fault file ``name`` counts down."""
        if self.state_dir is None:
            return False
        fault_file = self.state_dir / name
        with self.fault_lock:
            try:
                left = int(fault_file.read_text().strip() or 0)
            except (FileNotFoundError, ValueError):
                return False
            if left <= 0:
                return False
            fault_file.write_text(str(left - 1))
            return True

    def _take_mutation_fault(self) -> bool:
        """``mutation_errors``: ``K`` or ``K after S`` (S mutations pass first, then K fail)."""
        if self.state_dir is None:
            return False
        fault_file = self.state_dir / "mutation_errors"
        with self.fault_lock:
            try:
                words = fault_file.read_text().split()
                left, passing = int(words[0]), int(words[2]) if len(words) == 3 else 0
            except (FileNotFoundError, ValueError, IndexError):
                return False
            if left <= 0:
                return False
            if passing > 0:
                fault_file.write_text(f"{left} after {passing - 1}")
                return False
            fault_file.write_text(str(left - 1))
            return True

    def _log_request(self, record: dict[str, Any]) -> None:
        if self.state_dir is None:
            return
        with self.fault_lock, open(self.state_dir / "requests.log", "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")

    def _answer(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload, default=_json_default).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path in ("/", "/healthz"):
            self._answer(200, b"OK", "text/plain")
        else:
            self._answer(404, hasura_error("resource does not exist", "not-found"))

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        # Logged before answering: once a client has its answer, the log has the request.
        record: dict[str, Any] = {"path": self.path, "committed": False, "written_status_ids": []}
        status, payload = self._post(record)
        query = record.pop("query", None)
        record["http_status"] = status
        if record["committed"] and _is_mutation(query) and self._take_fault("answers_lost"):
            record["http_status"] = None  # committed, and the client never hears of it
            self._log_request(record)
            self.close_connection = True
            return
        self._log_request(record)
        if isinstance(payload, bytes):
            self._answer(status, payload, "text/plain")
        else:
            self._answer(status, payload)

    def _post(self, record: dict[str, Any]) -> tuple[int, Any]:
        if self.path != GRAPHQL_PATH:
            return 404, hasura_error("resource does not exist", "not-found")
        if self._take_fault("unavailable"):
            return 503, b"Service Unavailable"
        given = self.headers.get("X-Hasura-Admin-Secret") or ""
        if not hmac.compare_digest(given.encode(), self.admin_secret.encode()):
            return 200, hasura_error("invalid x-hasura-admin-secret/x-hasura-access-key", "access-denied")
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        except json.JSONDecodeError as err:
            return 400, hasura_error(f"Error in $: {err}", "invalid-json")
        query = body.get("query") if isinstance(body, dict) else None
        record["query"] = query
        record["root_fields"] = _root_fields(query) if isinstance(query, str) else []
        if self._take_fault("graphql_errors") or (_is_mutation(query) and self._take_mutation_fault()):
            return 200, DATABASE_QUERY_ERROR
        import psycopg

        try:
            return 200, execute(self.schema, self.dsn, body, record)
        except psycopg.OperationalError:  # Moped's database restarting or unreachable
            return 200, DATABASE_QUERY_ERROR

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        # Request lines only; headers (and so the admin secret) are never logged.
        super().log_message(format, *args)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def apply_schema(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA_SQL.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description="Hasura stand-in for Moped")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True, help="Moped's Postgres database")
    parser.add_argument("--admin-secret-file", type=Path, required=True)
    args = parser.parse_args()
    apply_schema(args.dsn)
    Handler.schema = build_schema()
    Handler.dsn = args.dsn
    Handler.admin_secret = args.admin_secret_file.read_text().strip()
    Handler.state_dir = args.admin_secret_file.parent
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"hasura stand-in on 127.0.0.1:{args.port}{GRAPHQL_PATH}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
