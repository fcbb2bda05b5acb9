-- The analysis engine: claims on (commit, agent) with a lease, sweep runs kept apart from commits,
-- and findings that say which detector produced them and whether an agent run or a sweep did.

-- One row per (commit, agent): 'running' while a process holds the lease, 'done' once its results
-- are stored. A claim whose lease ran out, or whose owner died on this host, is taken over.
CREATE TABLE analysis_claims (
    commit_sha  TEXT NOT NULL,
    agent       TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('running', 'done')),
    scope       TEXT NOT NULL DEFAULT 'changed' CHECK (scope IN ('changed', 'all')),
    owner       TEXT NOT NULL DEFAULT '',
    host        TEXT NOT NULL DEFAULT '',
    pid         INTEGER NOT NULL DEFAULT 0,
    claimed_at  REAL NOT NULL,
    lease_until REAL NOT NULL DEFAULT 0,
    finished_at REAL,
    PRIMARY KEY (commit_sha, agent)
);
INSERT INTO analysis_claims (commit_sha, agent, state, claimed_at, finished_at)
    SELECT commit_sha, agent, 'done', max(started_at), max(started_at)
    FROM agent_runs GROUP BY commit_sha, agent;

-- A hobby sweep's run: never a row of commits (that table holds analyzed commits only).
CREATE TABLE sweep_runs (
    id             INTEGER PRIMARY KEY,
    hobby          TEXT NOT NULL,
    commit_sha     TEXT NOT NULL,
    ran_at         REAL NOT NULL,
    status         TEXT NOT NULL,
    duration_s     REAL NOT NULL DEFAULT 0,
    findings_count INTEGER NOT NULL DEFAULT 0,
    tasks_created  INTEGER NOT NULL DEFAULT 0,
    tasks_updated  INTEGER NOT NULL DEFAULT 0,
    error          TEXT,
    metrics_json   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX sweep_runs_hobby ON sweep_runs (hobby, id);

-- findings: the evidence of the queue, from agent runs (commit_sha is an analyzed commit) or from
-- sweeps (commit_sha is the swept tree, with no commits row), each with its detector.
CREATE TABLE findings_v7 (
    id            INTEGER PRIMARY KEY,
    commit_sha    TEXT NOT NULL,
    source        TEXT NOT NULL DEFAULT 'agent' CHECK (source IN ('agent', 'sweep')),
    agent         TEXT NOT NULL,
    detector      TEXT NOT NULL DEFAULT '',
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
INSERT INTO findings_v7 (id, commit_sha, source, agent, rule, severity, path, line, end_line,
                         symbol, message, snippet, suggested_fix, confidence, fingerprint,
                         task_id, extra_json)
    SELECT id, commit_sha,
           CASE WHEN commit_sha IN (SELECT sha FROM commits WHERE subject LIKE '(hobby sweep %')
                     AND substr(agent, -6) = '_sweep' THEN 'sweep' ELSE 'agent' END,
           agent, rule, severity, path, line, end_line, symbol, message, snippet, suggested_fix,
           confidence, fingerprint, task_id, extra_json
    FROM findings;
DROP TABLE findings;
ALTER TABLE findings_v7 RENAME TO findings;
CREATE INDEX findings_commit ON findings (commit_sha);
CREATE INDEX findings_task ON findings (task_id);
CREATE INDEX findings_fingerprint ON findings (fingerprint, detector, agent);

-- Commit rows a sweep wrote (subject "(hobby sweep ...)", no agent run) were never analyzed.
DELETE FROM commits WHERE subject LIKE '(hobby sweep %'
    AND NOT EXISTS (SELECT 1 FROM agent_runs WHERE agent_runs.commit_sha = commits.sha);
