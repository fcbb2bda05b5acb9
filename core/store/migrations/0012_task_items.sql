-- Grouped nitpicks (core/grouping.py): one task lists many low/info findings of one agent and
-- rule in one folder of one commit. Each item keeps its own fingerprint; it is "gone" once an
-- analysis of the present no longer finds it, and the group resolves when every item is gone.
CREATE TABLE task_items (
    fingerprint TEXT PRIMARY KEY,          -- the item's own fingerprint (core/convergence.py)
    task_id     INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    path        TEXT NOT NULL,
    line        INTEGER NOT NULL,
    symbol      TEXT,
    state       TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'gone')),
    gone_commit TEXT
);
CREATE INDEX task_items_task ON task_items (task_id, state);
CREATE INDEX task_items_path ON task_items (path);
