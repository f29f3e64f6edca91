"""The bundle's Airflow plugin: registration only.

Timetables must be registered here to be serializable; their code lives in the
``etl_bundle`` package, which ``.airflowignore`` keeps away from the plugin loader.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from etl_bundle.common.fiscal_timetable import FiscalQuarterTimetable


class EtlBundlePlugin(AirflowPlugin):
    name = "etl_bundle"
    timetables = [FiscalQuarterTimetable]
