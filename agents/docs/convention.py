"""The project's docstring convention (Google, NumPy or reST/Sphinx), by majority vote.

Drafted docstrings are written in the convention the repository already uses. The vote is over
the structured docstrings of the package's non-test modules at the commit (a spread sample of at
most ``SAMPLE`` files, read in one ``git cat-file`` call); summary-only docstrings have no vote.
No votes, or a tie with Google, gives Google. The answer is cached per repository and commit.
"""

from __future__ import annotations

import inspect
import re
import threading
from collections import Counter
from pathlib import Path

from controlroom.agents.docs.styles import parse_docstring
from controlroom.core.model import ChangeSet
from controlroom.core.settings import table
from controlroom.core.testpaths import is_test_path
from controlroom.core.toolkit.tree import list_tree, read_blobs

STYLES = ("google", "numpy", "sphinx")
SAMPLE = 200
_TRIPLE = re.compile(r'(?s)("""|\'\'\')(.*?)\1')
SCRATCH_KEY = "docs_convention"
_detecting = threading.Lock()


def vote(texts: list[str]) -> Counter[str]:
    """Structured docstrings per style in the given module texts."""
    votes: Counter[str] = Counter()
    for text in texts:
        for match in _TRIPLE.finditer(text):
            body = match[2]
            if "\n" not in body.strip():
                continue  # one line: no sections
            style = parse_docstring(inspect.cleandoc(body)).style
            if style != "plain":
                votes[style] += 1
    return votes


def winner(votes: Counter[str]) -> str:
    """The majority style; Google without votes or on a tie with Google."""
    if not votes:
        return "google"
    best = max(votes.values())
    leaders = [s for s in STYLES if votes[s] == best]
    return "google" if "google" in leaders else leaders[0]


def detect(repo: Path, sha: str) -> str:
    """The docstring convention of the repository at ``sha`` (blocking: git subprocesses)."""
    try:
        blobs = list_tree(repo, sha).blobs
    except RuntimeError:
        return "google"
    paths = sorted(p for p in blobs if p.endswith(".py") and not is_test_path(p))
    step = max(1, len(paths) // SAMPLE)
    sample = paths[::step][:SAMPLE]
    texts = read_blobs(repo, sorted({blobs[p] for p in sample}))
    return winner(vote(list(texts.values())))


def configured(config: dict[str, object], change: ChangeSet) -> str:
    """``docs.style`` when it names a style, else (``"auto"``) the convention detected at the
    change's commit, once per change set (kept in its ``scratch``)."""
    chosen = str(table("docs", config)["style"]).lower()
    if chosen in STYLES:
        return chosen
    with _detecting:  # the agent and a shared scan may both ask, from two threads: detect once
        if SCRATCH_KEY not in change.scratch:
            change.scratch[SCRATCH_KEY] = detect(change.repo_path, change.commit)
    return str(change.scratch[SCRATCH_KEY])
