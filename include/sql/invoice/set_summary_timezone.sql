-- The time zone analytics.demands_summary's months are counted in, for this transaction only.
SELECT set_config('invoice.summary_timezone', %(timezone)s, true)
