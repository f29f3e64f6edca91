INSERT INTO staging.ecapris_status_rejects
    (run_id, subproject_status_id, ecapris_subproject_id, field, reason, source_row)
VALUES
    (%(run_id)s, %(subproject_status_id)s, %(ecapris_subproject_id)s, %(field)s, %(reason)s, %(source_row)s)
