"""A real large codebase for benchmarks: the Django 5.2 source distribution in a git repository.

``django_repo()`` downloads the sdist once with pip into ``benchmarks/.cache`` (git-ignored), unpacks
it and commits the tree into a new temporary repository. ``make_three_file_commit(repo)`` then edits
three Python files and commits them, the shape of an everyday commit.

Run it alone to see the tree: ``python benchmarks/django_tree.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
REQUIREMENT = "django==5.2.*"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}
# Three files of the tree that a benchmark commit edits (they exist in every 5.2 release).
EDITED_FILES = (
    "django/utils/text.py",
    "django/core/mail/message.py",
    "django/db/models/query_utils.py",
)


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**os.environ, **GIT_ENV},
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


def sdist_path(version: str | None = None) -> Path:
    """The cached Django sdist of release ``version`` (default: the newest 5.2.N), downloaded with
    pip the first time."""
    CACHE.mkdir(parents=True, exist_ok=True)
    pattern = f"{version}.tar.gz" if version else "5.2*.tar.gz"
    found = sorted(CACHE.glob(f"django-{pattern}")) + sorted(CACHE.glob(f"Django-{pattern}"))
    if found:
        return found[-1]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"django=={version}" if version else REQUIREMENT,
            "-d",
            str(CACHE),
        ],
        check=True,
        capture_output=True,
    )
    return sdist_path(version)


def unpacked_tree(version: str | None = None) -> Path:
    """The sdist unpacked once into the cache; returns the top folder (``django-5.2.N``)."""
    archive = sdist_path(version)
    top = CACHE / archive.name.removesuffix(".tar.gz")
    if not (top / "django").is_dir():
        with tarfile.open(archive) as tar:
            tar.extractall(CACHE, filter="data")
    return top


def django_repo(
    dest: Path | None = None, *, full: bool = False, version: str | None = None
) -> Path:
    """A new git repository holding the Django tree in one root commit; the caller removes it.

    By default the sdist's ``django/`` package and top-level files (885 .py files, 159k lines, the
    tree the issue measures); ``full=True`` also commits ``tests/``, ``docs/`` and the rest.
    """
    tree = unpacked_tree(version)
    repo = dest or Path(tempfile.mkdtemp(prefix="controlroom-django-")) / "django"
    skip = set() if full else {"tests", "docs", "js_tests", "extras", "Django.egg-info"}
    shutil.copytree(tree, repo, ignore=lambda d, names: skip & set(names) if d == str(tree) else ())
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"Import {tree.name}")
    return repo


def commit_release(repo: Path, version: str, *, full: bool = False) -> str:
    """Replace the tree's ``django/`` package (``full``: the whole sdist) with release ``version``'s
    and commit it: a real release commit (5.0.8 -> 5.1: 206 .py files of the package, 438 with
    its tests and docs)."""
    source = unpacked_tree(version)
    if full:
        for child in repo.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        shutil.copytree(source, repo, dirs_exist_ok=True)
    else:
        shutil.rmtree(repo / "django")
        shutil.copytree(source / "django", repo / "django")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"Release {version}")
    return git(repo, "rev-parse", "HEAD")


def make_three_file_commit(repo: Path) -> str:
    """Edit three Python files (one new function each, one with a known problem) and commit."""
    additions = {
        EDITED_FILES[0]: "\n\ndef shout(value):\n    print(value)\n    return value.upper()\n",
        EDITED_FILES[1]: "\n\ndef sender_domain(address):\n    return address.rsplit('@', 1)[-1]\n",
        EDITED_FILES[2]: ("\n\ndef evaluate(expression):\n    return eval(expression)\n"),
    }
    for name, text in additions.items():
        path = repo / name
        path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")
    git(repo, "add", *additions)
    git(repo, "commit", "-q", "-m", "Edit three files")
    return git(repo, "rev-parse", "HEAD")


def python_stats(root: Path) -> tuple[int, int]:
    """(number of .py files, number of lines in them) under ``root``, .git excluded."""
    files = lines = 0
    for path in root.rglob("*.py"):
        if ".git" in path.parts:
            continue
        files += 1
        lines += path.read_bytes().count(b"\n")
    return files, lines


def main() -> None:
    repo = django_repo(full="--full" in sys.argv)
    try:
        files, lines = python_stats(repo)
        print(f"Django tree: {repo} ({files} .py files, {lines} lines)")
        sha = make_three_file_commit(repo)
        print(f"3-file commit: {sha}")
    finally:
        shutil.rmtree(repo.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
