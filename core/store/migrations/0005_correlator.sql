-- The live data correlator: per-commit baselines and deltas, alert history, the prediction model
-- by file pattern, and the runtime's recent samples (the TUI's sparkline).
CREATE TABLE correlator_commits (
    commit_sha      TEXT PRIMARY KEY,
    files_json      TEXT NOT NULL DEFAULT '[]',
    baseline_at     REAL NOT NULL,
    before_json     TEXT NOT NULL,
    measured_at     REAL,
    after_json      TEXT,
    delta_json      TEXT,
    impact          TEXT CHECK (impact IN ('none', 'low', 'medium', 'high', 'critical')),
    within_noise    INTEGER NOT NULL DEFAULT 0,
    summary         TEXT NOT NULL DEFAULT '',
    reasons_json    TEXT NOT NULL DEFAULT '[]',
    alert_triggered INTEGER NOT NULL DEFAULT 0,
    learned         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX correlator_commits_measured ON correlator_commits (measured_at DESC);

CREATE TABLE correlator_alerts (
    id          INTEGER PRIMARY KEY,
    commit_sha  TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('high', 'critical')),
    reason      TEXT NOT NULL,
    at          REAL NOT NULL,
    notified    INTEGER NOT NULL DEFAULT 0,
    notified_at REAL
);
CREATE INDEX correlator_alerts_at ON correlator_alerts (at DESC);

CREATE TABLE correlator_predictions (
    pattern          TEXT PRIMARY KEY,
    cpu_avg          REAL NOT NULL DEFAULT 0,
    memory_avg       REAL NOT NULL DEFAULT 0,
    response_avg_ms  REAL,
    samples          INTEGER NOT NULL DEFAULT 0,
    response_samples INTEGER NOT NULL DEFAULT 0,
    updated_at       REAL NOT NULL
);

CREATE TABLE correlator_samples (
    id             INTEGER PRIMARY KEY,
    at             REAL NOT NULL,
    cpu_percent    REAL,
    memory_percent REAL,
    disk_percent   REAL,
    load_1m        REAL
);
CREATE INDEX correlator_samples_at ON correlator_samples (at DESC);
