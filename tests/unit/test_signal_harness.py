"""The [signal] harness's pure parts (benchmarks/signal/oracles.py): nothing here downloads anything."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

SIGNAL = Path(__file__).resolve().parents[2] / "benchmarks" / "signal"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"signal_{name}", SIGNAL / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


oracles = _load("oracles")

OLD = textwrap.dedent(
    '''\
    import os


    @decorator
    def documented(a, b):
        """Add two things."""
        total = a + b
        return total


    def other():
        x = 1
        return x
    '''
)


def _diff(repo, old: str, new: str, name: str = "pkg/mod.py") -> str:
    repo.commit({name: old}, "new")
    repo.commit({name: new}, "fix")
    return repo.git("diff", "-U0", "--no-renames", "HEAD~1", "HEAD")


def test_a_docstring_change_touches_the_def_line_task(repo) -> None:
    diff = _diff(repo, OLD, OLD.replace('"""Add two things."""', '"""Add a and b."""'))
    changes = oracles.changed_old_lines(diff)
    task = {"path": "pkg/mod.py", "line": 5}
    assert oracles.location_changed(task, changes, OLD)


def test_a_body_change_does_not_touch_the_def_line_task(repo) -> None:
    diff = _diff(repo, OLD, OLD.replace("total = a + b", "total = b + a"))
    changes = oracles.changed_old_lines(diff)
    assert not oracles.location_changed({"path": "pkg/mod.py", "line": 5}, changes, OLD)
    assert oracles.location_changed({"path": "pkg/mod.py", "line": 7}, changes, OLD)


def test_an_insertion_under_a_def_touches_it_and_other_files_are_untouched(repo) -> None:
    new = OLD.replace("def other():\n", 'def other():\n    """Doc."""\n')
    changes = oracles.changed_old_lines(_diff(repo, OLD, new))
    assert oracles.location_changed({"path": "pkg/mod.py", "line": 11}, changes, OLD)
    assert not oracles.location_changed({"path": "pkg/other.py", "line": 11}, changes, OLD)
    assert not oracles.location_changed({"path": "pkg/mod.py", "line": 1}, changes, OLD)


def test_a_deleted_file_touches_every_task_in_it(repo) -> None:
    repo.commit({"gone.py": "x = 1\n"}, "new")
    repo.git("rm", "-q", "gone.py")
    repo.git("commit", "-q", "-m", "fix")
    changes = oracles.changed_old_lines(repo.git("diff", "-U0", "HEAD~1", "HEAD"))
    assert changes["gone.py"].deleted
    assert oracles.location_changed({"path": "gone.py", "line": 1}, changes, "x = 1\n")


def test_an_untested_claim_is_refuted_only_by_a_body_line_that_ran() -> None:
    task = {"line": 5, "message": "documented is not exercised by any test"}
    assert oracles.is_untested_claim(task)
    assert oracles.exercised(task, {1, 4, 5, 11}, OLD) is False  # import-time lines only
    assert oracles.exercised(task, {7}, OLD) is True
    assert oracles.exercised({"line": 1}, {1, 7}, OLD) is None  # not on a function


def test_a_grouped_untested_claim_is_one_claim_per_item() -> None:
    group = {
        "path": "a.py",
        "line": 5,
        "message": "TEST001 x2 in ./ (first: a.py:5 documented): documented is not exercised by any test",
        "items": [
            {"path": "a.py", "line": 5, "symbol": "documented"},
            {"path": "b.py", "line": 11},
        ],
    }
    parts = oracles.claim_parts(group)
    assert [(p["path"], p["line"]) for p in parts] == [("a.py", 5), ("b.py", 11)]
    assert all(oracles.is_untested_claim(p) for p in parts)
    assert oracles.exercised(parts[1], {13}, OLD) is True  # the second item ran: refuted
    assert oracles.claim_parts({"path": "a.py", "line": 5}) == [{"path": "a.py", "line": 5}]


def test_the_changelog_matcher_needs_the_name_and_the_kind() -> None:
    removed = {"rule": "IMP101", "message": "public class pkg.core.BaseCommand was removed"}
    deprecated = {"rule": "IMP105", "message": "pkg.core.BaseCommand is deprecated"}
    expected = [
        {"kind": "deprecation", "name": "pkg.BaseCommand"},
        {"kind": "removal", "name": "pkg.BaseCommand"},
        {"kind": "removal", "name": "pkg.Command"},
    ]
    hits = oracles.changelog_reported(expected, [removed])
    assert [hit for _, hit in hits] == [None, removed, None]
    assert oracles.changelog_reported(expected[:1], [deprecated])[0][1] is deprecated


def test_a_removal_that_mentions_an_earlier_deprecation_is_a_removal() -> None:
    gone = {
        "rule": "IMP101",
        "message": "public function pkg.v.provides was removed (it was deprecated in the parent)",
    }
    shim = {
        "rule": "IMP105",
        "message": "pkg.Old is deprecated, not removed: served by __getattr__",
    }
    assert oracles.kinds_of(gone) == {"removal"}
    assert oracles.kinds_of(shim) == {"deprecation"}


def test_a_critical_not_labelled_worth_is_a_false_critical_and_unlabelled_tasks_are_listed() -> (
    None
):
    tasks = [
        {"fingerprint": "a", "severity": "critical"},
        {"fingerprint": "b", "severity": "low"},
        {"fingerprint": "c", "severity": "high"},
        {"fingerprint": "d", "severity": "critical"},
    ]
    labels = {
        "a": {"verdict": "trivial"},
        "b": {"verdict": "trivial"},
        "d": {"verdict": "worth"},
    }
    judged = oracles.judge(tasks, labels)
    assert (judged.worth, judged.trivial, judged.false) == (1, 1, 1)
    assert judged.precision == pytest.approx(1 / 3)
    assert [t["fingerprint"] for t in judged.unlabelled] == ["c"]
    assert [t["fingerprint"] for t in judged.false_critical] == ["a"]


def test_a_task_whose_severity_changed_since_it_was_labelled_is_flagged() -> None:
    task = {"fingerprint": "a", "severity": "high", "rule": "IMP101", "path": "m.py", "line": 3,
            "symbol": "f", "message": "public function m.f was removed"}  # fmt: skip
    labels = {"a": {"verdict": "false", "task": oracles.describe(task)}}
    assert oracles.changed_since_labelled([task], labels) == []
    moved = {**task, "severity": "critical"}
    assert oracles.changed_since_labelled([moved], labels) == [(moved, labels["a"]["task"])]
    stub = oracles.label_stub(task)
    assert 'fingerprint = "a"' in stub and oracles.describe(task) in stub


def test_a_label_with_an_unknown_verdict_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "case.toml"
    path.write_text('[[label]]\nfingerprint = "a"\nverdict = "maybe"\nreason = "?"\n')
    with pytest.raises(ValueError, match="verdict"):
        oracles.load_labels(path)


def test_the_shipped_cases_and_labels_parse() -> None:
    build = _load("build")
    cases = build.load_cases()
    assert len(cases) >= 5
    for case in cases:
        assert case.old and case.new and case.fix and case.packages
        assert all(e.kind in {"removal", "signature", "deprecation"} for e in case.expected)
        labels = oracles.load_labels(SIGNAL / "labels" / f"{case.name}.toml")
        assert all(label["reason"].strip() for label in labels.values())
