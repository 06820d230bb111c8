-- model: staging.stg_list_snapshots
-- materialized: view
-- grain: one row per account, list direction and complete snapshot date
-- definition: The dates on which a followers or following list was extracted completely and
--   passed validation. Only these dates say anything about who follows whom: other days are gaps.
-- column account_id: The tracked account's X id.
-- column direction: 'follower' (the account's followers) or 'following' (accounts it follows).
-- column snapshot_date: The UTC date of the complete snapshot.
-- column member_count: How many users the list held that day.
-- column full_scan: True when every page of the list was read (a reconciled day); false when
--   only the newest pages were read on top of the previous list (full_scan: incremental), which
--   sees new users but no departures.
SELECT
    account_id,
    CASE kind WHEN 'followers' THEN 'follower' ELSE 'following' END AS direction,
    snapshot_date,
    row_count AS member_count,
    -- Sources without a scan policy read every page.
    scan IS DISTINCT FROM 'incremental' AS full_scan
FROM meta.snapshots
WHERE kind IN ('followers', 'following')
  AND status = 'complete'
