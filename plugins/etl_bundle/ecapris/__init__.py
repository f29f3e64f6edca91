"""eCapris subproject statuses from the Oracle warehouse to Moped through Hasura."""
