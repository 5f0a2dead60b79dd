-- Scheduling core: accounts, clubs, sessions and their occurrences (SQLite).
-- Identifiers are 16-byte BLOBs (sqlx binds Uuid that way); times are RFC 3339 TEXT in UTC.

CREATE TABLE structures (
    id            BLOB PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    city          TEXT NOT NULL,
    contact_email TEXT,
    created_at    TEXT NOT NULL
);

CREATE TABLE clubs (
    id                  BLOB PRIMARY KEY NOT NULL,
    name                TEXT NOT NULL,
    address             TEXT NOT NULL,
    postal_code         TEXT NOT NULL,
    city                TEXT NOT NULL,
    city_key            TEXT NOT NULL,
    sports              TEXT NOT NULL DEFAULT '[]',
    latitude            REAL,
    longitude           REAL,
    contact_email       TEXT,
    contact_phone       TEXT,
    accessibility_notes TEXT,
    partnership_status  TEXT NOT NULL CHECK (partnership_status IN ('prospect', 'active', 'paused', 'ended')),
    partnership_since   TEXT,
    partnership_until   TEXT,
    partnership_notes   TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX clubs_by_name ON clubs (name, id);
CREATE INDEX clubs_by_city ON clubs (city_key);

CREATE TABLE club_sports (
    club_id  BLOB NOT NULL REFERENCES clubs (id) ON DELETE CASCADE,
    sport    TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (club_id, sport)
);
CREATE INDEX club_sports_by_sport ON club_sports (sport, club_id);

CREATE TABLE users (
    id               BLOB PRIMARY KEY NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('admin', 'club_manager', 'social_worker')),
    name             TEXT NOT NULL,
    email            TEXT NOT NULL,
    club_id          BLOB REFERENCES clubs (id),
    structure_id     BLOB REFERENCES structures (id),
    token_hash       TEXT NOT NULL UNIQUE,
    disabled         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TEXT NOT NULL,
    token_rotated_at TEXT NOT NULL,
    CHECK ((role = 'admin' AND club_id IS NULL AND structure_id IS NULL)
        OR (role = 'club_manager' AND club_id IS NOT NULL AND structure_id IS NULL)
        OR (role = 'social_worker' AND structure_id IS NOT NULL AND club_id IS NULL))
);
CREATE UNIQUE INDEX users_by_email ON users (lower(email));

CREATE TABLE sessions (
    id                             BLOB PRIMARY KEY NOT NULL,
    club_id                        BLOB NOT NULL REFERENCES clubs (id),
    title                          TEXT NOT NULL,
    sport                          TEXT NOT NULL,
    description                    TEXT,
    level                          TEXT,
    location                       TEXT,
    timezone                       TEXT NOT NULL,
    start_local                    TEXT NOT NULL,
    duration_minutes               INTEGER NOT NULL,
    rrule                          TEXT,
    exdates                        TEXT NOT NULL DEFAULT '[]',
    capacity                       INTEGER NOT NULL,
    status                         TEXT NOT NULL CHECK (status IN ('draft', 'published', 'cancelled')),
    what_to_bring                  TEXT,
    coach_name                     TEXT,
    reminder_hours_before          INTEGER NOT NULL,
    enrollment_closes_hours_before INTEGER NOT NULL,
    sequence                       INTEGER NOT NULL DEFAULT 0,
    -- Occurrences are materialised up to here (see the occurrences table).
    materialized_until             TEXT NOT NULL,
    created_at                     TEXT NOT NULL,
    updated_at                     TEXT NOT NULL
);
CREATE INDEX sessions_by_club ON sessions (club_id, created_at);

-- A change to one occurrence, by key; the rule stays the source of truth.
CREATE TABLE occurrence_overrides (
    session_id       BLOB NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    occurrence_key   TEXT NOT NULL,
    cancelled        BOOLEAN NOT NULL DEFAULT FALSE,
    start_at         TEXT,
    duration_minutes INTEGER,
    capacity         INTEGER,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (session_id, occurrence_key)
);

-- Occurrences materialised from the rule and its overrides over a rolling horizon, for
-- the cross-club search. Rewritten whenever the session or an override changes.
CREATE TABLE occurrences (
    session_id     BLOB NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    occurrence_key TEXT NOT NULL,
    start_at       TEXT NOT NULL,
    end_at         TEXT NOT NULL,
    status         TEXT NOT NULL,
    capacity       INTEGER NOT NULL,
    club_id        BLOB NOT NULL,
    sport          TEXT NOT NULL,
    city_key       TEXT NOT NULL,
    listed         BOOLEAN NOT NULL,
    PRIMARY KEY (session_id, occurrence_key)
);
CREATE INDEX occurrences_search ON occurrences (start_at, session_id, occurrence_key) WHERE listed;

