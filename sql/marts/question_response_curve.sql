-- model: mart.question_response_curve
-- materialized: incremental
-- replace_where: CAST(posted_at AS DATE) > $cutoff
--   OR tweet_id IN (SELECT tweet_id FROM raw.tweets
--   WHERE account_id = $account_id AND snapshot_date > $cutoff)
--   OR conversation_id IN (SELECT conversation_id FROM raw.replies
--   WHERE account_id = $account_id AND snapshot_date > $cutoff)
--   OR conversation_id IN (SELECT conversation_id FROM meta.replaced_conversations
--   WHERE account_id = $account_id)
--   OR CAST(tweet_id AS VARCHAR) IN (SELECT tweet_id FROM meta.question_overrides
--   WHERE account_id = $account_id)
--   OR NOT EXISTS (SELECT 1 FROM meta.snapshots WHERE account_id = $account_id
--   AND kind = 'replies' AND status = 'complete' AND snapshot_date <= $cutoff
--   AND fetched_at >= posted_at + INTERVAL 24 HOUR)
-- grain: one row per question tweet (as in mart.question_response) and hour 1..24 after posting
-- definition: For plotting how answers arrive: the cumulative number of distinct follower
--   repliers (authors other than A, in the question's audience) whose first reply in the
--   conversation came before posted_at + hour hours. Hour 24 equals follower_repliers_24h of
--   mart.question_response; status is that question's status.
-- column account_id: The tracked account's X id.
-- column tweet_id: The question tweet's X id.
-- column conversation_id: The conversation replies are counted in.
-- column posted_at: When the question was posted (UTC).
-- column hour: Hours since posting, 1..24: replies before posted_at + hour hours count.
-- column follower_repliers: Distinct follower repliers so far.
-- column response_rate: follower_repliers / audience so far (NULL without an audience).
-- column status: The question's status: 'open' (may still grow) or 'final'.
--
-- Incremental: the same questions as mart.question_response are recomputed (same
-- replace_where); this model runs after it and reads those questions' rows from it.
WITH questions AS (
    SELECT tweet_id, conversation_id, posted_at, audience_snapshot_date, audience, status
    FROM mart.question_response
    WHERE account_id = $account_id
      AND (
          CAST(posted_at AS DATE) > $cutoff
          OR tweet_id IN (
              SELECT tweet_id FROM raw.tweets
              WHERE account_id = $account_id AND snapshot_date > $cutoff)
          OR conversation_id IN (
              SELECT conversation_id FROM raw.replies
              WHERE account_id = $account_id AND snapshot_date > $cutoff)
          OR conversation_id IN (
              SELECT conversation_id FROM meta.replaced_conversations
              WHERE account_id = $account_id)
          OR CAST(tweet_id AS VARCHAR) IN (
              SELECT tweet_id FROM meta.question_overrides WHERE account_id = $account_id)
          OR NOT EXISTS (
              SELECT 1 FROM meta.snapshots
              WHERE account_id = $account_id
                AND kind = 'replies'
                AND status = 'complete'
                AND snapshot_date <= $cutoff
                AND fetched_at >= posted_at + INTERVAL 24 HOUR)
      )
),

-- As in mart.question_response: the questions' replies, picked before the dedupe.
question_replies AS (
    SELECT conversation_id, author_id, created_at
    FROM raw.replies
    WHERE account_id = $account_id
      AND conversation_id IN (SELECT conversation_id FROM questions)
    QUALIFY row_number() OVER (PARTITION BY reply_id ORDER BY snapshot_date DESC) = 1
),

first_follower_replies AS (
    SELECT
        questions.tweet_id,
        replies.author_id,
        min(replies.created_at) AS first_reply_at
    FROM questions
    INNER JOIN question_replies AS replies
        ON replies.conversation_id = questions.conversation_id
        AND replies.created_at >= questions.posted_at
        AND replies.created_at < questions.posted_at + INTERVAL 24 HOUR
    INNER JOIN core.follow_edges
        ON follow_edges.account_id = $account_id
        AND follow_edges.direction = 'follower'
        AND follow_edges.user_id = replies.author_id
        AND follow_edges.valid_from <= questions.audience_snapshot_date
        AND coalesce(follow_edges.valid_to, DATE '9999-12-31') > questions.audience_snapshot_date
    WHERE replies.author_id <> $account_id
    GROUP BY questions.tweet_id, replies.author_id
),

hours AS (
    SELECT unnest(range(1, 25)) AS hour
),

curve AS (
    SELECT
        questions.tweet_id,
        hours.hour,
        count(first_follower_replies.author_id) AS follower_repliers
    FROM questions
    CROSS JOIN hours
    LEFT JOIN first_follower_replies
        ON first_follower_replies.tweet_id = questions.tweet_id
        AND first_follower_replies.first_reply_at
            < questions.posted_at + hours.hour * INTERVAL 1 HOUR
    GROUP BY questions.tweet_id, hours.hour
)

SELECT
    CAST($account_id AS BIGINT) AS account_id,
    questions.tweet_id,
    questions.conversation_id,
    questions.posted_at,
    CAST(curve.hour AS INTEGER) AS hour,
    CAST(curve.follower_repliers AS BIGINT) AS follower_repliers,
    CAST(curve.follower_repliers / nullif(questions.audience, 0) AS DOUBLE) AS response_rate,
    questions.status
FROM questions
INNER JOIN curve ON curve.tweet_id = questions.tweet_id
