-- The rows of the access index that date something in an object's life: a version set or brought back, a deletion or purge, a service notification (near expiry, expired). Their days are the boundaries the summary of old days (object_summary.sql) never folds across. `dating_operations` lists the sets and deletions the lifecycle findings know (src/detect/lifecycle/catalog.rs); any outcome counts, since more boundaries only fold less.
SELECT DISTINCT
    vault,
    object_type,
    object_name,
    operation,
    first_time
FROM access
WHERE object_name IS NOT NULL
  AND (operation IN (SELECT operation FROM dating_operations) OR operation LIKE '%EventGridNotification')
ORDER BY vault, object_type, object_name, first_time, operation
