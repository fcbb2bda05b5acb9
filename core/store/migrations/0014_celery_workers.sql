-- Celery workers as the coordinator last saw them (core/subagents/celery_monitor.py): Celery's
-- own inspection (active_queues, active, stats) written here so the Sub-agents pane and
-- `controlroom metrics` read one store. Units they ran are assignments rows whose subagent is
-- the worker's name, so done/failed come from there.
CREATE TABLE celery_workers (
    name        TEXT PRIMARY KEY,               -- Celery's hostname: NAME@HOST
    host        TEXT NOT NULL,
    queues      TEXT NOT NULL,                  -- comma-separated queue names
    active      INTEGER NOT NULL DEFAULT 0,     -- units running there when last seen
    processed   INTEGER NOT NULL DEFAULT 0,     -- units it received since it started (stats)
    concurrency INTEGER,
    pid         INTEGER,
    status      TEXT NOT NULL DEFAULT 'live' CHECK (status IN ('live', 'gone')),
    first_seen  REAL NOT NULL,
    last_seen   REAL NOT NULL                   -- its last answer: the heartbeat shown
);
