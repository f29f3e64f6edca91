-- Every delivery to DPS: an answer without a period in its name belongs to the last one before it.
SELECT period, file_name, sent_at FROM dfps.dps_exchanges
WHERE direction = 'to_dps'
ORDER BY sent_at
