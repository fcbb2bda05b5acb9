-- Fix-strategy memory and failure knowledge base (docs/learning.md): every `apply` attempt, its
-- outcome and its failure parsed into a pattern; later reverts count against the strategy.
CREATE TABLE fix_attempts (
    id             INTEGER PRIMARY KEY,
    at             REAL NOT NULL,
    task_id        INTEGER NOT NULL,
    kind           TEXT NOT NULL,            -- agent:FAMILY of the task (critic:F, docs:D)
    rule           TEXT NOT NULL,
    path           TEXT NOT NULL,
    message        TEXT NOT NULL DEFAULT '',
    strategy       TEXT NOT NULL,
    agent          TEXT NOT NULL,
    model          TEXT,
    outcome        TEXT NOT NULL CHECK (outcome IN ('applied', 'failed')),
    duration_s     REAL NOT NULL,
    failure        TEXT,                     -- import-error, assertion, timeout, syntax-error, verification-failed
    failure_detail TEXT NOT NULL DEFAULT '', -- the module of an import error, the failing line
    summary        TEXT NOT NULL DEFAULT '',
    fix_commit     TEXT,
    changes_json   TEXT NOT NULL DEFAULT '[]', -- [{path, added: [...], removed: [...]}] of the fix
    landed_by      TEXT,                     -- the analyzed commit that brought the fix's lines in
    landed_share   REAL,                     -- the share of the fix's added lines it kept (< 1: edited)
    reverted_at    REAL,
    reverted_by    TEXT,                     -- the commit that reverted it
    revert_reason  TEXT
);
CREATE INDEX fix_attempts_rule ON fix_attempts (rule, strategy);
CREATE INDEX fix_attempts_open ON fix_attempts (outcome, reverted_at);
CREATE VIRTUAL TABLE fix_attempts_fts USING fts5(
    rule, kind, path, strategy, failure, text, tokenize = 'unicode61'
);  -- rowid = fix_attempts.id

-- Strategy records merged from other repositories (`controlroom learn import`).
CREATE TABLE strategy_imports (
    id        INTEGER PRIMARY KEY,
    import_id INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    rule      TEXT NOT NULL,
    strategy  TEXT NOT NULL,
    attempts  INTEGER NOT NULL,
    successes INTEGER NOT NULL,
    reverts   INTEGER NOT NULL,
    edited    INTEGER NOT NULL DEFAULT 0,  -- landed after a person edited it
    failures_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX strategy_imports_rule ON strategy_imports (rule, strategy);

-- Imports: where learned rules came from. Imported learning events carry origin = import id
-- (and task_id 0, so no undo of a local decision touches them).
CREATE TABLE learning_imports (
    id          INTEGER PRIMARY KEY,
    at          REAL NOT NULL,
    export_id   TEXT NOT NULL UNIQUE,
    source      TEXT NOT NULL,
    file        TEXT NOT NULL,
    hashed      INTEGER NOT NULL,
    events      INTEGER NOT NULL,
    strategies  INTEGER NOT NULL
);
ALTER TABLE learning_events ADD COLUMN origin INTEGER REFERENCES learning_imports (id);

-- Learned rules the operator deleted in the Learning view, kept for undo (one batch per delete).
CREATE TABLE learning_forgotten (
    batch   INTEGER NOT NULL,
    event_json TEXT NOT NULL
);
CREATE INDEX learning_forgotten_batch ON learning_forgotten (batch);

-- History search: commits, their hunks, findings and decisions, indexed as commits are analyzed.
CREATE TABLE history_docs (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('commit', 'hunk', 'finding', 'decision')),
    ref        TEXT NOT NULL,
    commit_sha TEXT,
    path       TEXT NOT NULL DEFAULT '',
    line       INTEGER,
    at         REAL NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL DEFAULT '',
    UNIQUE (kind, ref)
);
CREATE INDEX history_docs_commit ON history_docs (commit_sha, kind);
CREATE VIRTUAL TABLE history_fts USING fts5(
    title, path, body, content = 'history_docs', content_rowid = 'id', tokenize = 'unicode61'
);
CREATE TRIGGER history_docs_ai AFTER INSERT ON history_docs BEGIN
    INSERT INTO history_fts (rowid, title, path, body) VALUES (new.id, new.title, new.path, new.body);
END;
CREATE TRIGGER history_docs_ad AFTER DELETE ON history_docs BEGIN
    INSERT INTO history_fts (history_fts, rowid, title, path, body)
    VALUES ('delete', old.id, old.title, old.path, old.body);
END;
CREATE TABLE history_state (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
-- Commits analyzed before this migration: their subjects and findings (their hunks are not kept).
INSERT INTO history_docs (kind, ref, commit_sha, path, line, at, title, body)
SELECT 'commit', sha, sha, '', NULL, committed_at, subject, author FROM commits;
INSERT INTO history_docs (kind, ref, commit_sha, path, line, at, title, body)
SELECT 'finding', 'f' || f.id, f.commit_sha, f.path, f.line, c.committed_at,
       f.rule || ' ' || f.severity || ': ' || f.message,
       f.agent || char(10) || coalesce(f.symbol, '') || char(10) || f.snippet
FROM findings f JOIN commits c ON c.sha = f.commit_sha;
