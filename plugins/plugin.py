"""The bundle's Airflow plugin: registration only.

Timetables must be registered here to be serializable; their code lives in the
``etl_bundle`` package, which ``.airflowignore`` keeps away from the plugin loader.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class EtlBundlePlugin(AirflowPlugin):
    name = "etl_bundle"
    timetables: list = []
