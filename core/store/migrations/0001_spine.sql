-- The spine: analyzed commits, agent runs, findings, the proactivity queue and its decision log.
CREATE TABLE commits (
    sha             TEXT PRIMARY KEY,
    parent          TEXT,
    subject         TEXT NOT NULL DEFAULT '',
    author          TEXT NOT NULL DEFAULT '',
    committed_at    REAL NOT NULL DEFAULT 0,
    analyzed_at     REAL NOT NULL,
    duration_s      REAL NOT NULL DEFAULT 0,
    agents_ok       INTEGER NOT NULL DEFAULT 0,
    agents_failed   INTEGER NOT NULL DEFAULT 0,
    findings_count  INTEGER NOT NULL DEFAULT 0,
    files_flagged   INTEGER NOT NULL DEFAULT 0,
    consensus_count INTEGER NOT NULL DEFAULT 0,
    critical_count  INTEGER NOT NULL DEFAULT 0,
    tasks_created   INTEGER NOT NULL DEFAULT 0,
    tasks_updated   INTEGER NOT NULL DEFAULT 0,
    tasks_resolved  INTEGER NOT NULL DEFAULT 0,
    skipped_json    TEXT NOT NULL DEFAULT '[]',
    metrics_json    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX commits_analyzed ON commits (analyzed_at DESC);

CREATE TABLE agent_runs (
    id             INTEGER PRIMARY KEY,
    commit_sha     TEXT NOT NULL REFERENCES commits (sha) ON DELETE CASCADE,
    agent          TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'timeout')),
    started_at     REAL NOT NULL,
    duration_s     REAL NOT NULL,
    findings_count INTEGER NOT NULL DEFAULT 0,
    error          TEXT,
    metrics_json   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX agent_runs_commit ON agent_runs (commit_sha);

CREATE TABLE tasks (
    id                INTEGER PRIMARY KEY,
    fingerprint       TEXT NOT NULL UNIQUE,
    state             TEXT NOT NULL CHECK (state IN
                        ('pending', 'approved', 'rejected', 'snoozed', 'applied', 'failed', 'resolved')),
    priority          INTEGER NOT NULL,
    confidence        REAL NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    confidence_reason TEXT NOT NULL DEFAULT '',
    severity          TEXT NOT NULL,
    rule              TEXT NOT NULL,
    path              TEXT NOT NULL,
    line              INTEGER NOT NULL,
    symbol            TEXT,
    message           TEXT NOT NULL,
    agents            TEXT NOT NULL DEFAULT '',
    suggested_fix     TEXT,
    first_seen_commit TEXT NOT NULL,
    last_seen_commit  TEXT NOT NULL,
    seen_count        INTEGER NOT NULL DEFAULT 1,
    created_at        REAL NOT NULL,
    updated_at        REAL NOT NULL,
    snoozed_until     REAL,
    resolved_commit   TEXT,
    reason            TEXT
);
CREATE INDEX tasks_order ON tasks (priority DESC, confidence DESC, id);
CREATE INDEX tasks_state ON tasks (state);

CREATE TABLE findings (
    id            INTEGER PRIMARY KEY,
    commit_sha    TEXT NOT NULL REFERENCES commits (sha) ON DELETE CASCADE,
    agent         TEXT NOT NULL,
    rule          TEXT NOT NULL,
    severity      TEXT NOT NULL,
    path          TEXT NOT NULL,
    line          INTEGER NOT NULL,
    end_line      INTEGER,
    symbol        TEXT,
    message       TEXT NOT NULL,
    snippet       TEXT NOT NULL DEFAULT '',
    suggested_fix TEXT,
    confidence    REAL NOT NULL,
    fingerprint   TEXT NOT NULL,
    task_id       INTEGER REFERENCES tasks (id) ON DELETE SET NULL,
    extra_json    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX findings_commit ON findings (commit_sha);
CREATE INDEX findings_task ON findings (task_id);
CREATE INDEX findings_fingerprint ON findings (fingerprint);

-- Append-only: every state change of a task, by whom and why.
CREATE TABLE decisions (
    id         INTEGER PRIMARY KEY,
    at         REAL NOT NULL,
    task_id    INTEGER NOT NULL REFERENCES tasks (id),
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    actor      TEXT NOT NULL,
    reason     TEXT,
    undoes     INTEGER REFERENCES decisions (id)
);
CREATE INDEX decisions_task ON decisions (task_id, id);
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'the decision log is append-only'); END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'the decision log is append-only'); END;

-- What was learned from past decisions: approvals and rejections per (agent, rule).
CREATE TABLE learned_weights (
    agent      TEXT NOT NULL,
    rule       TEXT NOT NULL,
    approved   INTEGER NOT NULL DEFAULT 0,
    rejected   INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (agent, rule)
);

CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    at           REAL NOT NULL,
    kind         TEXT NOT NULL,
    payload_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_kind ON events (kind, id);

CREATE TABLE agent_cache (
    agent      TEXT NOT NULL,
    key        TEXT NOT NULL,
    value_json TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (agent, key)
);
