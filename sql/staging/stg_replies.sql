-- model: staging.stg_replies
-- materialized: view
-- grain: one row per tracked account and reply in its conversations
-- definition: Replies in the account's conversations, deduplicated across the extract dates that
--   returned them (the latest extract wins). The account's own replies are included; the marts
--   leave them out where the definition says "not A".
-- column account_id: The tracked account's X id.
-- column reply_id: The reply's X id.
-- column conversation_id: The conversation (thread) the reply belongs to.
-- column author_id: The reply's author.
-- column created_at: When the reply was posted (UTC).
SELECT
    account_id,
    reply_id,
    conversation_id,
    author_id,
    created_at
FROM raw.replies
QUALIFY row_number() OVER (PARTITION BY account_id, reply_id ORDER BY snapshot_date DESC) = 1
