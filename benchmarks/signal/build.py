"""Build the [signal] harness's case repositories: sdists from PyPI -> a three-commit git repo per case.

Commit 1 = the older release, commit 2 = the newer release under judgement, commit 3 = the next release
(the real fix commit); a case with a ``next`` release (the simulated operator's next release pair,
``operator.py``) gets a fourth commit, tag ``next``. Each commit holds the release's packages (normalised to ``src/<package>``), its
tests directory and its build files. Everything lives in ``benchmarks/.cache/signal/`` (git-ignored) and
is rebuilt only when missing.

Usage: python benchmarks/signal/build.py [--case NAME]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / ".cache" / "signal"
BUILD_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "tox.ini", "conftest.py")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "release",
    "GIT_AUTHOR_EMAIL": "release@example.invalid",
    "GIT_COMMITTER_NAME": "release",
    "GIT_COMMITTER_EMAIL": "release@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


@dataclass
class Expected:
    """One changelog item the queue should report."""

    kind: str
    name: str
    line: str


@dataclass
class Case:
    """One release triple, as written in cases.toml."""

    name: str
    dist: str
    old: str
    new: str
    fix: str
    packages: list[str]
    tests: str
    changelog: str
    test_deps: list[str] = field(default_factory=list)
    test_args: list[str] = field(default_factory=list)
    expected: list[Expected] = field(default_factory=list)
    # a later release with a real amount of change (operator.py's next pair), commit 4
    next: str | None = None
    operator_only: bool = False  # only operator.py uses it (run.py and testgen.py skip it)

    @property
    def versions(self) -> tuple[str, ...]:
        return (self.old, self.new, self.fix, *([self.next] if self.next else []))

    @property
    def repo(self) -> Path:
        return CACHE / "repos" / "-".join((self.name, *self.versions))


def load_cases(path: Path = HERE / "cases.toml") -> list[Case]:
    """Read every case of cases.toml."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    cases = []
    for raw in data["case"]:
        expected = [Expected(**item) for item in raw.pop("expected", [])]
        cases.append(Case(expected=expected, **raw))
    return cases


def sdist(case: Case, version: str) -> Path:
    """The unpacked sdist of one release, downloaded and unpacked once."""
    sdists, src = CACHE / "sdists", CACHE / "src"
    sdists.mkdir(parents=True, exist_ok=True)
    src.mkdir(parents=True, exist_ok=True)
    archive = _find_archive(sdists, case.dist, version)
    if archive is None:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
             f"{case.dist}=={version}", "-d", str(sdists)],
            check=True,
        )  # fmt: skip
        archive = _find_archive(sdists, case.dist, version)
        if archive is None:
            raise SystemExit(f"build: no sdist for {case.dist}=={version}")
    root = src / archive.name.removesuffix(".tar.gz")
    if not root.is_dir():
        with tarfile.open(archive) as tar:
            tar.extractall(src, filter="data")
    return root


def _find_archive(sdists: Path, dist: str, version: str) -> Path | None:
    for path in sdists.glob("*.tar.gz"):
        stem = path.name.removesuffix(".tar.gz")
        if stem.lower().replace("_", "-") == f"{dist}-{version}".lower().replace("_", "-"):
            return path
    return None


def _copy_release(case: Case, root: Path, repo: Path) -> None:
    """Replace the repository's tree by one release's packages, tests and build files."""
    for child in repo.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in case.packages:
        source = root / "src" / package
        if not source.is_dir():
            source = root / package
        shutil.copytree(source, repo / "src" / package, ignore=ignore)
    if (root / case.tests).is_dir():
        shutil.copytree(root / case.tests, repo / case.tests, ignore=ignore)
    if case.changelog and (root / case.changelog).is_dir():  # release notes as a folder of files
        notes = shutil.ignore_patterns("*.py", "__pycache__")
        shutil.copytree(root / case.changelog, repo / case.changelog, ignore=notes)
    for name in (*BUILD_FILES, case.changelog):
        if name and (root / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)  # docs/releases/5.1.txt
            shutil.copy2(root / name, repo / name)


def git(repo: Path, *args: str) -> str:
    """Run git in the case repository and return its stdout."""
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    )
    return done.stdout


def build(case: Case) -> Path:
    """The case's repository, built when missing: three commits, old -> new -> fix (-> next)."""
    repo = case.repo
    count = str(len(case.versions))
    if (repo / ".git").is_dir() and git(repo, "rev-list", "--count", "main").strip() == count:
        return repo
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for index, version in enumerate(case.versions):
        _copy_release(case, sdist(case, version), repo)
        git(repo, "add", "-A")
        stamp = f"2024-01-0{index + 1}T12:00:00+00:00"
        os.environ["GIT_AUTHOR_DATE"] = os.environ["GIT_COMMITTER_DATE"] = stamp
        git(repo, "commit", "-q", "-m", f"{case.dist} {version}")
    os.environ.pop("GIT_AUTHOR_DATE", None)
    os.environ.pop("GIT_COMMITTER_DATE", None)
    tags = ("old", "new", "fix", "next")[: len(case.versions)]
    for index, tag in enumerate(tags):
        git(repo, "tag", tag, f"HEAD~{len(tags) - 1 - index}")
    return repo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help="only this case")
    args = parser.parse_args(argv)
    for case in load_cases():
        if args.case and case.name != args.case:
            continue
        print(f"{case.name}: {build(case)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
