-- model: staging.stg_tweets
-- materialized: view
-- grain: one row per tracked account and tweet of its own
-- definition: The account's tweets, deduplicated across the extract dates that returned them (the
--   latest extract wins), with what question detection needs. A tweet is an original when it is
--   neither a reply nor a retweet (a quote tweet counts as original). Auto-detection looks for a
--   '?' outside URLs, @mentions and #hashtags; configuration (accounts file, `questions:`) names
--   tweets explicitly and wins over auto-detection.
-- column account_id: The tracked account's X id.
-- column tweet_id: The tweet's X id.
-- column posted_at: When the tweet was posted (UTC).
-- column conversation_id: The tweet's conversation (thread) id; replies to it carry the same id.
-- column text: The tweet's text as last extracted.
-- column is_original: True when the tweet is not a reply, not a retweet and does not start with
--   'RT @'.
-- column has_question_mark: True when the text has a '?' outside URLs, @mentions and #hashtags.
-- column configured_question: True or false when the accounts file names the tweet under
--   `questions:`; NULL when it does not (auto-detection decides).
WITH latest_tweets AS (
    SELECT
        account_id,
        tweet_id,
        created_at,
        conversation_id,
        text,
        in_reply_to_user_id,
        referenced_type
    FROM raw.tweets
    QUALIFY row_number() OVER (
        PARTITION BY account_id, tweet_id ORDER BY snapshot_date DESC
    ) = 1
)

SELECT
    latest_tweets.account_id,
    latest_tweets.tweet_id,
    latest_tweets.created_at AS posted_at,
    coalesce(latest_tweets.conversation_id, latest_tweets.tweet_id) AS conversation_id,
    latest_tweets.text,
    coalesce(latest_tweets.referenced_type, 'quoted') = 'quoted'
        AND latest_tweets.in_reply_to_user_id IS NULL
        AND NOT starts_with(coalesce(latest_tweets.text, ''), 'RT @') AS is_original,
    contains(
        -- A URL ends before trailing '?'s: they ask ("thoughts on https://t.co/x?").
        regexp_replace(
            coalesce(latest_tweets.text, ''), '(https?://\S*[^\s?]|@\w+|#\w+)', '', 'g'
        ),
        '?'
    ) AS has_question_mark,
    question_overrides.is_question AS configured_question
FROM latest_tweets
LEFT JOIN meta.question_overrides
    ON question_overrides.account_id = latest_tweets.account_id
    AND question_overrides.tweet_id = CAST(latest_tweets.tweet_id AS VARCHAR)
