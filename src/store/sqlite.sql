-- bridgecast schema, SQLite. Times are integer milliseconds since the Unix epoch.
CREATE TABLE IF NOT EXISTS translations (
    article_id   TEXT    NOT NULL,
    locale       TEXT    NOT NULL,
    channel      TEXT    NOT NULL,
    slug         TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    summary      TEXT    NOT NULL,
    body_html    TEXT    NOT NULL,
    topics       TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    published_at BIGINT  NOT NULL,
    updated_at   BIGINT,
    retracted_at BIGINT,
    correction   TEXT,
    image        TEXT,
    source       TEXT    NOT NULL,
    source_hash  TEXT    NOT NULL,
    live_at      BIGINT,
    PRIMARY KEY (article_id, locale)
);
CREATE INDEX IF NOT EXISTS translations_channel ON translations (channel, slug);
CREATE INDEX IF NOT EXISTS translations_due ON translations (published_at) WHERE live_at IS NULL;
-- The newest live time (digest planning) and what went live in a window.
CREATE INDEX IF NOT EXISTS translations_live ON translations (live_at);
-- What a content sync compares (covering: the sync never reads article bodies).
CREATE INDEX IF NOT EXISTS translations_source ON translations (source, article_id, locale, source_hash);

CREATE TABLE IF NOT EXISTS jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    attempts    BIGINT  NOT NULL DEFAULT 0,
    run_at      BIGINT  NOT NULL,
    lease_until BIGINT,
    worker      TEXT,
    dirty       BIGINT  NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    finished_at BIGINT
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, run_at);

CREATE TABLE IF NOT EXISTS documents (
    path          TEXT   PRIMARY KEY,
    channel       TEXT   NOT NULL,
    locale        TEXT   NOT NULL,
    content_type  TEXT   NOT NULL,
    etag          TEXT   NOT NULL,
    last_modified BIGINT NOT NULL,
    built_at      BIGINT NOT NULL,
    body          BLOB   NOT NULL,
    gzip          BLOB   NOT NULL,
    br            BLOB   NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_built ON documents (built_at);

-- Bumped in every transaction that changes translations, so a process can tell cheaply
-- whether its in-memory copy is current.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('translations_version', 0) ON CONFLICT (key) DO NOTHING;

-- One row per social post job: what was sent and what the platform answered.
CREATE TABLE IF NOT EXISTS social_posts (
    job_key    TEXT   PRIMARY KEY,
    article_id TEXT   NOT NULL,
    locale     TEXT   NOT NULL,
    account    TEXT   NOT NULL,
    platform   TEXT   NOT NULL,
    state      TEXT   NOT NULL,
    text       TEXT   NOT NULL,
    remote_id  TEXT,
    remote_url TEXT,
    last_error TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS social_posts_article ON social_posts (article_id);

-- Email audience. Addresses are stored normalised (IDN domains punycoded, domain
-- lowercased). `handle` is the random public handle links carry (never the id).
-- `since`: digests include what went live after it; `next_due`: the next daily or
-- weekly digest time; `planned`: for instant digests, the newest live time already
-- given to a digest job.
CREATE TABLE IF NOT EXISTS subscribers (
    id           TEXT   PRIMARY KEY,
    handle       TEXT   NOT NULL UNIQUE,
    email        TEXT   NOT NULL UNIQUE,
    name         TEXT,
    locale       TEXT   NOT NULL,
    channels     TEXT   NOT NULL,
    topics       TEXT   NOT NULL,
    frequency    TEXT   NOT NULL,
    time_zone    TEXT   NOT NULL,
    hour         BIGINT NOT NULL,
    weekday      BIGINT NOT NULL,
    state        TEXT   NOT NULL,
    since        BIGINT NOT NULL,
    next_due     BIGINT,
    planned      BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    confirmed_at BIGINT,
    ended_at     BIGINT
);
CREATE INDEX IF NOT EXISTS subscribers_due ON subscribers (state, next_due);

-- What a person agreed to, when, from where, on which version of the text.
CREATE TABLE IF NOT EXISTS consents (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber_id TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    at            BIGINT  NOT NULL,
    ip            TEXT,
    page_locale   TEXT,
    text_version  TEXT
);
CREATE INDEX IF NOT EXISTS consents_subscriber ON consents (subscriber_id);

CREATE TABLE IF NOT EXISTS organisations (
    id            TEXT   PRIMARY KEY,
    names         TEXT   NOT NULL,
    country       TEXT   NOT NULL,
    city          TEXT   NOT NULL,
    partner_since TEXT,
    channels      TEXT   NOT NULL,
    topics        TEXT   NOT NULL,
    frequency     TEXT   NOT NULL,
    time_zone     TEXT   NOT NULL,
    hour          BIGINT NOT NULL,
    weekday       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS contacts (
    id         TEXT   PRIMARY KEY,
    handle     TEXT   NOT NULL UNIQUE,
    org_id     TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    email      TEXT   NOT NULL,
    locale     TEXT   NOT NULL,
    role       TEXT   NOT NULL,
    state      TEXT   NOT NULL,
    since      BIGINT NOT NULL,
    next_due   BIGINT,
    planned    BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, email)
);
CREATE INDEX IF NOT EXISTS contacts_due ON contacts (state, next_due);

-- Addresses nothing is sent to any more (hard bounce, complaint, operator).
CREATE TABLE IF NOT EXISTS suppressions (
    email  TEXT   PRIMARY KEY,
    reason TEXT   NOT NULL,
    detail TEXT,
    at     BIGINT NOT NULL
);

-- One row per email job: what was (or is being) sent to whom and what came back.
CREATE TABLE IF NOT EXISTS deliveries (
    job_key    TEXT   PRIMARY KEY,
    recipient  TEXT   NOT NULL,
    email      TEXT   NOT NULL,
    locale     TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    period     TEXT   NOT NULL,
    state      TEXT   NOT NULL,
    message_id TEXT,
    articles   TEXT   NOT NULL,
    reply      TEXT,
    last_error TEXT,
    attempts   BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_recipient ON deliveries (recipient);
CREATE INDEX IF NOT EXISTS deliveries_updated ON deliveries (updated_at);
CREATE INDEX IF NOT EXISTS deliveries_message ON deliveries (message_id);

-- Sliding-window counters for rate limits that must hold across replicas.
CREATE TABLE IF NOT EXISTS rate_events (
    bucket TEXT   NOT NULL,
    at     BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_events_bucket ON rate_events (bucket, at);
-- Admin API bearer tokens: only a SHA-256 of the secret is kept; `id` is the public
-- part of the token, so a request costs one lookup and one constant-time comparison.
CREATE TABLE IF NOT EXISTS api_tokens (
    id           TEXT   PRIMARY KEY,
    name         TEXT   NOT NULL,
    hash         TEXT   NOT NULL,
    scopes       TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

-- Upstream feeds polled by `poll_ingest`: validators for conditional GET, when the next
-- poll may happen (Retry-After, Cache-Control max-age) and how the last one went.
CREATE TABLE IF NOT EXISTS ingest_sources (
    url            TEXT   PRIMARY KEY,
    channel        TEXT   NOT NULL,
    locale         TEXT   NOT NULL,
    etag           TEXT,
    last_modified  TEXT,
    next_poll_at   BIGINT NOT NULL DEFAULT 0,
    last_polled_at BIGINT,
    last_status    TEXT,
    last_error     TEXT,
    failures       BIGINT NOT NULL DEFAULT 0,
    downloads      BIGINT NOT NULL DEFAULT 0,
    not_modified   BIGINT NOT NULL DEFAULT 0
);

-- Each upstream item seen, by its guid/id (else its link), with the article it became
-- and a hash of its content: a changed hash is a correction, not a new article.
CREATE TABLE IF NOT EXISTS ingest_items (
    source_url   TEXT   NOT NULL,
    item_key     TEXT   NOT NULL,
    article_id   TEXT   NOT NULL,
    locale       TEXT   NOT NULL,
    content_hash TEXT   NOT NULL,
    seen_at      BIGINT NOT NULL,
    PRIMARY KEY (source_url, item_key)
);
