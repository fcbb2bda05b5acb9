"""core.gitparse on git's own output shapes."""

from __future__ import annotations

from controlroom.core.gitparse import parse_log, parse_patch_ranges, parse_raw
from controlroom.core.model import LineRange


def test_patch_ranges_with_quoted_and_tabbed_names() -> None:
    patch = (
        b'diff --git "a/tab\\there.py" "b/tab\\there.py"\n'
        b'--- "a/tab\\there.py"\n+++ "b/tab\\there.py"\n@@ -1 +1,2 @@\n-x\n+y\n+z\n'
        b"diff --git a/sp ace.py b/sp ace.py\n--- a/sp ace.py\t\n+++ b/sp ace.py\t\n"
        b"@@ -3,0 +4 @@\n+new\n@@ -9,2 +10,0 @@\n-a\n-b\n"
        b'diff --git "a/caf\\303\\251.py" "b/caf\\303\\251.py"\n'
        b'--- "a/caf\\303\\251.py"\n+++ "b/caf\\303\\251.py"\n@@ -5,2 +5,3 @@\n'
    )
    assert parse_patch_ranges(patch) == {
        "tab\there.py": (LineRange(1, 2),),
        "sp ace.py": (LineRange(4, 4),),
        "café.py": (LineRange(5, 7),),
    }


def test_raw_with_rename_and_log_records() -> None:
    raw = b":100644 100644 " + b"a" * 40 + b" " + b"b" * 40 + b" R087\0old.py\0new.py\0"
    (change,) = parse_raw(raw)
    assert (change.status, change.old_path, change.path) == ("R", "old.py", "new.py")
    log = b"\x1e" + b"\x1f".join([b"f" * 40, b"", b"Ann", b"a@x", b"100", b"subj"]) + b"\0"
    log += b"\n1\t2\tx.py\0-\t-\tlogo.png\0"
    (entry,) = parse_log(log)
    assert entry.parents == () and entry.time == 100
    assert entry.files == [("x.py", 1, 2), ("logo.png", 0, 0)]
