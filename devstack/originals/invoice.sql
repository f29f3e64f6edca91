-- The invoice transactions collector's warehouse as the original's DDL left it, written from
-- shared/reference/original-contracts.md §1 and source-systems.md §2 (not its code), with a
-- few representative rows. What the reference does not give is marked "(not in the reference)".

-- Its schemas were AUTHORIZATION postgres, its admin user: here the loading user.
CREATE SCHEMA IF NOT EXISTS raw AUTHORIZATION CURRENT_USER;
CREATE SCHEMA IF NOT EXISTS curated AUTHORIZATION CURRENT_USER;
CREATE SCHEMA IF NOT EXISTS analytics AUTHORIZATION CURRENT_USER;

CREATE TABLE IF NOT EXISTS raw.cases (
    "documentId" text, "customerId" text, "version" integer, "matterTechId" text, "matterName" text,
    "claimCoverage" text, "claimNumber" text, "lossState" text, "sendingFirm" text, "recipientCarrier" text,
    "assignedAttorney" text, "assignedCaseCollaborator" text[], "assignedCaseManager" text, "clientId" text,
    "clientName" text, "matterId" text, "relatedInsuranceId" text
);
CREATE TABLE IF NOT EXISTS raw.metadata (
    "documentType" TEXT NOT NULL, "documentId" TEXT NOT NULL, "receiptAckTimeStamp" BIGINT,
    "demandIsDeliverable" BOOLEAN, "demandTemplateId" TEXT, "demandTemplatePinnedVersion" TEXT,
    "demandUploadedTimeStamp" BIGINT, "demandArchivedTimeStamp" BIGINT
);
CREATE TABLE IF NOT EXISTS raw.templates (
    "templateId" TEXT NOT NULL, "templateName" TEXT NOT NULL, "version" INT NOT NULL, "defaultDemandConfig" JSONB
);
CREATE TABLE IF NOT EXISTS raw.audit (
    "auditRecordId" TEXT NOT NULL, "documentId" TEXT NOT NULL, "createdTs" BIGINT, "actionType" TEXT,
    "lastArchiveReason" TEXT, "lastArchiveComment" TEXT
);
-- Loaded by the Verify+ pipeline: 46 columns with "requestId" INT as primary key. Only
-- "requestId" is known; the other six stand for the rest (not in the reference).
CREATE TABLE IF NOT EXISTS raw.verifyplus (
    "requestId" INT PRIMARY KEY, "requestDate" TIMESTAMPTZ, "requestStatus" TEXT, "customerId" TEXT,
    "claimNumber" TEXT, "carrierName" TEXT, "requestedBy" TEXT
);

-- Representative rows (2025, epoch seconds). DOC-A1 has two versions and two audits tied on
-- the latest "createdTs"; DOC-A2's template is "Non-Client …"; DOC-A3's template id has no
-- template; DOC-A5's only audit has no "createdTs"; DOC-A7 has no metadata.
INSERT INTO raw.templates VALUES
    ('TPL-STD', 'Standard demand', 1, '{"dueDays": 30}'),
    ('TPL-STD', 'Standard demand (revised)', 2, '{"dueDays": 21}'),
    ('TPL-NC', 'Non-Client demand', 1, NULL),
    ('TPL-REN', 'Client letter', 1, NULL),
    ('TPL-REN', 'Carrier letter', 2, NULL);
INSERT INTO raw.cases VALUES
    ('DOC-A1', 'CUST-1', 1, 'MT-1', 'Lee v. Carrier', 'Bodily Injury', 'CLM-1', 'TX', 'Hale & Dorr LLP', 'Travelers',
     'Sam Counsel', '{"Ann Lee","Bo Chan"}', 'Pat Contact', 'CL-1', 'Chris Lee', 'M-1', 'INS-1'),
    ('DOC-A1', 'CUST-1', 2, 'MT-1', 'Lee v. Carrier', 'Bodily Injury', 'CLM-1', 'TX', 'Hale & Dorr LLP', 'Travelers',
     'Sam Counsel', '{"Ann Lee","Bo Chan"}', 'Pat Contact', 'CL-1', 'Chris Lee', 'M-1', 'INS-1'),
    ('DOC-A2', 'CUST-2', 1, 'MT-2', 'Ng v. Carrier', 'Property', 'CLM-2', 'OK', 'Baker Street Legal', 'GEICO',
     'Sam Counsel', '{}', 'Pat Contact', 'CL-2', 'Kim Ng', 'M-2', 'INS-2'),
    ('DOC-A3', 'CUST-3', 1, 'MT-3', 'Diaz v. Carrier', 'Bodily Injury', 'CLM-3', 'TX', 'Baker Street Legal',
     'State Farm', 'Sam Counsel', '{"Ann Lee"}', 'Pat Contact', 'CL-3', 'Ana Diaz', 'M-3', 'INS-3'),
    ('DOC-A4', 'CUST-4', 1, 'MT-4', 'Roe v. Carrier', 'Bodily Injury', 'CLM-4', 'NM', 'Austin Injury Group',
     'Progressive', 'Sam Counsel', '{}', 'Pat Contact', 'CL-4', 'Jo Roe', 'M-4', 'INS-4'),
    ('DOC-A5', 'CUST-5', 1, 'MT-5', 'Poe v. Carrier', 'Property', 'CLM-5', 'LA', 'Austin Injury Group', 'GEICO',
     'Sam Counsel', '{}', 'Pat Contact', 'CL-5', 'Al Poe', 'M-5', 'INS-5'),
    ('DOC-A6', 'CUST-6', 1, 'MT-6', 'Fox v. Carrier', 'Bodily Injury', 'CLM-6', 'TX', 'Lone Star Counsel',
     'Travelers', 'Sam Counsel', '{"Bo Chan"}', 'Pat Contact', 'CL-6', 'Vi Fox', 'M-6', 'INS-6'),
    ('DOC-A7', 'CUST-7', 1, 'MT-7', 'Orphan v. Carrier', 'Property', 'CLM-7', 'TX', 'Lone Star Counsel',
     'Travelers', 'Sam Counsel', '{}', 'Pat Contact', 'CL-7', 'No Meta', 'M-7', 'INS-7');
INSERT INTO raw.metadata VALUES
    ('Demand', 'DOC-A1', 1736000060, true, 'TPL-STD', NULL, 1736000000, 1738000000),
    ('Demand', 'DOC-A2', 1736100060, true, 'TPL-NC', NULL, 1736100000, 1738100000),
    ('Demand', 'DOC-A3', 1736200060, true, 'TPL-GONE', NULL, 1736200000, NULL),
    ('Demand', 'DOC-A4', 1739000060, false, NULL, NULL, 1739000000, NULL),
    ('Demand', 'DOC-A5', 1739100060, true, '', NULL, 1739100000, 1740900000),
    ('Demand', 'DOC-A6', 1740000060, true, 'TPL-REN', NULL, 1740000000, NULL);
INSERT INTO raw.audit VALUES
    ('AUD-1', 'DOC-A1', 1737000000, 'DemandArchived', NULL, NULL),
    ('AUD-2', 'DOC-A1', 1738000000, 'DemandArchived', NULL, NULL),
    ('AUD-3', 'DOC-A1', 1738000000, 'DemandArchived', NULL, NULL),
    ('AUD-4', 'DOC-A5', NULL, 'DemandArchived', NULL, NULL);
INSERT INTO raw.verifyplus VALUES
    (101, '2025-02-01 10:00+00', 'Verified', 'CUST-1', 'CLM-1', 'Travelers', 'Pat Contact'),
    (102, '2025-02-03 11:30+00', 'Pending', 'CUST-4', 'CLM-4', 'Progressive', 'Pat Contact'),
    (103, '2025-02-07 09:15+00', 'Rejected', 'CUST-6', 'CLM-6', 'Travelers', 'Pat Contact');

-- 07: archived per the metadata status history; the latest audit by "createdTs" = max, so a
-- tie repeats the document (DOC-A1 twice).
CREATE MATERIALIZED VIEW IF NOT EXISTS curated.demands_archived AS
WITH latest_templates AS (
    SELECT "templateId", "templateName",
           CASE WHEN LOWER("templateName") LIKE '%client%' THEN 'YES' ELSE 'NO' END AS "isClientTemplate",
           ROW_NUMBER() OVER (PARTITION BY "templateId" ORDER BY "version" DESC) AS rn
    FROM raw.templates
    WHERE "templateId" IS NOT NULL AND "templateId" <> ''
),
latest_cases AS (
    SELECT c.*, m."demandUploadedTimeStamp", m."demandArchivedTimeStamp", m."demandIsDeliverable",
           m."demandTemplateId",
           ROW_NUMBER() OVER (PARTITION BY c."documentId" ORDER BY c."version" DESC) AS rn
    FROM raw.cases c
    INNER JOIN raw.metadata m ON c."documentId" = m."documentId"
    WHERE m."demandArchivedTimeStamp" IS NOT NULL
),
latest_audit AS (
    SELECT a."documentId", a."lastArchiveReason", a."lastArchiveComment"
    FROM raw.audit a
    WHERE a."createdTs" = (SELECT MAX(a2."createdTs") FROM raw.audit a2 WHERE a2."documentId" = a."documentId")
)
SELECT to_timestamp(lc."demandArchivedTimeStamp") AS "demandArchivedDate",
       lc."documentId" AS "precedentDocumentId",
       lc."sendingFirm", lc."matterName", lc."clientName", lc."recipientCarrier", lc."claimNumber",
       lc."claimCoverage", lc."lossState", lc."assignedAttorney", lc."assignedCaseManager",
       COALESCE(la."lastArchiveReason", '') AS "lastArchiveReason",
       COALESCE(la."lastArchiveComment", '') AS "lastArchiveComment"
FROM latest_cases lc
LEFT JOIN latest_audit la ON lc."documentId" = la."documentId"
LEFT JOIN latest_templates t ON lc."demandTemplateId" = t."templateId" AND t.rn = 1
WHERE lc.rn = 1
  AND (lc."demandTemplateId" IS NULL OR lc."demandTemplateId" = ''
       OR (t."templateId" IS NOT NULL AND t."isClientTemplate" = 'NO'));

-- 08
CREATE MATERIALIZED VIEW IF NOT EXISTS curated.demands_uploaded AS
WITH latest_templates AS (
    SELECT "templateId", "templateName",
           CASE WHEN LOWER("templateName") LIKE '%client%' THEN 'YES' ELSE 'NO' END AS "isClientTemplate",
           ROW_NUMBER() OVER (PARTITION BY "templateId" ORDER BY "version" DESC) AS rn
    FROM raw.templates
    WHERE "templateId" IS NOT NULL AND "templateId" <> ''
),
latest_cases AS (
    SELECT c.*, m."demandUploadedTimeStamp", m."demandArchivedTimeStamp", m."demandTemplateId",
           ROW_NUMBER() OVER (PARTITION BY c."documentId" ORDER BY c."version" DESC) AS rn
    FROM raw.cases c
    LEFT JOIN raw.metadata m ON c."documentId" = m."documentId"
    WHERE m."demandUploadedTimeStamp" IS NOT NULL
)
SELECT lc."sendingFirm", lc."documentId" AS "precedentDocumentId",
       to_timestamp(lc."demandUploadedTimeStamp") AS "demandUploadedDate",
       to_timestamp(lc."demandArchivedTimeStamp") AS "demandArchivedDate",
       lc."matterName", lc."clientName", lc."recipientCarrier", lc."claimNumber", lc."claimCoverage",
       lc."lossState", lc."assignedCaseManager", lc."clientId" AS "matterClientId", lc."assignedAttorney",
       lc."assignedCaseCollaborator"
FROM latest_cases lc
LEFT JOIN latest_templates t ON lc."demandTemplateId" = t."templateId" AND t.rn = 1
WHERE lc.rn = 1
  AND (lc."demandTemplateId" IS NULL OR lc."demandTemplateId" = ''
       OR (t."templateId" IS NOT NULL AND t."isClientTemplate" = 'NO'));

-- 09
CREATE MATERIALIZED VIEW IF NOT EXISTS curated.verifyplus AS SELECT * FROM raw.verifyplus;

-- 10: months in the session's time zone (UTC on RDS)
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.demands_summary AS
WITH uploaded AS (
    SELECT to_char("demandUploadedDate", 'YYYY-MM') AS month, "sendingFirm", COUNT(*) AS uploaded
    FROM curated.demands_uploaded GROUP BY 1, 2
),
archived AS (
    SELECT to_char("demandArchivedDate", 'YYYY-MM') AS month, "sendingFirm", COUNT(*) AS archived
    FROM curated.demands_archived GROUP BY 1, 2
)
SELECT COALESCE(u.month, a.month) AS month,
       COALESCE(u."sendingFirm", a."sendingFirm") AS "sendingFirm",
       COALESCE(u.uploaded, 0) AS uploaded,
       COALESCE(a.archived, 0) AS archived
FROM uploaded u
FULL OUTER JOIN archived a ON u.month = a.month AND u."sendingFirm" = a."sendingFirm";

-- The per-view scripts' unique indexes (combined.sql has none). 07's demands_archived_idx
-- cannot be built on these rows, DOC-A1's tie repeats (document, date): left out, as it
-- would have failed there. demands_uploaded_firm stands for an index a DBA added by hand
-- (not in the reference).
CREATE UNIQUE INDEX IF NOT EXISTS demands_uploaded_idx
    ON curated.demands_uploaded ("precedentDocumentId", "demandUploadedDate");
CREATE UNIQUE INDEX IF NOT EXISTS demands_summary_idx ON analytics.demands_summary (month, "sendingFirm");
CREATE INDEX IF NOT EXISTS demands_uploaded_firm ON curated.demands_uploaded ("sendingFirm");

-- 11: roles, created only if absent (roles are cluster-wide)
DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['raw_read_only', 'curated_read_only', 'analytics_read_only',
                                     'curated_and_analytics_read_only', 'raw_curated_analytics_read_only',
                                     'bi_dashboard']
    LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
        END IF;
    END LOOP;
END
$$;
GRANT curated_read_only, analytics_read_only TO curated_and_analytics_read_only;
GRANT raw_read_only, curated_read_only, analytics_read_only TO raw_curated_analytics_read_only;

-- 13
GRANT USAGE ON SCHEMA raw TO raw_read_only;
GRANT SELECT ON ALL TABLES IN SCHEMA raw TO raw_read_only;
ALTER DEFAULT PRIVILEGES IN SCHEMA raw GRANT SELECT ON TABLES TO raw_read_only;
GRANT USAGE ON SCHEMA curated TO curated_read_only;
GRANT SELECT ON ALL TABLES IN SCHEMA curated TO curated_read_only;
ALTER DEFAULT PRIVILEGES IN SCHEMA curated GRANT SELECT ON TABLES TO curated_read_only;
GRANT USAGE ON SCHEMA analytics TO analytics_read_only;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO analytics_read_only;
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO analytics_read_only;

-- A BI dashboard's own grant on the view it reads (not in the reference: a grant no script
-- of the original made, which a rebuild must keep all the same).
GRANT USAGE ON SCHEMA curated TO bi_dashboard;
GRANT SELECT ON curated.demands_archived TO bi_dashboard;
