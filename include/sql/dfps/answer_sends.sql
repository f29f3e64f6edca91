-- Every completed delivery to DPS (a pending row is an attempt, not a send): an answer
-- without a period in its name belongs to the last one before it.
SELECT period, file_name, sent_at FROM dfps.dps_exchanges
WHERE direction = 'to_dps' AND state = 'sent'
ORDER BY sent_at
