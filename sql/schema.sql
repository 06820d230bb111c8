CREATE SCHEMA IF NOT EXISTS staging;
-- Tables the loader writes. Models under staging/, core/ and marts/ are built by the runner.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS mart;
CREATE SCHEMA IF NOT EXISTS meta;
CREATE SCHEMA IF NOT EXISTS truth;

-- The lists and profiles: one table per (account, date) in schema raw_days, behind the views
-- raw.follower_snapshot, raw.following_snapshot and raw.users (pipeline/partitions.py), so that a
-- date leaving the raw window is dropped, not deleted. Each view reads every partition, which has
-- the columns of the base table below, and the base: rows kept or restored outside partitions.
CREATE SCHEMA IF NOT EXISTS raw_days;
CREATE TABLE IF NOT EXISTS raw_days.follower_snapshot (
    account_id BIGINT NOT NULL,
    snapshot_date DATE NOT NULL,
    user_id BIGINT NOT NULL
);
CREATE VIEW IF NOT EXISTS raw.follower_snapshot AS
SELECT account_id, snapshot_date, user_id FROM raw_days.follower_snapshot;
COMMENT ON VIEW raw.follower_snapshot IS 'One row per account, snapshot date and follower, as extracted: complete lists of the last raw_retention_days days (and of dates loaded since the last transform). An older list is in core.follow_edges: the follower intervals alive on its date.';

CREATE TABLE IF NOT EXISTS raw_days.following_snapshot (
    account_id BIGINT NOT NULL,
    snapshot_date DATE NOT NULL,
    user_id BIGINT NOT NULL
);
CREATE VIEW IF NOT EXISTS raw.following_snapshot AS
SELECT account_id, snapshot_date, user_id FROM raw_days.following_snapshot;
COMMENT ON VIEW raw.following_snapshot IS 'One row per account, snapshot date and followed account, as extracted: complete lists of the last raw_retention_days days (and of dates loaded since the last transform). An older list is in core.follow_edges: the following intervals alive on its date.';

-- Its base holds the old profiles that compaction keeps, once settled (until then each dropped
-- date's are in a kept table of their own), and those a rerun or backfill restores
-- (pipeline/partitions.py, pipeline/retention.py).
CREATE TABLE IF NOT EXISTS raw_days.users (
    account_id BIGINT NOT NULL,
    observed_on DATE NOT NULL,
    user_id BIGINT NOT NULL,
    username VARCHAR,
    created_at TIMESTAMP,
    followers_count BIGINT,
    following_count BIGINT,
    tweet_count BIGINT,
    default_avatar BOOLEAN,
    description VARCHAR,
    protected BOOLEAN,
    verified BOOLEAN,
    status VARCHAR
);
CREATE VIEW IF NOT EXISTS raw.users AS
SELECT account_id, observed_on, user_id, username, created_at, followers_count, following_count,
       tweet_count, default_avatar, description, protected, verified, status
FROM raw_days.users;
COMMENT ON VIEW raw.users IS 'One row per tracked account, date and user profile seen in that day''s extract (followers, following, repliers and the account itself), for the last raw_retention_days days. Of older days: each user''s latest profile, and of each follow of at most churn_window_days the first and the last profile with counts seen during it (mart.churners reads them). Timestamps are UTC.';

CREATE TABLE IF NOT EXISTS raw.tweets (
    account_id BIGINT NOT NULL,
    snapshot_date DATE NOT NULL,
    tweet_id BIGINT NOT NULL,
    author_id BIGINT,
    created_at TIMESTAMP,
    text VARCHAR,
    conversation_id BIGINT,
    in_reply_to_user_id BIGINT,
    referenced_type VARCHAR,
    like_count BIGINT,
    retweet_count BIGINT,
    reply_count BIGINT
);
COMMENT ON TABLE raw.tweets IS 'One row per tracked account''s own tweet per extract date that returned it. Timestamps are UTC.';

CREATE TABLE IF NOT EXISTS raw.replies (
    account_id BIGINT NOT NULL,
    snapshot_date DATE NOT NULL,
    reply_id BIGINT NOT NULL,
    conversation_id BIGINT,
    in_reply_to_tweet_id BIGINT,
    author_id BIGINT,
    created_at TIMESTAMP,
    text VARCHAR
);
COMMENT ON TABLE raw.replies IS 'One row per reply in a tracked account''s conversations per extract date that returned it (the same reply may be fetched on several dates). Timestamps are UTC.';

CREATE TABLE IF NOT EXISTS meta.accounts (
    account_id BIGINT PRIMARY KEY,
    handle VARCHAR NOT NULL,
    source VARCHAR NOT NULL
);
COMMENT ON TABLE meta.accounts IS 'One row per tracked account: its X id, handle and source.';

CREATE TABLE IF NOT EXISTS meta.snapshots (
    account_id BIGINT NOT NULL,
    snapshot_date DATE NOT NULL,
    kind VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    row_count BIGINT NOT NULL,
    expected_count BIGINT,
    status VARCHAR NOT NULL,
    extracted_at TIMESTAMP,
    fetched_at TIMESTAMP,
    loaded_at TIMESTAMP NOT NULL,
    requests BIGINT,
    resources BIGINT,
    cost_usd DOUBLE,
    PRIMARY KEY (account_id, snapshot_date, kind)
);
COMMENT ON TABLE meta.snapshots IS 'One row per account, date and landing kind loaded: counts, extract cost, and status (complete, incomplete or quarantined). Only complete followers/following snapshots feed core.follow_edges.';

CREATE TABLE IF NOT EXISTS meta.pending_transform (
    account_id BIGINT PRIMARY KEY,
    dirty_from DATE NOT NULL
);
COMMENT ON TABLE meta.pending_transform IS 'Per account, the earliest date loaded since the last transform: the transform rebuilds from there.';

CREATE TABLE IF NOT EXISTS meta.raw_compaction (
    account_id BIGINT PRIMARY KEY,
    horizon DATE NOT NULL,
    churn_window_days INTEGER NOT NULL
);
COMMENT ON TABLE meta.raw_compaction IS 'Per account, the horizon (the last date outside the raw window) and the churn window of the last raw compaction. The next compaction judges again only the old profiles whose need can have changed since; without a row, or after a change of churn window, it judges them all.';

CREATE TABLE IF NOT EXISTS meta.replaced_conversations (
    account_id BIGINT NOT NULL,
    conversation_id BIGINT NOT NULL,
    PRIMARY KEY (account_id, conversation_id)
);
COMMENT ON TABLE meta.replaced_conversations IS 'Per account, the conversations of tweets and replies that a load replaced since the last transform (a re-extract of a date may no longer return them): the question marts recompute those questions, then the transform clears the rows.';

CREATE TABLE IF NOT EXISTS meta.question_overrides (
    account_id BIGINT NOT NULL,
    tweet_id VARCHAR NOT NULL,
    is_question BOOLEAN,
    PRIMARY KEY (account_id, tweet_id)
);
COMMENT ON TABLE meta.question_overrides IS 'Per account, the tweets the accounts file names under questions: (true = a question, false = not), written at each load. NULL = named before but no longer: auto-detection decides again, and the question marts recompute it.';

CREATE TABLE IF NOT EXISTS truth.users (
    account_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    population VARCHAR NOT NULL
);
COMMENT ON TABLE truth.users IS 'Simulated source only: the planted population of every user seen (organic, followback, churner, bot, inactive). Not an analyst table.';

CREATE TABLE IF NOT EXISTS truth.churn_episodes (
    account_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    followed_on DATE NOT NULL,
    unfollowed_on DATE NOT NULL
);
COMMENT ON TABLE truth.churn_episodes IS 'Simulated source only: every planted follow churner episode (followed, was not followed back, unfollowed).';

-- Built by sql/core/follow_edges.sql; declared here because that model reads its own past rows.
CREATE TABLE IF NOT EXISTS core.follow_edges (
    account_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    direction VARCHAR NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE
);

-- How a followers/following list was read: 'full' = every page (a reconciled day),
-- 'incremental' = the newest pages on top of the previous snapshot (full_scan: incremental).
ALTER TABLE meta.snapshots ADD COLUMN IF NOT EXISTS scan VARCHAR;
COMMENT ON COLUMN meta.snapshots.scan IS 'followers/following only: full = every page was read that day (a reconciled day: gains and losses are both observed); incremental = the newest pages were read on top of the previous snapshot, so the day can show new followers but never an unfollow (losses surface on the next full day). NULL for other kinds.';

CREATE TABLE IF NOT EXISTS meta.validation_results (
    suite VARCHAR NOT NULL,
    batch VARCHAR NOT NULL,
    account_id BIGINT NOT NULL,
    snapshot_date DATE,
    success BOOLEAN NOT NULL,
    evaluated_expectations INTEGER NOT NULL,
    failed_expectations JSON NOT NULL,
    validated_at TIMESTAMP NOT NULL,
    data_docs VARCHAR,
    PRIMARY KEY (suite, batch, validated_at)
);
COMMENT ON TABLE meta.validation_results IS 'One row per validation run of a batch: a landing partition (suite = its kind), the cross-day guard of a list (suite cross_day_guard) or an account''s mart (suite mart_*; snapshot_date NULL). failed_expectations lists each failed expectation with its arguments and observed values; data_docs is the GX Data Docs page of the run. Every run is kept, so a quarantined day re-extracted later shows both.';
