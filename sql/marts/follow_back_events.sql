-- model: mart.follow_back_events
-- materialized: incremental
-- replace_where: initiated_on > $cutoff OR reciprocated_on > $cutoff
--   OR user_id IN (SELECT user_id FROM core.follow_edges WHERE account_id = $account_id
--   AND (valid_from > $cutoff OR valid_to > $cutoff))
--   OR (initiated_on + $followback_window_days > (
--   SELECT least(
--   coalesce(max(snapshot_date) FILTER (WHERE direction = 'follower'), DATE '1970-01-01'),
--   coalesce(max(snapshot_date) FILTER (WHERE direction = 'following'), DATE '1970-01-01'))
--   FROM staging.stg_list_snapshots WHERE account_id = $account_id AND snapshot_date <= $cutoff)
--   AND initiated_on + $followback_window_days <= (
--   SELECT max(snapshot_date) FROM meta.snapshots WHERE account_id = $account_id))
-- grain: one row per new relationship: a follow edge (the user follows the account, or the
--   account follows the user) that appears while the reverse edge does not exist
-- definition: initiated_by = 'them' when the user followed first, 'us' when the account did,
--   'same_day' when both edges appear in the same snapshot, and 'unknown' when the reverse list has
--   no complete snapshot from initiated_on until the reverse edge shows: across that gap either
--   side may have moved first, and nothing is inferred from a gap. initiated_on is the first
--   complete snapshot showing the new edge; reciprocated_on the first complete snapshot showing the
--   reverse edge while the first still holds (NULL if never: following back someone who has already
--   left is a new relationship, not a follow-back); latency_days = reciprocated_on - initiated_on
--   (resolution: one snapshot interval). window_closed = a complete snapshot of the list that would
--   show the follow-back exists on or after initiated_on + followback_window_days. Reciprocation
--   after the window still fills reciprocated_on; count latency_days <= followback_window_days for
--   a within-window rate. An edge that appears while the reverse edge holds is itself the
--   follow-back and has no row of its own. Relationships visible in either list's first complete
--   snapshot have an unknown start and are left out, and so is everything until both lists have a
--   complete snapshot.
-- column account_id: The tracked account's X id.
-- column user_id: The other user's X id.
-- column initiated_by: 'them' (the user followed first), 'us' (the account did), 'same_day', or
--   'unknown' (a gap in the reverse list hides which side moved first).
-- column initiated_on: Date of the first complete snapshot showing the initiating edge.
-- column reciprocated_on: Date of the first complete snapshot showing the reverse edge while the
--   initiating edge still held; NULL if not (yet) reciprocated.
-- column latency_days: reciprocated_on - initiated_on in days (0 for same_day).
-- column window_closed: True once a complete snapshot of the reverse list exists on or after
--   initiated_on + followback_window_days (default 30): a NULL reciprocated_on is then a
--   within-window no.
--
-- Incremental: a row depends on the user's intervals and on the lists' snapshots. It is
-- rewritten when initiated_on or reciprocated_on is after $cutoff, when one of the user's
-- intervals starts or ends after $cutoff (a follow-back still to come starts one), or when its
-- window_closed may differ from the stored value: the window ends after the last snapshots on or
-- before $cutoff (the first replace_where subquery), yet on or before the latest date ever loaded
-- (the second). A window ending later was open at every transform and still is. So a daily run
-- rewrites the relationships whose window ends that day, not the whole 30-day window. The SELECT
-- builds only those relationships (candidate_starts), not every one since the first snapshot,
-- and reads the other intervals of their users only.
WITH list_snapshots AS (
    SELECT direction, snapshot_date
    FROM staging.stg_list_snapshots
    WHERE account_id = $account_id
),

list_bounds AS (
    SELECT
        -- NULL until both lists have a complete snapshot (greatest() would skip a NULL).
        CASE WHEN count(DISTINCT direction) = 2 THEN greatest(
            min(snapshot_date) FILTER (WHERE direction = 'follower'),
            min(snapshot_date) FILTER (WHERE direction = 'following')
        ) END AS both_lists_known_from,
        max(snapshot_date) FILTER (WHERE direction = 'follower') AS last_follower_snapshot,
        max(snapshot_date) FILTER (WHERE direction = 'following') AS last_following_snapshot,
        least(
            coalesce(
                max(snapshot_date) FILTER (
                    WHERE direction = 'follower' AND snapshot_date <= $cutoff),
                DATE '1970-01-01'
            ),
            coalesce(
                max(snapshot_date) FILTER (
                    WHERE direction = 'following' AND snapshot_date <= $cutoff),
                DATE '1970-01-01'
            )
        ) AS windows_final_through,
        (
            SELECT max(snapshot_date) FROM meta.snapshots WHERE account_id = $account_id
        ) AS latest_loaded_date
    FROM list_snapshots
),

changed_users AS (
    SELECT user_id
    FROM core.follow_edges
    WHERE account_id = $account_id AND (valid_from > $cutoff OR valid_to > $cutoff)
),

-- The edges that may start a relationship this run rewrites (see replace_where): a relationship
-- initiated or reciprocated after $cutoff starts an interval after it, so its user is a changed
-- user.
candidate_starts AS (
    SELECT edges.user_id, edges.direction, edges.valid_from, edges.valid_to
    FROM core.follow_edges AS edges
    CROSS JOIN list_bounds
    WHERE edges.account_id = $account_id
      AND edges.valid_from > list_bounds.both_lists_known_from
      AND (
          edges.user_id IN (SELECT user_id FROM changed_users)
          OR (edges.valid_from + $followback_window_days > list_bounds.windows_final_through
              AND edges.valid_from + $followback_window_days
                  <= list_bounds.latest_loaded_date)
      )
),

-- Every interval of those users, in both directions: the reverse edges are among them. (All the
-- account's intervals, held and probed by the joins below, took 0.28-0.34 s on day 91 at 10M
-- followers, 12M of them; those of these users, 0.07-0.09 s.)
candidate_user_intervals AS (
    SELECT user_id, direction, valid_from, valid_to
    FROM core.follow_edges
    WHERE account_id = $account_id
      AND user_id IN (SELECT user_id FROM candidate_starts)
),

-- An edge that appears while the reverse edge holds is the follow-back, not a relationship.
relationship_starts AS (
    SELECT
        candidate_starts.user_id,
        candidate_starts.direction,
        candidate_starts.valid_from,
        candidate_starts.valid_to
    FROM candidate_starts
    WHERE NOT EXISTS (
        SELECT 1
        FROM candidate_user_intervals AS reverse_intervals
        WHERE reverse_intervals.user_id = candidate_starts.user_id
          AND reverse_intervals.direction <> candidate_starts.direction
          AND reverse_intervals.valid_from < candidate_starts.valid_from
          AND coalesce(reverse_intervals.valid_to, DATE '9999-12-31') > candidate_starts.valid_from
    )
),

reciprocations AS (
    SELECT
        relationship_starts.user_id,
        relationship_starts.valid_from,
        min(reverse_intervals.valid_from) AS reciprocated_on
    FROM relationship_starts
    INNER JOIN candidate_user_intervals AS reverse_intervals
        ON reverse_intervals.user_id = relationship_starts.user_id
        AND reverse_intervals.direction <> relationship_starts.direction
        AND reverse_intervals.valid_from >= relationship_starts.valid_from
        AND reverse_intervals.valid_from
            < coalesce(relationship_starts.valid_to, DATE '9999-12-31')
    GROUP BY relationship_starts.user_id, relationship_starts.valid_from
),

follow_back_events AS (
    SELECT
        relationship_starts.user_id,
        CASE
            WHEN reciprocations.reciprocated_on = relationship_starts.valid_from THEN 'same_day'
            WHEN reciprocations.reciprocated_on IS NOT NULL AND NOT EXISTS (
                SELECT 1
                FROM list_snapshots AS reverse_snapshots
                WHERE reverse_snapshots.direction <> relationship_starts.direction
                  AND reverse_snapshots.snapshot_date >= relationship_starts.valid_from
                  AND reverse_snapshots.snapshot_date < reciprocations.reciprocated_on
            ) THEN 'unknown'
            WHEN relationship_starts.direction = 'follower' THEN 'them'
            ELSE 'us'
        END AS initiated_by,
        relationship_starts.valid_from AS initiated_on,
        reciprocations.reciprocated_on,
        CASE relationship_starts.direction
            WHEN 'follower' THEN list_bounds.last_following_snapshot
            ELSE list_bounds.last_follower_snapshot
        END >= relationship_starts.valid_from + $followback_window_days AS window_closed
    FROM relationship_starts
    CROSS JOIN list_bounds
    LEFT JOIN reciprocations
        ON reciprocations.user_id = relationship_starts.user_id
        AND reciprocations.valid_from = relationship_starts.valid_from
    -- Both edges of a same-day pair start a relationship: keep it once.
    WHERE NOT (
        relationship_starts.direction = 'following'
        AND reciprocations.reciprocated_on IS NOT DISTINCT FROM relationship_starts.valid_from
    )
)

SELECT
    CAST($account_id AS BIGINT) AS account_id,
    user_id,
    initiated_by,
    initiated_on,
    reciprocated_on,
    CAST(reciprocated_on - initiated_on AS INTEGER) AS latency_days,
    window_closed
FROM follow_back_events
