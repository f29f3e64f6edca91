-- Privileges granted on the view to roles other than its owner (PUBLIC as grantee 0).
SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
       a.privilege_type
FROM pg_class AS c, aclexplode(c.relacl) AS a
WHERE c.oid = %(oid)s::oid AND a.grantee <> c.relowner
ORDER BY 1, 2
