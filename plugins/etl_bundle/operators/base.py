"""The base of every bundle operator whose SQL lives in ``include/sql``.

Airflow renders the ``.sql`` files named in an operator's templated fields (the
DAG's ``template_searchpath`` is ``include/sql`` and its ``ident`` filter quotes
identifiers), so the UI's Rendered Template view and ``airflow tasks render`` show
every statement a task runs. Templates branch on ``dialect``: this base puts the
dialect of the operator's connection into the rendering context.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from airflow.sdk import BaseOperator


class BundleOperator(BaseOperator):
    """A bundle operator: its class docstring is its task's doc in the UI unless the DAG gives one."""

    # A property, not an ``__init__``: every ``__init__`` in an operator's class chain makes
    # Airflow deep-copy the DAG's Params once more while the file is parsed.
    @property
    def doc_md(self) -> str | None:
        return self.__dict__.get("_given_doc_md") or self.task_doc()

    @doc_md.setter
    def doc_md(self, value: str | None) -> None:
        self.__dict__["_given_doc_md"] = value

    @classmethod
    def task_doc(cls) -> str | None:
        """The class docstring as a task doc; pass it as ``doc_md`` to ``.partial()`` (a mapped
        operator is built without ``__init__`` until it runs, so the UI would show no doc)."""
        return inspect.cleandoc(cls.__doc__) if cls.__doc__ else None


class SqlTemplatedOperator(BundleOperator):
    """An operator whose templated ``.sql`` fields render in its connection's dialect.

    ``dialect_conn_attr`` names the attribute holding the connection id whose type
    (``oracle`` or ``postgres``) picks the dialect; values still go as bind parameters.
    """

    template_ext: ClassVar[tuple[str, ...]] = (".sql",)
    template_fields_renderers: ClassVar[dict[str, str]] = {"sql": "sql"}
    dialect_conn_attr: ClassVar[str] = "conn_id"

    def sql_dialect(self) -> str:
        from airflow.sdk import BaseHook

        from etl_bundle.common.sql import dialect_for_conn_type

        conn_id = getattr(self, self.dialect_conn_attr)
        return dialect_for_conn_type(BaseHook.get_connection(conn_id).conn_type)

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        context["dialect"] = self.sql_dialect()
        super().render_template_fields(context, jinja_env)
