-- Every manifest entry to refresh, with what the original's SQL mode lost: report type,
-- report name and agency id. Canned manifests have no enabled column in the Django
-- models: a canned manifest row is an enabled one. Selection happens in
-- etl_bundle.reporting.manifest.
SELECT m.id AS manifest_id, m.table_name, m.report_name, 'custom' AS report_type,
       m.agency_id, m.agency_slug, m.query
FROM reporting.seeder_custom_report_manifest AS m
WHERE m.enabled
UNION ALL
SELECT cm.id AS manifest_id, cr.table_name, cr.report_name, 'canned' AS report_type,
       cm.agency_id, cm.agency_slug, cr.query
FROM reporting.seeder_canned_report AS cr
JOIN reporting.seeder_canned_report_manifest AS cm ON cm.canned_report_id = cr.id
ORDER BY table_name, report_type DESC, agency_slug NULLS FIRST, manifest_id
