-- Sub-agents (worker processes), the assignments they take, and idle-time hobby sweeps.
CREATE TABLE subagents (
    name               TEXT PRIMARY KEY,
    pid                INTEGER NOT NULL,
    host               TEXT NOT NULL DEFAULT '',
    capabilities       TEXT NOT NULL,              -- comma-separated, e.g. "critic,docs,hobby"
    max_concurrent     INTEGER NOT NULL CHECK (max_concurrent > 0),
    status             TEXT NOT NULL CHECK (status IN ('live', 'draining', 'dead')),
    heartbeat_interval REAL NOT NULL,
    started_at         REAL NOT NULL,
    last_heartbeat     REAL NOT NULL,
    last_assigned_at   REAL NOT NULL DEFAULT 0,
    life               INTEGER NOT NULL DEFAULT 1  -- bumped each time the name registers again
);

-- One unit of work. ``lease`` changes every time the row is (re)assigned: a result is applied only
-- with the lease it was taken under, so a late answer from a worker declared dead is ignored.
CREATE TABLE assignments (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,                    -- "agent", "hobby", "probe"
    capability   TEXT NOT NULL,
    target       TEXT NOT NULL DEFAULT '',         -- "critic@1a2b3c4d5e", "doc_sweep@HEAD", ...
    payload_json TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'assigned', 'running', 'completed', 'failed')),
    subagent     TEXT,                             -- a worker's name, "local", or NULL while pending
    lease        INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    allow_local  INTEGER NOT NULL DEFAULT 1,
    created_at   REAL NOT NULL,
    assigned_at  REAL,
    started_at   REAL,
    finished_at  REAL,
    duration_s   REAL,
    result_json  TEXT,
    error        TEXT
);
CREATE INDEX assignments_open ON assignments (state, capability, id);
CREATE INDEX assignments_subagent ON assignments (subagent, state);

CREATE TABLE hobby_runs (
    id             INTEGER PRIMARY KEY,
    hobby          TEXT NOT NULL,
    commit_sha     TEXT NOT NULL,
    assignment_id  INTEGER REFERENCES assignments (id) ON DELETE SET NULL,
    started_at     REAL NOT NULL,
    finished_at    REAL NOT NULL,
    duration_s     REAL NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'timeout')),
    ran_on         TEXT NOT NULL DEFAULT 'local',
    findings_count INTEGER NOT NULL DEFAULT 0,
    error          TEXT,
    metrics_json   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX hobby_runs_hobby ON hobby_runs (hobby, finished_at DESC);

-- The history_index hobby: commit messages and changed paths, searchable.
CREATE TABLE history_index (
    sha          TEXT PRIMARY KEY,
    committed_at REAL NOT NULL,
    author       TEXT NOT NULL DEFAULT '',
    subject      TEXT NOT NULL DEFAULT '',
    paths        TEXT NOT NULL DEFAULT ''          -- newline-separated
);
CREATE INDEX history_index_time ON history_index (committed_at DESC);
