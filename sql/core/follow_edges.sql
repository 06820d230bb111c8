-- model: core.follow_edges
-- materialized: incremental
-- replace_where: valid_to > $cutoff OR valid_from > $cutoff
--   OR (valid_to IS NULL AND (direction, user_id) IN (SELECT direction, user_id FROM model_rows))
-- join_sides: as written
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
-- alive at the anchor keeps the valid_from it already had. Only what changes is rewritten: an
-- open interval alive at the anchor, of a user in every snapshot since, is left as it is (the
-- SELECT returns no row for that user, and replace_where keeps open intervals of such users;
-- model_rows is the runner's table of the SELECT's rows). So a big account's daily run writes
-- that day's changes, not all of its followers.
--
-- Where a list comes from: core.follow_edges already holds every list it was built from (the
-- list of a complete snapshot date is exactly the intervals alive on it), so a list that raw
-- retention has dropped is read back from here. Every other list in scope, the anchor's included,
-- is read from raw: lists loaded since the last transform always are there (retention drops only
-- transformed dates), and so is a daily run's anchor, the day before, while raw_retention_days
-- keeps it. Reading the anchor back from core instead, 13.7M intervals joined on their dates,
-- took 0.6 s more on day 366 at 10M followers (2.6 s against 2.0 s, warm). An empty list has no
-- raw rows but a member_count of 0.
--
-- Speed: a full join of the anchor's members with each later snapshot's finds the few users whose
-- rows change; only they, picked back out by an IN, go through the gaps-and-islands window.
WITH list_snapshots AS (
    SELECT direction, snapshot_date, member_count
    FROM staging.stg_list_snapshots
    WHERE account_id = $account_id
),

anchors AS (
    SELECT direction, max(snapshot_date) AS anchor_date
    FROM list_snapshots
    WHERE snapshot_date <= $cutoff
    GROUP BY direction
),

raw_list_dates AS (
    SELECT DISTINCT 'follower' AS direction, snapshot_date
    FROM raw.follower_snapshot
    WHERE account_id = $account_id AND snapshot_date >= $cutoff
    UNION ALL
    SELECT DISTINCT 'following' AS direction, snapshot_date
    FROM raw.following_snapshot
    WHERE account_id = $account_id AND snapshot_date >= $cutoff
),

snapshots_in_scope AS (
    SELECT
        list_snapshots.direction,
        list_snapshots.snapshot_date,
        row_number() OVER (
            PARTITION BY list_snapshots.direction ORDER BY list_snapshots.snapshot_date
        ) AS snapshot_index,
        anchors.anchor_date IS NOT NULL AS anchored,
        list_snapshots.snapshot_date >= $cutoff
        AND (raw_list_dates.snapshot_date IS NOT NULL OR list_snapshots.member_count = 0)
            AS from_raw
    FROM list_snapshots
    LEFT JOIN anchors ON anchors.direction = list_snapshots.direction
    LEFT JOIN raw_list_dates
        ON raw_list_dates.direction = list_snapshots.direction
        AND raw_list_dates.snapshot_date = list_snapshots.snapshot_date
    WHERE anchors.anchor_date IS NULL OR list_snapshots.snapshot_date >= anchors.anchor_date
),

edges_in_scope AS (
    SELECT direction, user_id, valid_from, valid_to
    FROM core.follow_edges
    WHERE account_id = $account_id
      AND (valid_to IS NULL OR valid_to > (SELECT min(snapshot_date) FROM snapshots_in_scope))
),

-- One row per user and snapshot that shows them. is_following stands for the direction as a
-- boolean, a smaller key than the string for the full join below over every member. Not
-- materialized: reading the lists again for each use (the anchor, the later lists, the runs)
-- costs less than holding 20M rows (10M followers) in memory.
members AS NOT MATERIALIZED (
    SELECT FALSE AS is_following, snapshots.snapshot_index, lists.user_id
    FROM raw.follower_snapshot AS lists
    INNER JOIN snapshots_in_scope AS snapshots
        ON snapshots.direction = 'follower'
        AND snapshots.snapshot_date = lists.snapshot_date
        AND snapshots.from_raw
    WHERE lists.account_id = $account_id AND lists.snapshot_date >= $cutoff
    UNION ALL
    SELECT TRUE AS is_following, snapshots.snapshot_index, lists.user_id
    FROM raw.following_snapshot AS lists
    INNER JOIN snapshots_in_scope AS snapshots
        ON snapshots.direction = 'following'
        AND snapshots.snapshot_date = lists.snapshot_date
        AND snapshots.from_raw
    WHERE lists.account_id = $account_id AND lists.snapshot_date >= $cutoff
    UNION ALL
    SELECT edges.direction = 'following' AS is_following, snapshots.snapshot_index, edges.user_id
    FROM edges_in_scope AS edges
    INNER JOIN snapshots_in_scope AS snapshots
        ON snapshots.direction = edges.direction
        AND NOT snapshots.from_raw
        AND edges.valid_from <= snapshots.snapshot_date
        AND (edges.valid_to IS NULL OR edges.valid_to > snapshots.snapshot_date)
),

directions_in_scope AS (
    SELECT direction = 'following' AS is_following, any_value(anchored) AS anchored
    FROM snapshots_in_scope
    GROUP BY direction
),

-- The anchor's members (snapshot 1 of an anchored direction), once for each later snapshot.
anchor_members AS (
    SELECT members.is_following, members.user_id, later.snapshot_index
    FROM members
    INNER JOIN snapshots_in_scope AS later
        ON (later.direction = 'following') = members.is_following
        AND later.anchored
        AND later.snapshot_index > 1
    WHERE members.snapshot_index = 1
),

later_members AS (
    SELECT members.is_following, members.user_id, members.snapshot_index
    FROM members
    INNER JOIN directions_in_scope AS scope ON scope.is_following = members.is_following
    WHERE scope.anchored AND members.snapshot_index > 1
),

-- The users whose rows can change, in an anchored direction: missing from the anchor or from a
-- later snapshot (one side of the full join below is empty), or with an interval in core that
-- starts or ends after $cutoff. Everyone else has been in every snapshot since the anchor, and
-- their open interval stays as it is. In a direction without an anchor every user can change.
-- Why a full join: an aggregate counting each user's snapshots did the same over every member,
-- and its hash table of 11M groups cost more than the account's growth (10% more users, 30% more
-- time); with the full join this model takes 2.8-3.4 s on day 91 at 10M followers, 6.1-6.2 s
-- before (benchmarks.model_timings). The IN below then builds its hash table on these few users
-- (join_sides: as written); on the 20M members, as DuckDB's estimates chose on some days, it
-- took 3-4 s at 10M.
changed_users AS (
    SELECT coalesce(anchor.is_following, later.is_following) AS is_following,
        coalesce(anchor.user_id, later.user_id) AS user_id
    FROM anchor_members AS anchor
    FULL OUTER JOIN later_members AS later
        ON later.is_following = anchor.is_following
        AND later.user_id = anchor.user_id
        AND later.snapshot_index = anchor.snapshot_index
    WHERE anchor.user_id IS NULL OR later.user_id IS NULL
    UNION ALL
    SELECT direction = 'following', user_id
    FROM edges_in_scope
    WHERE valid_from > $cutoff OR valid_to > $cutoff
),

runs AS (
    SELECT
        is_following,
        user_id,
        min(snapshot_index) AS first_index,
        max(snapshot_index) AS last_index
    FROM (
        SELECT
            members.is_following,
            members.user_id,
            members.snapshot_index,
            members.snapshot_index - row_number() OVER (
                PARTITION BY members.is_following, members.user_id
                ORDER BY members.snapshot_index
            ) AS island
        FROM members
        INNER JOIN directions_in_scope AS scope ON scope.is_following = members.is_following
        WHERE NOT scope.anchored
            OR (members.is_following, members.user_id) IN (
                SELECT is_following, user_id FROM changed_users
            )
    )
    GROUP BY is_following, user_id, island
),

runs_by_direction AS (
    SELECT CASE WHEN is_following THEN 'following' ELSE 'follower' END AS direction, user_id,
        first_index, last_index
    FROM runs
),

-- A run from the anchor (snapshot 1 of an anchored direction) continues the interval alive on
-- the anchor in core, and keeps its valid_from. Without an anchor, snapshot 1 is a new first
-- snapshot (an earlier one stopped being complete): no interval starts before it. Looked up for
-- the runs' users only (join_sides: as written hashes them), not for all the anchor's members.
carried AS (
    SELECT edges.direction, edges.user_id, edges.valid_from
    FROM edges_in_scope AS edges
    INNER JOIN anchors ON anchors.direction = edges.direction
    INNER JOIN runs_by_direction AS runs
        ON runs.direction = edges.direction
        AND runs.user_id = edges.user_id
        AND runs.first_index = 1
    WHERE edges.valid_from <= anchors.anchor_date
      AND (edges.valid_to IS NULL OR edges.valid_to > anchors.anchor_date)
)

SELECT
    CAST($account_id AS BIGINT) AS account_id,
    runs.user_id,
    runs.direction,
    CASE
        WHEN runs.first_index = 1 THEN coalesce(carried.valid_from, first_snapshot.snapshot_date)
        ELSE first_snapshot.snapshot_date
    END AS valid_from,
    next_snapshot.snapshot_date AS valid_to
FROM runs_by_direction AS runs
INNER JOIN snapshots_in_scope AS first_snapshot
    ON first_snapshot.direction = runs.direction
    AND first_snapshot.snapshot_index = runs.first_index
LEFT JOIN snapshots_in_scope AS next_snapshot
    ON next_snapshot.direction = runs.direction
    AND next_snapshot.snapshot_index = runs.last_index + 1
LEFT JOIN carried
    ON carried.direction = runs.direction
    AND carried.user_id = runs.user_id
    AND runs.first_index = 1
