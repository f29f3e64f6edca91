"""ecapris_statuses_sync and reporting_seeder have nothing to backfill: Airflow refuses a backfill of them."""

from __future__ import annotations

import pendulum
import pytest

pytestmark = pytest.mark.integration


def test_a_backfill_is_refused_with_a_clear_message(bundle_dags):
    # The check the REST API and `airflow backfill create` run (the CLI costs minutes here).
    from airflow.models.backfill import DagRunTypeNotAllowed, _create_backfill

    # dag.test() writes the bundle's DAGs to the metadata database, as the dag-processor does.
    probe = bundle_dags["bundle_connections_check"].partial_subset(["check_smtp_default"], include_upstream=False)
    assert probe.test().state == "success"
    for dag_id in ("ecapris_statuses_sync", "reporting_seeder"):
        with pytest.raises(DagRunTypeNotAllowed, match=f"Dag with dag_id: '{dag_id}' does not allow backfill runs"):
            _create_backfill(
                dag_id=dag_id,
                from_date=pendulum.datetime(2026, 3, 1),
                to_date=pendulum.datetime(2026, 3, 2),
                max_active_runs=1,
                reverse=False,
                dag_run_conf=None,
                triggering_user_name="test",
            )
