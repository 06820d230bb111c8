-- model: core.follow_edges
-- materialized: incremental
-- replace_where: valid_to IS NULL OR valid_to > $cutoff
-- grain: one row per continuous interval of a relationship (account, user, direction)
-- definition: A user is in a relationship from the first complete snapshot that shows them
--   (valid_from) until the first later complete snapshot that does not (valid_to, exclusive;
--   NULL while current). Days without a complete snapshot are gaps: they close nothing, and a
--   change seen after a gap is dated by the snapshot that saw it.
-- column account_id: The tracked account's X id.
-- column user_id: The other user's X id.
-- column direction: 'follower' when the user follows the account, 'following' when the account
--   follows the user.
-- column valid_from: First complete snapshot date of the interval.
-- column valid_to: First complete snapshot date after the interval on which the user was absent;
--   NULL while the relationship holds in the latest complete snapshot.
--
-- Incremental: intervals that ended on or before $cutoff cannot change. Later ones are recomputed
-- from each direction's last complete snapshot on or before $cutoff (the anchor); an interval
-- alive at the anchor keeps the valid_from it already had.
WITH list_snapshots AS (
    SELECT direction, snapshot_date
    FROM staging.stg_list_snapshots
    WHERE account_id = $account_id
),

anchors AS (
    SELECT direction, max(snapshot_date) AS anchor_date
    FROM list_snapshots
    WHERE snapshot_date <= $cutoff
    GROUP BY direction
),

snapshots_in_scope AS (
    SELECT
        list_snapshots.direction,
        list_snapshots.snapshot_date,
        anchors.anchor_date,
        row_number() OVER (
            PARTITION BY list_snapshots.direction ORDER BY list_snapshots.snapshot_date
        ) AS snapshot_index
    FROM list_snapshots
    LEFT JOIN anchors ON anchors.direction = list_snapshots.direction
    WHERE anchors.anchor_date IS NULL OR list_snapshots.snapshot_date >= anchors.anchor_date
),

members AS (
    SELECT 'follower' AS direction, snapshot_date, user_id
    FROM raw.follower_snapshot
    WHERE account_id = $account_id
    UNION ALL
    SELECT 'following' AS direction, snapshot_date, user_id
    FROM raw.following_snapshot
    WHERE account_id = $account_id
),

presence AS (
    SELECT
        members.direction,
        members.user_id,
        snapshots_in_scope.snapshot_index,
        snapshots_in_scope.snapshot_index - row_number() OVER (
            PARTITION BY members.direction, members.user_id
            ORDER BY snapshots_in_scope.snapshot_index
        ) AS island
    FROM members
    INNER JOIN snapshots_in_scope
        ON snapshots_in_scope.direction = members.direction
        AND snapshots_in_scope.snapshot_date = members.snapshot_date
),

runs AS (
    SELECT
        direction,
        user_id,
        min(snapshot_index) AS first_index,
        max(snapshot_index) AS last_index
    FROM presence
    GROUP BY direction, user_id, island
),

intervals_alive_at_cutoff AS (
    SELECT direction, user_id, valid_from
    FROM core.follow_edges
    WHERE account_id = $account_id
      AND valid_from <= $cutoff
      AND (valid_to IS NULL OR valid_to > $cutoff)
)

SELECT
    CAST($account_id AS BIGINT) AS account_id,
    runs.user_id,
    runs.direction,
    CASE
        WHEN runs.first_index = 1 AND first_snapshot.anchor_date IS NOT NULL
            THEN coalesce(intervals_alive_at_cutoff.valid_from, first_snapshot.snapshot_date)
        ELSE first_snapshot.snapshot_date
    END AS valid_from,
    next_snapshot.snapshot_date AS valid_to
FROM runs
INNER JOIN snapshots_in_scope AS first_snapshot
    ON first_snapshot.direction = runs.direction
    AND first_snapshot.snapshot_index = runs.first_index
LEFT JOIN snapshots_in_scope AS next_snapshot
    ON next_snapshot.direction = runs.direction
    AND next_snapshot.snapshot_index = runs.last_index + 1
LEFT JOIN intervals_alive_at_cutoff
    ON intervals_alive_at_cutoff.direction = runs.direction
    AND intervals_alive_at_cutoff.user_id = runs.user_id
