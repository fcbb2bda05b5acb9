"""``controlroom correlate``: baselines before a deploy, deltas after it, predictions, alerts."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from typing import TYPE_CHECKING, Any

from controlroom.core.workspace import Workspace, resolve_workspace
from controlroom.tui import arguments
from controlroom.tui.escape import terminal_safe

if (
    TYPE_CHECKING
):  # the correlator (psutil) is imported when a command runs, not to build the parser
    from controlroom.core.correlator import CorrelatorSettings, DeltaResult, Snapshot

LEVELS = ["low", "medium", "high", "critical"]


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "correlate", help="measure what a commit did to the running system"
    )
    actions = parser.add_subparsers(
        dest="correlate_command", metavar="ACTION", required=True, parser_class=type(parser)
    )
    sampling = argparse.ArgumentParser(add_help=False)
    sampling.add_argument(
        "--samples", type=arguments.count, metavar="N", help="readings per snapshot"
    )
    sampling.add_argument(
        "--interval", type=arguments.seconds, metavar="S", help="seconds between readings"
    )
    sampling.add_argument("--json", action="store_true", help="one JSON object on stdout")

    baseline = actions.add_parser(
        "baseline", parents=[common, sampling], help="measure now, before COMMIT is deployed"
    )
    baseline.add_argument("commit", nargs="?", default="HEAD", metavar="COMMIT")
    baseline.add_argument(
        "--if-enabled",
        action="store_true",
        help="do nothing unless correlator.baseline_on_commit is true (for the post-commit hook)",
    )
    baseline.set_defaults(handler=run_baseline)

    delta = actions.add_parser(
        "delta", parents=[common, sampling], help="measure after the deploy and score the change"
    )
    delta.add_argument("commit", nargs="?", default="HEAD", metavar="COMMIT")
    delta.add_argument(
        "--wait",
        type=arguments.seconds,
        metavar="SECONDS",
        help="settle time before measuring (default 60)",
    )
    delta.add_argument(
        "--fail-on", choices=LEVELS, metavar="LEVEL", help="exit 1 when the impact is this or worse"
    )
    delta.set_defaults(handler=run_delta)

    predict = actions.add_parser(
        "predict", parents=[common], help="predicted impact of changing FILE..."
    )
    predict.add_argument("files", nargs="+", metavar="FILE")
    predict.add_argument("--json", action="store_true", help="one JSON object on stdout")
    predict.set_defaults(handler=run_predict)

    alerts = actions.add_parser("alerts", parents=[common], help="the alert history, newest first")
    alerts.add_argument(
        "--limit", type=arguments.count, default=20, help="at most N alerts (default 20)"
    )
    alerts.add_argument("--json", action="store_true", help="one JSON object on stdout")
    alerts.set_defaults(handler=run_alerts)


def _workspace(args: argparse.Namespace) -> Workspace:
    return resolve_workspace(args.repo, args.db, args.config)


def _settings(args: argparse.Namespace, workspace: Workspace) -> CorrelatorSettings:
    from controlroom.core.correlator import CorrelatorSettings

    settings = CorrelatorSettings.from_config(workspace.config)
    changes: dict[str, Any] = {}
    if getattr(args, "samples", None) is not None:
        changes["samples"] = max(1, args.samples)
    if getattr(args, "interval", None) is not None:
        changes["sample_interval"] = max(0.0, args.interval)
    return dataclasses.replace(settings, **changes)


def _emit(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


# -- baseline ------------------------------------------------------------------------------------
def run_baseline(args: argparse.Namespace) -> int:
    return asyncio.run(_baseline(args))


async def _baseline(args: argparse.Namespace) -> int:
    from controlroom.core.correlator import Correlator
    from controlroom.core.gitmetrics import changed_files, resolve_ref

    workspace = _workspace(args)
    settings = _settings(args, workspace)
    if args.if_enabled and not settings.baseline_on_commit:
        if args.json:
            _emit({"skipped": "correlator.baseline_on_commit is false"})
        return 0
    sha = resolve_ref(workspace.repo_path, args.commit)
    files = changed_files(workspace.repo_path, sha)
    store = await workspace.open_store()
    try:
        baseline = await Correlator(store, settings).capture_baseline(sha, files)
    finally:
        await store.close()
    if args.json:
        _emit(baseline.to_dict())
        return 0
    snap = baseline.snapshot
    print(
        f"baseline for {sha[:12]} ({len(files)} file(s) changed): "
        f"{snap.samples} readings over {snap.duration_s:.1f} s"
    )
    _print_snapshot(snap)
    return 0


def _print_snapshot(snap: Snapshot) -> None:
    for name, stats in sorted(snap.metrics.items()):
        print(f"  {terminal_safe(name):<32} {stats.mean:>10.2f} ±{stats.spread:.2f}")


# -- delta ---------------------------------------------------------------------------------------
def run_delta(args: argparse.Namespace) -> int:
    return asyncio.run(_delta(args))


async def _delta(args: argparse.Namespace) -> int:
    from controlroom.core.correlator import Correlator, ImpactLevel
    from controlroom.core.gitmetrics import resolve_ref

    workspace = _workspace(args)
    settings = _settings(args, workspace)
    sha = resolve_ref(workspace.repo_path, args.commit)
    store = await workspace.open_store()
    try:
        result = await Correlator(store, settings).capture_delta(sha, wait=args.wait)
    finally:
        await store.close()
    if args.json:
        _emit(result.to_dict())
    else:
        _print_delta(result)
    if args.fail_on and result.impact.level.rank >= ImpactLevel(args.fail_on).rank:
        return 1
    return 0


def _print_delta(result: DeltaResult) -> None:
    print(f"impact of {result.commit[:12]}: {terminal_safe(result.impact.summary)}")
    print(f"  {'metric':<32} {'before':>16} {'after':>16} {'delta':>10}  level")
    for d in result.impact.deltas.values():
        before = "-" if d.before is None else f"{d.before.mean:.2f} ±{d.before.spread:.2f}"
        after = "-" if d.after is None else f"{d.after.mean:.2f} ±{d.after.spread:.2f}"
        delta = "-" if d.delta is None else f"{d.delta:+.2f}"
        level = "noise" if d.within_noise else d.level.value
        print(f"  {terminal_safe(d.name):<32} {before:>16} {after:>16} {delta:>10}  {level}")
    if result.alert:
        print(f"alert recorded: {result.impact.level.value}")


# -- predict -------------------------------------------------------------------------------------
def run_predict(args: argparse.Namespace) -> int:
    return asyncio.run(_predict(args))


async def _predict(args: argparse.Namespace) -> int:
    from controlroom.core.correlator import predict_impact

    workspace = _workspace(args)
    store = await workspace.open_store()
    try:
        prediction = await predict_impact(store, args.files, workspace.config)
    finally:
        await store.close()
    if args.json:
        _emit(
            {
                "files": args.files,
                "prediction": None if prediction is None else prediction.to_dict(),
            }
        )
    elif prediction is None:
        print("no prediction: no measured commit has touched files like these yet")
    else:
        print(terminal_safe(prediction.summary))
    return 0


# -- alerts --------------------------------------------------------------------------------------
def run_alerts(args: argparse.Namespace) -> int:
    return asyncio.run(_alerts(args))


async def _alerts(args: argparse.Namespace) -> int:
    from controlroom.core.correlator import alert_history

    workspace = _workspace(args)
    store = await workspace.open_store()
    try:
        alerts = await alert_history(store, limit=args.limit)
    finally:
        await store.close()
    if args.json:
        _emit({"alerts": [a.to_dict() for a in alerts]})
        return 0
    if not alerts:
        print("no alerts")
    for alert in alerts:
        print(f"{alert.commit_sha[:12]} {alert.level.value:<8} {terminal_safe(alert.reason)}")
    return 0
