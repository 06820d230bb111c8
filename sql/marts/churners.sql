-- model: mart.churners
-- materialized: incremental
-- replace_where: unfollowed_on > $cutoff
-- grain: one row per account, user and short follow episode: the user followed the account and
--   stopped within churn_window_days (default 7)
-- definition: Follow churn (seed 002; X's rules): user U followed A on t1 (followed_on) and stopped
--   on t2 (unfollowed_on) with t2 - t1 <= churn_window_days. The episode is churn (is_churn) when
--   A did not follow U back before t2, i.e. no interval of A following U overlaps [t1, t2)
--   (one that began before t1 counts too: U was then following back). Both dates are complete snapshot dates, so across a gap an episode is
--   dated by the snapshots around it. Episodes that A followed back are kept with
--   is_churn = false so the filter stays visible; count churners with is_churn. Followers already
--   in the first complete snapshot have an unknown t1 and are left out.
-- column account_id: The tracked account's X id.
-- column user_id: The user who followed and unfollowed.
-- column followed_on: t1: the first complete snapshot showing U following A.
-- column unfollowed_on: t2: the first complete snapshot after t1 on which U no longer followed A.
-- column days_followed: t2 - t1 in days (at most churn_window_days).
-- column followed_back: True when A followed U at some point between t1 and t2.
-- column is_churn: True when A did not follow U back: a follow churner episode. NULL when A's
--   following list has no complete snapshot in [t1, t2): A may have followed back unseen.
-- column episodes: How many churn episodes U had done with A up to and including this one (the
--   user's latest row holds the total). Counting up to this row keeps closed rows final.
-- column following_count_growth_per_day: Change in U's following count per day over the
--   profiles observed during the episode (t1 <= observed < t2); NULL with fewer than two
--   observation days. X caps follows at 400 a day; churners climb by tens a day.
-- column following_to_followers_ratio: U's following count / followers count at the last
--   profile observed during the episode (NULL when unknown or U has no followers).
--
-- Incremental: an episode that ended on or before $cutoff is final (its intervals, the
-- following list before t2 and U's earlier episodes are). Profiles are read only for the
-- recomputed episodes, which all started after $cutoff - churn_window_days.
WITH following_snapshots AS (
    SELECT snapshot_date
    FROM staging.stg_list_snapshots
    WHERE account_id = $account_id AND direction = 'following'
),

first_follower_snapshot AS (
    SELECT min(snapshot_date) AS snapshot_date
    FROM staging.stg_list_snapshots
    WHERE account_id = $account_id AND direction = 'follower'
),

-- The followers with an episode to recompute: one that ended after $cutoff. Only their
-- episodes are read below, since an episode's number counts the user's earlier ones alone.
-- Numbering every short follow of the history (258k on day 91 at 10M followers, more each day)
-- made the model take 0.14 s there; it takes 0.09 s.
recomputed_followers AS (
    SELECT DISTINCT follows.user_id
    FROM core.follow_edges AS follows
    CROSS JOIN first_follower_snapshot
    WHERE follows.account_id = $account_id AND follows.direction = 'follower'
      AND follows.valid_to > $cutoff
      AND follows.valid_from > first_follower_snapshot.snapshot_date
      AND follows.valid_to - follows.valid_from <= $churn_window_days
),

follower_intervals AS (
    SELECT follows.user_id, follows.valid_from, follows.valid_to
    FROM core.follow_edges AS follows
    SEMI JOIN recomputed_followers ON recomputed_followers.user_id = follows.user_id
    WHERE follows.account_id = $account_id AND follows.direction = 'follower'
),

following_intervals AS (
    SELECT user_id, valid_from, valid_to
    FROM core.follow_edges
    WHERE account_id = $account_id AND direction = 'following'
),

short_follows AS (
    SELECT
        follower_intervals.user_id,
        follower_intervals.valid_from AS followed_on,
        follower_intervals.valid_to AS unfollowed_on,
        EXISTS (
            SELECT 1
            FROM following_intervals
            WHERE following_intervals.user_id = follower_intervals.user_id
              AND following_intervals.valid_from < follower_intervals.valid_to
              AND coalesce(following_intervals.valid_to, DATE '9999-12-31')
                  > follower_intervals.valid_from
        ) AS followed_back,
        EXISTS (
            SELECT 1
            FROM following_snapshots
            WHERE following_snapshots.snapshot_date >= follower_intervals.valid_from
              AND following_snapshots.snapshot_date < follower_intervals.valid_to
        ) AS following_observed
    FROM follower_intervals
    CROSS JOIN first_follower_snapshot
    WHERE follower_intervals.valid_from > first_follower_snapshot.snapshot_date
      AND follower_intervals.valid_to - follower_intervals.valid_from <= $churn_window_days
),

numbered_episodes AS (
    SELECT
        user_id,
        followed_on,
        unfollowed_on,
        followed_back,
        CASE WHEN followed_back THEN false WHEN following_observed THEN true END AS is_churn,
        count(*) FILTER (WHERE NOT followed_back AND following_observed) OVER (
            PARTITION BY user_id ORDER BY followed_on ROWS UNBOUNDED PRECEDING
        ) AS episodes
    FROM short_follows
),

recomputed_episodes AS (
    SELECT user_id, followed_on, unfollowed_on, followed_back, is_churn, episodes
    FROM numbered_episodes
    WHERE unfollowed_on > $cutoff
),

profile_observations AS (
    SELECT
        recomputed_episodes.user_id,
        recomputed_episodes.followed_on,
        users.observed_on,
        users.following_count,
        users.followers_count
    FROM raw.users AS users
    INNER JOIN recomputed_episodes
        ON recomputed_episodes.user_id = users.user_id
        AND users.observed_on >= recomputed_episodes.followed_on
        AND users.observed_on < recomputed_episodes.unfollowed_on
    WHERE users.account_id = $account_id
      AND users.observed_on > $cutoff - $churn_window_days
      -- A profile without counts (a suspended or deleted user, an archive's bare id) observed
      -- nothing: it must neither stretch the growth's span nor pair counts of different days.
      AND users.following_count IS NOT NULL
      AND users.followers_count IS NOT NULL
),

episode_profiles AS (
    SELECT
        user_id,
        followed_on,
        min(observed_on) AS first_observed_on,
        max(observed_on) AS last_observed_on,
        arg_min(following_count, observed_on) AS first_following_count,
        arg_max(following_count, observed_on) AS last_following_count,
        arg_max(followers_count, observed_on) AS last_followers_count
    FROM profile_observations
    GROUP BY user_id, followed_on
)

SELECT
    CAST($account_id AS BIGINT) AS account_id,
    recomputed_episodes.user_id,
    recomputed_episodes.followed_on,
    recomputed_episodes.unfollowed_on,
    CAST(recomputed_episodes.unfollowed_on - recomputed_episodes.followed_on AS INTEGER)
        AS days_followed,
    recomputed_episodes.followed_back,
    recomputed_episodes.is_churn,
    CAST(recomputed_episodes.episodes AS BIGINT) AS episodes,
    CAST(
        (episode_profiles.last_following_count - episode_profiles.first_following_count)
        / nullif(episode_profiles.last_observed_on - episode_profiles.first_observed_on, 0)
        AS DOUBLE
    ) AS following_count_growth_per_day,
    CAST(
        episode_profiles.last_following_count / nullif(episode_profiles.last_followers_count, 0)
        AS DOUBLE
    ) AS following_to_followers_ratio
FROM recomputed_episodes
LEFT JOIN episode_profiles
    ON episode_profiles.user_id = recomputed_episodes.user_id
    AND episode_profiles.followed_on = recomputed_episodes.followed_on
