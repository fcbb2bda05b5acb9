-- What the queue learns: one row per approve (+1) or reject (-1) decision, with the scopes of the
-- task it was made on (its rule, its file's directory, test code or not). Weights are computed at
-- read time with a half-life (docs/learning.md). Not append-only: undoing a decision deletes its
-- event in the undo's transaction (the decisions table stays the append-only record).
CREATE TABLE learning_events (
    id      INTEGER PRIMARY KEY,
    at      REAL NOT NULL,
    task_id INTEGER NOT NULL,
    rule    TEXT NOT NULL,
    agents  TEXT NOT NULL,
    dir     TEXT NOT NULL,
    test    INTEGER NOT NULL,
    vote    INTEGER NOT NULL CHECK (vote IN (-1, 1))
);
CREATE INDEX learning_events_rule ON learning_events (rule);
CREATE INDEX learning_events_task ON learning_events (task_id, vote);
