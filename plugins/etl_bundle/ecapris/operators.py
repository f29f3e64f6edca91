"""The operators of ``ecapris_statuses_sync``: the plan (Oracle read, quarantine, comparison) and the upsert.

Cheap to import: the logic lives in ``etl_bundle.ecapris.sync``, imported in ``execute``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from etl_bundle.operators.base import BundleOperator, SqlTemplatedOperator


def as_int(value: int | str) -> int:
    """A templated integer field (``"{{ params.batch_size }}"`` renders as text)."""
    return int(value)


def as_bool(value: bool | str) -> bool:
    """A templated boolean field: ``"{{ params.dry_run }}"`` renders as ``"True"`` or ``"False"``."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", "none", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


class EcaprisStatusPlanOperator(SqlTemplatedOperator):
    """Plan the sync: read the statuses from Oracle, quarantine bad rows, compare with Moped.

    Reads `ATD_SUB_PROJECT_STATUS_VW` (`statuses_sql`, rendered in the Oracle connection's
    dialect, `batch_size` ids bound per query), quarantines rows that cannot be sent in
    `staging.ecapris_status_rejects` (`insert_reject_sql`, `purge_rejects_sql`), reads Moped's
    copy and returns the new and changed statuses (XCom only: it holds reviewers' names).
    A dry run quarantines nothing. Times out after 10 minutes (a hung Oracle or Hasura read).
    """

    template_fields: Sequence[str] = (
        "subprojects",
        "statuses_sql",
        "insert_reject_sql",
        "purge_rejects_sql",
        "batch_size",
        "dry_run",
        "retention_days",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "statuses_sql": "sql",
        "insert_reject_sql": "sql",
        "purge_rejects_sql": "sql",
    }
    dialect_conn_attr: ClassVar[str] = "oracle_conn_id"
    # The quarantine statements run on the warehouse, not on the Oracle source.
    sql_field_conn_attrs: ClassVar[dict[str, str]] = {
        "insert_reject_sql": "warehouse_conn_id",
        "purge_rejects_sql": "warehouse_conn_id",
    }
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        subprojects: Any,
        oracle_conn_id: str,
        hasura_conn_id: str,
        warehouse_conn_id: str,
        statuses_sql: str = "ecapris/subproject_statuses.sql",
        insert_reject_sql: str = "ecapris/insert_reject.sql",
        purge_rejects_sql: str = "ecapris/purge_rejects.sql",
        batch_size: int | str = "{{ params.batch_size }}",
        dry_run: bool | str = "{{ params.dry_run }}",
        retention_days: int | str = "{{ params.quarantine_retention_days }}",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.subprojects = subprojects
        self.oracle_conn_id = oracle_conn_id
        self.hasura_conn_id = hasura_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.statuses_sql = statuses_sql
        self.insert_reject_sql = insert_reject_sql
        self.purge_rejects_sql = purge_rejects_sql
        self.batch_size = batch_size
        self.dry_run = dry_run
        self.retention_days = retention_days

    def execute(self, context: Any) -> dict[str, Any]:
        from etl_bundle.ecapris.sync import plan_sync

        return plan_sync(
            self.subprojects,
            oracle_conn_id=self.oracle_conn_id,
            hasura_conn_id=self.hasura_conn_id,
            warehouse_conn_id=self.warehouse_conn_id,
            batch_size=as_int(self.batch_size),
            run_id=context["run_id"],
            dry_run=as_bool(self.dry_run),
            retention_days=as_int(self.retention_days),
            sql={
                "statuses": self.statuses_sql,
                "insert_reject": self.insert_reject_sql,
                "purge_rejects": self.purge_rejects_sql,
            },
        )


class MopedStatusUpsertOperator(BundleOperator):
    """Upsert the planned statuses into Moped through Hasura's GraphQL API, in batches.

    Sends only what Moped does not hold yet (a retry reads Moped back first), through
    `insert_ecapris_subproject_statuses(on_conflict: subproject_status_id_key)`; every
    object must come back in `returning`. The plan is pulled from `plan_task_id`'s XCom
    (not a templated field: it holds reviewers' names). A dry run skips. The counts go on
    the outlet Assets' events. Times out after 10 minutes (a hung Hasura request).
    """

    template_fields: Sequence[str] = ("batch_size", "dry_run")
    ui_color = "#e6f4ea"

    def __init__(
        self,
        *,
        hasura_conn_id: str,
        plan_task_id: str,
        batch_size: int | str = "{{ params.batch_size }}",
        dry_run: bool | str = "{{ params.dry_run }}",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.hasura_conn_id = hasura_conn_id
        self.plan_task_id = plan_task_id
        self.batch_size = batch_size
        self.dry_run = dry_run

    def execute(self, context: Any) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowSkipException

        from etl_bundle.ecapris.sync import send_changes

        planned = context["ti"].xcom_pull(task_ids=self.plan_task_id)
        if as_bool(self.dry_run):
            raise AirflowSkipException(f"dry run: nothing sent; planned {planned['summary']}")
        summary = send_changes(planned, hasura_conn_id=self.hasura_conn_id, batch_size=as_int(self.batch_size))
        counts = {key: summary[key] for key in ("inserted", "updated", "names_repaired", "unchanged", "rejected")}
        for outlet in self.outlets:
            context["outlet_events"][outlet].extra = counts
        return summary
