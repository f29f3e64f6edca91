"""The bundle's library: transforms, tasks and shared mechanisms of the pipelines.

Importable as ``etl_bundle`` because Airflow puts the plugins folder on ``sys.path``
in every process. Modules here import heavy libraries (pandas, boto3, provider
hooks) only inside functions, so DAG files stay cheap to parse.
"""
