"""What every DAG of the bundle shares: owner, allowed tags, retries, the failure alert.

Kept to plain values and one notifier object so a DAG file can use it at parse
time without any I/O or provider import.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import BaseNotifier

from etl_bundle.common.paths import SQL_DIR
from etl_bundle.common.sql import quote_identifier

OWNER = "data-engineering"
OWNER_LINKS = {OWNER: "mailto:data-engineering@example.org"}
TIMEZONE = "America/Chicago"
# Every DAG passes both to ``DAG(...)``: Airflow then renders the ``.sql`` files its
# operators name, and identifiers enter SQL text only through ``ident`` (checked, quoted).
TEMPLATE_SEARCHPATH = [str(SQL_DIR)]
SQL_FILTERS = {"ident": quote_identifier}

# One short list that the DAG-policy test enforces; add a tag here first.
ALLOWED_TAGS = frozenset(
    {
        "ops",
        "oracle",
        "dynamodb",
        "sftp",
        "http",
        "postgres",
        "hasura",
        "moped",
        "invoice",
        "dfps",
        "tec",
        "reporting",
    }
)

ALERT_EMAIL_VARIABLE = "alert_email"
DEFAULT_ALERT_EMAIL = "data-engineering-alerts@example.org"
ALERT_FROM_EMAIL = "airflow-etl-bundle@example.org"
SMTP_CONN_ID = "smtp_default"


def default_args(**overrides: Any) -> dict[str, Any]:
    """Task defaults for a bundle DAG. No task alert: the DAG's ``run_failure_alert()`` sends one per run."""
    args: dict[str, Any] = {
        "owner": OWNER,
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=20),
    }
    args.update(overrides)
    return args


def run_failure_alert() -> RunFailureAlert:
    """The DAG's ``on_failure_callback``: one email per failed run (not one per failed task instance)."""
    return RunFailureAlert()


class RunFailureAlert(BaseNotifier):
    """One email when a run fails, naming its failed tasks and linking to the run in the UI.

    It runs where Airflow runs DAG callbacks: in the dag-processor on a deployment (through its
    supervisor: Variables, task states), in the ``airflow dags test`` process otherwise, where the
    DAG is the serialized one and nothing can be rendered with Jinja, so nothing here is a template.
    """

    def render_template_fields(self, context, jinja_env=None) -> None:
        # Nothing is templated; the serialized DAG of `dags test` has no Jinja environment to ask.
        return None

    def notify(self, context) -> None:
        from urllib.parse import quote

        from airflow.providers.smtp.notifications.smtp import SmtpNotifier
        from airflow.sdk import Variable, conf

        dag_id = context["dag"].dag_id
        run_id = context["run_id"]
        failed = failed_tasks(context["dag"], run_id)
        base_url = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
        link = f"{base_url}/dags/{quote(dag_id)}/runs/{quote(run_id, safe='')}" if base_url else ""
        names = ", ".join(failed) or "no task failed (the run timed out or was marked failed)"
        items = "".join(f"<li><code>{name}</code></li>" for name in failed)
        SmtpNotifier(
            to=Variable.get(ALERT_EMAIL_VARIABLE, default=DEFAULT_ALERT_EMAIL),
            from_email=ALERT_FROM_EMAIL,
            smtp_conn_id=SMTP_CONN_ID,
            subject=f"[airflow] {dag_id} failed: {names} ({run_id})",
            html_content=(
                f"<p>Run <code>{run_id}</code> of DAG <b>{dag_id}</b> failed"
                f" ({context.get('reason') or 'failed'}).</p><p>Failed tasks:</p><ul>{items}</ul>"
                + (f'<p><a href="{link}">Open the run in the Airflow UI</a> for the logs.</p>' if link else "")
            ),
        ).notify(context)


def failed_tasks(dag, run_id: str) -> list[str]:
    """``task_id`` of each failed task of the run, ``task_id[i, j]`` for mapped instances, sorted."""
    from airflow.sdk.execution_time import task_runner

    if getattr(task_runner, "SUPERVISOR_COMMS", None) is not None:
        # The dag-processor: task states come through its supervisor (the Execution API).
        states = task_runner.RuntimeTaskInstance.get_task_states(dag.dag_id, run_ids=[run_id]).get(run_id, {})
        failed = [_split_map_key(key, dag.task_dict) for key, state in states.items() if state == "failed"]
    else:
        # `airflow dags test` runs the callback in its own process, which holds the metadata DB.
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            failed = list(
                session.execute(
                    select(TaskInstance.task_id, TaskInstance.map_index).where(
                        TaskInstance.dag_id == dag.dag_id,
                        TaskInstance.run_id == run_id,
                        TaskInstance.state == "failed",
                    )
                ).all()
            )
    by_task: dict[str, list[int]] = {}
    for task_id, map_index in failed:
        by_task.setdefault(task_id, []).append(map_index)
    return [
        task_id if indexes == [-1] else f"{task_id}[{', '.join(str(i) for i in sorted(indexes))}]"
        for task_id, indexes in sorted(by_task.items())
    ]


def _split_map_key(key: str, task_ids) -> tuple[str, int]:
    """The Execution API names a mapped instance ``<task_id>_<map_index>``."""
    if key in task_ids:
        return key, -1
    task_id, _, index = key.rpartition("_")
    return (task_id, int(index)) if task_id in task_ids and index.isdigit() else (key, -1)
