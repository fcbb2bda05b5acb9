-- SLA monitoring: raw check results, hourly and daily rollups, alert state, alerts, webhook
-- deliveries, heartbeat pings and the monitor's own runs (so gaps read as "no data").
CREATE TABLE sla_results (
    id             INTEGER PRIMARY KEY,
    check_name     TEXT NOT NULL,
    at             REAL NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('ok', 'violated', 'error', 'timeout', 'overran')),
    ok             INTEGER,                 -- 1 met, 0 violated, NULL not a measurement (overran)
    value          REAL,
    threshold      REAL,
    duration_s     REAL NOT NULL DEFAULT 0,
    message        TEXT NOT NULL DEFAULT '',
    in_maintenance INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sla_results_check_at ON sla_results (check_name, at);
CREATE INDEX sla_results_at ON sla_results (at);

-- One row per check and bucket (bucket = start of the UTC hour or UTC day, epoch seconds).
-- count/violations exclude samples taken in maintenance (counted in maint_count).
CREATE TABLE sla_rollups_hourly (
    check_name  TEXT NOT NULL,
    bucket      INTEGER NOT NULL,
    count       INTEGER NOT NULL DEFAULT 0,
    violations  INTEGER NOT NULL DEFAULT 0,
    maint_count INTEGER NOT NULL DEFAULT 0,
    value_count INTEGER NOT NULL DEFAULT 0,
    value_sum   REAL NOT NULL DEFAULT 0,
    value_min   REAL,
    value_max   REAL,
    PRIMARY KEY (check_name, bucket)
) WITHOUT ROWID;
-- Covering: the heatmap reads a range of buckets for every check without touching the table.
CREATE INDEX sla_rollups_hourly_bucket ON sla_rollups_hourly (bucket, check_name, count, violations);

CREATE TABLE sla_rollups_daily (
    check_name  TEXT NOT NULL,
    bucket      INTEGER NOT NULL,
    count       INTEGER NOT NULL DEFAULT 0,
    violations  INTEGER NOT NULL DEFAULT 0,
    maint_count INTEGER NOT NULL DEFAULT 0,
    value_count INTEGER NOT NULL DEFAULT 0,
    value_sum   REAL NOT NULL DEFAULT 0,
    value_min   REAL,
    value_max   REAL,
    PRIMARY KEY (check_name, bucket)
) WITHOUT ROWID;
CREATE INDEX sla_rollups_daily_bucket ON sla_rollups_daily (bucket, check_name, count, violations);

-- One row per check: its latest result and its alert state machine.
CREATE TABLE sla_check_state (
    check_name            TEXT PRIMARY KEY,
    last_at               REAL,
    last_status           TEXT,
    last_value            REAL,
    last_threshold        REAL,
    last_message          TEXT,
    state                 TEXT NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'violated')),
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    consecutive_successes INTEGER NOT NULL DEFAULT 0,
    since                 REAL,
    notified              INTEGER NOT NULL DEFAULT 0,
    last_notified_at      REAL,
    acked_at              REAL,
    acked_by              TEXT
);

-- Every notice sent (or muted): the TUI's alert list and the webhook's source.
CREATE TABLE sla_alerts (
    id         INTEGER PRIMARY KEY,
    at         REAL NOT NULL,
    check_name TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('violated', 'reminder', 'resolved', 'acknowledged')),
    severity   TEXT NOT NULL,
    message    TEXT NOT NULL,
    value      REAL,
    threshold  REAL
);
CREATE INDEX sla_alerts_at ON sla_alerts (at DESC);
CREATE INDEX sla_alerts_check ON sla_alerts (check_name, id);

CREATE TABLE sla_webhook_deliveries (
    id          INTEGER PRIMARY KEY,
    alert_id    INTEGER REFERENCES sla_alerts (id) ON DELETE CASCADE,
    at          REAL NOT NULL,
    attempts    INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('sent', 'failed')),
    http_status INTEGER,
    error       TEXT
);
CREATE INDEX sla_webhook_deliveries_alert ON sla_webhook_deliveries (alert_id);

CREATE TABLE sla_heartbeats (
    check_name TEXT PRIMARY KEY,
    last_ping  REAL NOT NULL,
    pings      INTEGER NOT NULL DEFAULT 1,
    note       TEXT
);

-- When the monitor ran: a gap between runs is "no data", never a violation.
CREATE TABLE sla_monitor_runs (
    id         INTEGER PRIMARY KEY,
    mode       TEXT NOT NULL CHECK (mode IN ('service', 'once')),
    pid        INTEGER NOT NULL,
    started_at REAL NOT NULL,
    last_beat  REAL NOT NULL,
    stopped_at REAL
);
CREATE INDEX sla_monitor_runs_beat ON sla_monitor_runs (last_beat);
