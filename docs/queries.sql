-- Example queries for analysts. They read only core, mart, meta.accounts and staging.stg_tweets,
-- so they run on the warehouse and on the published copy alike:
--   duckdb -readonly data/published/followback.duckdb -c ".read docs/queries.sql"
-- Set the account and dates here; in a BI tool, replace the getvariable(...) calls by values.
-- Follower lists are snapshots: "on a date" means in the complete snapshot of that date, and
-- core.follow_edges holds one row per continuous interval (valid_to exclusive, NULL while current).

SET VARIABLE handle = 'maya_writes';
-- The latest date on which both of the account's lists have a complete snapshot.
SET VARIABLE as_of = (
    SELECT max(snapshot_date)
    FROM mart.reciprocity_daily
    INNER JOIN meta.accounts USING (account_id)
    WHERE handle = getvariable('handle')
);
-- Any date works, e.g. DATE '2026-01-15'.
SET VARIABLE followers_on = CAST(getvariable('as_of') - 7 AS DATE);

-- name: who_doesnt_follow_me_back
-- The accounts I follow that do not follow me, as of the latest complete snapshots.
SELECT following.user_id, following.valid_from AS following_since
FROM core.follow_edges AS following
INNER JOIN meta.accounts USING (account_id)
WHERE accounts.handle = getvariable('handle')
  AND following.direction = 'following'
  AND following.valid_from <= getvariable('as_of')
  AND (following.valid_to IS NULL OR following.valid_to > getvariable('as_of'))
  AND NOT EXISTS (
      SELECT 1
      FROM core.follow_edges AS follower
      WHERE follower.account_id = following.account_id
        AND follower.user_id = following.user_id
        AND follower.direction = 'follower'
        AND follower.valid_from <= getvariable('as_of')
        AND (follower.valid_to IS NULL OR follower.valid_to > getvariable('as_of'))
  )
ORDER BY following_since, following.user_id;

-- name: who_unfollowed_me_this_week
-- Followers who stopped following in the 7 days up to as_of, and whether they are back since.
SELECT
    lost.user_id,
    lost.valid_from AS followed_on,
    lost.valid_to AS unfollowed_on,
    EXISTS (
        SELECT 1
        FROM core.follow_edges AS again
        WHERE again.account_id = lost.account_id
          AND again.user_id = lost.user_id
          AND again.direction = 'follower'
          AND again.valid_from > lost.valid_to
    ) AS followed_again
FROM core.follow_edges AS lost
INNER JOIN meta.accounts USING (account_id)
WHERE accounts.handle = getvariable('handle')
  AND lost.direction = 'follower'
  AND lost.valid_to > getvariable('as_of') - 7
  AND lost.valid_to <= getvariable('as_of')
ORDER BY unfollowed_on DESC, lost.user_id;

-- name: my_follow_churners
-- Users who followed, were not followed back and unfollowed within churn_window_days, most
-- repeated first; the profile signals are from their latest episode.
SELECT
    user_id,
    count(*) AS churn_episodes,
    min(followed_on) AS first_followed_on,
    max(unfollowed_on) AS last_unfollowed_on,
    arg_max(following_count_growth_per_day, unfollowed_on) AS following_growth_per_day,
    arg_max(following_to_followers_ratio, unfollowed_on) AS following_to_followers_ratio
FROM mart.churners
INNER JOIN meta.accounts USING (account_id)
WHERE accounts.handle = getvariable('handle') AND churners.is_churn
GROUP BY user_id
ORDER BY churn_episodes DESC, last_unfollowed_on DESC, user_id;

-- name: response_rate_of_my_last_question
-- The share of followers who replied within 24 hours; status 'open' means it may still grow.
SELECT
    question.posted_at,
    tweets.text,
    question.audience,
    question.follower_repliers_24h,
    question.response_rate,
    question.status
FROM mart.question_response AS question
INNER JOIN meta.accounts USING (account_id)
LEFT JOIN staging.stg_tweets AS tweets USING (account_id, tweet_id)
WHERE accounts.handle = getvariable('handle')
ORDER BY question.posted_at DESC
LIMIT 1;

-- name: followers_as_of_a_date
-- Who followed the account on followers_on (set at the top).
SELECT edges.user_id, edges.valid_from AS following_since
FROM core.follow_edges AS edges
INNER JOIN meta.accounts USING (account_id)
WHERE accounts.handle = getvariable('handle')
  AND edges.direction = 'follower'
  AND edges.valid_from <= getvariable('followers_on')
  AND (edges.valid_to IS NULL OR edges.valid_to > getvariable('followers_on'))
ORDER BY following_since, edges.user_id;
