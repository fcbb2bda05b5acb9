-- The Queue pane as a daily driver: muted rules and paths, and the whole-tree baseline.
-- A mute hides the open tasks of a rule (or under a path) from the queue until it is lifted;
-- lifting sets removed_at, so the list of mutes is also their history. task_id: the row it was
-- muted from, whose learning vote (a reject's) the mute cast and its lifting takes back.
CREATE TABLE mutes (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('rule', 'path')),
    value      TEXT NOT NULL,
    created_at REAL NOT NULL,
    removed_at REAL,
    task_id    INTEGER REFERENCES tasks (id) ON DELETE SET NULL
);
CREATE INDEX mutes_active ON mutes (kind, value) WHERE removed_at IS NULL;

-- A baseline: one analysis of every tracked file at a commit (offered on a first open). Its tasks
-- are listed in baseline_tasks so the queue shows them after the work of new commits.
CREATE TABLE baseline_runs (
    id          INTEGER PRIMARY KEY,
    commit_sha  TEXT NOT NULL,
    started_at  REAL NOT NULL,
    finished_at REAL,
    files_total INTEGER NOT NULL DEFAULT 0,
    files_done  INTEGER NOT NULL DEFAULT 0,
    error       TEXT
);
CREATE TABLE baseline_tasks (
    task_id INTEGER PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    run_id  INTEGER NOT NULL REFERENCES baseline_runs (id)
);

-- Sorting the queue by file or rule, and grouping by them, without sorting every row.
CREATE INDEX tasks_path_line ON tasks (path, line);
CREATE INDEX tasks_rule ON tasks (rule, priority DESC);
