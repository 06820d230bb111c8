-- model: mart.follower_retention
-- materialized: incremental
-- replace_where: retained_90d IS NULL OR cohort_week > $cutoff - 7 OR evaluated_through > $cutoff
-- join_sides: as written
-- grain: one row per account and cohort week (the ISO week in which followers first appeared)
-- definition: A follower's first appearance is the first complete followers snapshot that shows
--   them (ever: a re-follow does not start a new cohort membership). cohort_size counts the
--   followers who first appeared that week; retained_7d / retained_30d / retained_90d = share of
--   them still following 7 / 30 / 90 days after their first appearance, read from the first
--   complete snapshot on or after that day (a gap defers the reading, never loses anyone). A
--   share is NULL until every member's day has a complete snapshot. Followers already present in
--   the first complete snapshot have an unknown first appearance and belong to no cohort.
-- column account_id: The tracked account's X id.
-- column cohort_week: Monday of the ISO week of the members' first appearance.
-- column cohort_size: Followers who first appeared that week.
-- column retained_7d: Share of the cohort still following 7 days after first appearing (NULL
--   while not yet knowable for every member).
-- column retained_30d: The same 30 days after first appearing.
-- column retained_90d: The same 90 days after first appearing.
-- column evaluated_through: The latest snapshot date read to measure this cohort's retention
--   (NULL before any reading).
--
-- Incremental: a cohort is final once all its 90-day readings exist and were all on or before
-- $cutoff, and no member can join it (cohort_week more than 7 days before $cutoff). That is
-- certain for a cohort whose last possible member's 90-day reading day (cohort_week + 6 + 90)
-- came by the last snapshot on or before $cutoff (settled_through), so only younger cohorts are
-- read; the SELECT ends with the exact condition. A daily run thus reads about 100 days of new
-- followers, however long the history.
WITH follower_snapshots AS (
    SELECT snapshot_date
    FROM staging.stg_list_snapshots
    WHERE account_id = $account_id AND direction = 'follower'
),

-- The last snapshot on or before $cutoff: readings on or before it cannot change.
settled AS (
    SELECT coalesce(max(snapshot_date), DATE '1970-01-01') AS settled_through
    FROM follower_snapshots
    WHERE snapshot_date <= $cutoff
),

-- A first appearance after this day can belong to a cohort still read: not in the first
-- snapshot (those belong to no cohort), and late enough for cohort_week + 96 > settled_through.
appearance_bound AS (
    SELECT greatest(
        (SELECT min(snapshot_date) FROM follower_snapshots),
        (SELECT settled_through FROM settled) - 96
    ) AS appeared_after
),

-- Read twice: scanning core again costs less than holding 10M intervals in memory.
follower_intervals AS NOT MATERIALIZED (
    SELECT user_id, valid_from, valid_to
    FROM core.follow_edges
    WHERE account_id = $account_id AND direction = 'follower'
),

recent_intervals AS (
    SELECT user_id, valid_from, valid_to
    FROM follower_intervals
    WHERE valid_from > (SELECT appeared_after FROM appearance_bound)
),

-- Of the followers with a recent interval, those who had one before. An old interval still open
-- would overlap the recent one, so only closed ones are looked up, and the join's hash table
-- holds them: 0.66M on day 99 at 10M followers, where the recent intervals are 2.0M (hashing
-- those instead took the model 0.37 s there, against 0.31 s).
returning_followers AS (
    SELECT DISTINCT recent_intervals.user_id
    FROM recent_intervals
    SEMI JOIN (
        SELECT user_id FROM follower_intervals
        WHERE valid_from <= (SELECT appeared_after FROM appearance_bound)
          AND valid_to IS NOT NULL
    ) AS earlier ON earlier.user_id = recent_intervals.user_id
),

-- Only a follower with a closed recent interval can have more than one.
closing_followers AS (
    SELECT DISTINCT user_id FROM recent_intervals WHERE valid_to IS NOT NULL
),

-- The intervals of followers whose first one starts after appeared_after (the new followers of
-- about 100 days), each with that first appearance. A follower whose one recent interval is still
-- open first appeared on its start; only the few with a closed one are grouped (1.6M of 1.8M
-- intervals on day 91 at 10M followers need no grouping and no join back to their member).
member_intervals_all AS (
    SELECT recent_intervals.user_id, recent_intervals.valid_from, recent_intervals.valid_to,
        recent_intervals.valid_from AS first_seen_on
    FROM recent_intervals
    ANTI JOIN closing_followers ON closing_followers.user_id = recent_intervals.user_id
    ANTI JOIN returning_followers ON returning_followers.user_id = recent_intervals.user_id
    UNION ALL
    SELECT user_id, valid_from, valid_to,
        min(valid_from) OVER (PARTITION BY user_id) AS first_seen_on
    FROM (
        SELECT recent_intervals.user_id, recent_intervals.valid_from, recent_intervals.valid_to
        FROM recent_intervals
        SEMI JOIN closing_followers ON closing_followers.user_id = recent_intervals.user_id
        ANTI JOIN returning_followers ON returning_followers.user_id = recent_intervals.user_id
    ) AS closing_intervals
),

-- Intervals alike in their dates count alike: the rest reads one row per first appearance,
-- start and end (a day's new followers who still follow are one row), not one per interval
-- (0.30 s -> 0.21 s on day 91 at 10M followers, 1.8M intervals).
interval_groups AS (
    SELECT first_seen_on, valid_from, valid_to, count(*) AS intervals
    FROM member_intervals_all
    GROUP BY first_seen_on, valid_from, valid_to
),

open_cohort_intervals AS (
    SELECT valid_from, valid_to, first_seen_on, intervals,
        CAST(date_trunc('week', first_seen_on) AS DATE) AS cohort_week
    FROM interval_groups
    WHERE CAST(date_trunc('week', first_seen_on) AS DATE) + 96
        > (SELECT settled_through FROM settled)
),

-- The days a member's 7-, 30- and 90-day readings fall due: about a hundred distinct days a
-- horizon, however many members.
due_days AS (
    SELECT DISTINCT first_seen_on + unnest([7, 30, 90]) AS due_on
    FROM open_cohort_intervals
),

-- The first complete snapshot on or after each due day. A day after the last snapshot has no
-- reading yet, so it has no row.
reading_days AS (
    SELECT due_days.due_on, follower_snapshots.snapshot_date AS read_on
    FROM due_days
    ASOF INNER JOIN follower_snapshots
        ON follower_snapshots.snapshot_date >= due_days.due_on
),

-- Each group of intervals with its members' three reading days (NULL while not yet due), looked
-- up by due day so that the joins' hash tables hold a few hundred rows. A member's intervals
-- never overlap, so at most one holds a reading day, and exactly one starts on the member's first
-- appearance: the groups of those count the members.
member_intervals AS (
    SELECT
        open_cohort_intervals.cohort_week,
        reading_7d.read_on AS read_7d_on,
        reading_30d.read_on AS read_30d_on,
        reading_90d.read_on AS read_90d_on,
        open_cohort_intervals.valid_from = open_cohort_intervals.first_seen_on AS counts_member,
        open_cohort_intervals.intervals,
        open_cohort_intervals.valid_from,
        coalesce(open_cohort_intervals.valid_to, DATE '9999-12-31') AS followed_until
    FROM open_cohort_intervals
    LEFT JOIN reading_days AS reading_7d
        ON reading_7d.due_on = open_cohort_intervals.first_seen_on + 7
    LEFT JOIN reading_days AS reading_30d
        ON reading_30d.due_on = open_cohort_intervals.first_seen_on + 30
    LEFT JOIN reading_days AS reading_90d
        ON reading_90d.due_on = open_cohort_intervals.first_seen_on + 90
),

cohort_readings AS (
    SELECT
        cohort_week,
        coalesce(sum(intervals) FILTER (WHERE counts_member), 0) AS cohort_size,
        max(coalesce(read_90d_on, read_30d_on, read_7d_on)) AS evaluated_through,
        coalesce(sum(intervals) FILTER (WHERE counts_member AND read_7d_on IS NOT NULL), 0)
            AS read_7d,
        coalesce(sum(intervals) FILTER (
            WHERE valid_from <= read_7d_on AND followed_until > read_7d_on), 0) AS following_7d,
        coalesce(sum(intervals) FILTER (WHERE counts_member AND read_30d_on IS NOT NULL), 0)
            AS read_30d,
        coalesce(sum(intervals) FILTER (
            WHERE valid_from <= read_30d_on AND followed_until > read_30d_on), 0) AS following_30d,
        coalesce(sum(intervals) FILTER (WHERE counts_member AND read_90d_on IS NOT NULL), 0)
            AS read_90d,
        coalesce(sum(intervals) FILTER (
            WHERE valid_from <= read_90d_on AND followed_until > read_90d_on), 0) AS following_90d
    FROM member_intervals
    GROUP BY cohort_week
),

-- A share is known once every member has its reading.
cohorts AS (
    SELECT
        cohort_week,
        cohort_size,
        evaluated_through,
        CASE WHEN read_7d = cohort_size THEN following_7d / read_7d END AS retained_7d,
        CASE WHEN read_30d = cohort_size THEN following_30d / read_30d END AS retained_30d,
        CASE WHEN read_90d = cohort_size THEN following_90d / read_90d END AS retained_90d
    FROM cohort_readings
)

SELECT
    CAST($account_id AS BIGINT) AS account_id,
    cohort_week,
    CAST(cohort_size AS BIGINT) AS cohort_size,
    CAST(retained_7d AS DOUBLE) AS retained_7d,
    CAST(retained_30d AS DOUBLE) AS retained_30d,
    CAST(retained_90d AS DOUBLE) AS retained_90d,
    evaluated_through
FROM cohorts
WHERE retained_90d IS NULL OR cohort_week > $cutoff - 7 OR evaluated_through > $cutoff
