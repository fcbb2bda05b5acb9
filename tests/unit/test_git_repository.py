"""core.git on real repositories built by the ``repo`` fixture."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from controlroom.core.errors import ExitCode, RepositoryError
from controlroom.core.git import GitRepository
from controlroom.core.model import FileStatus, LineRange


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(RepositoryError) as caught:
        GitRepository(tmp_path)
    assert caught.value.exit_code == ExitCode.RUNTIME
    assert "not a git repository" in caught.value.message
    assert "\n" not in caught.value.message


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(RepositoryError, match="does not exist"):
        GitRepository(tmp_path / "nowhere")


def test_repository_without_commits(repo) -> None:
    git = GitRepository(repo.path)
    assert git.head_sha() is None
    assert git.log_entries() == []
    with pytest.raises(RepositoryError, match="no commits yet"):
        git.resolve("HEAD")
    with pytest.raises(RepositoryError, match="no commits yet"):
        git.changeset("HEAD")


def test_unknown_ref(repo) -> None:
    repo.commit({"a.py": "x = 1\n"})
    git = GitRepository(repo.path)
    for ref in ("nope", "HEAD~5", "deadbeef" * 5):
        with pytest.raises(RepositoryError, match="unknown revision"):
            git.resolve(ref)


def test_subdirectory_finds_root_and_resolves_short_refs(repo) -> None:
    first = repo.commit({"pkg/a.py": "x = 1\n"})
    second = repo.commit({"pkg/a.py": "x = 2\n"})
    repo.git("tag", "-a", "v1", "-m", "release", first)
    git = GitRepository(repo.path / "pkg")
    assert git.root == repo.path.resolve()
    assert git.resolve("HEAD") == second
    assert git.resolve(second[:8]) == second
    assert git.resolve("HEAD~1") == first
    assert git.resolve("v1") == first  # annotated tag peeled to its commit


def test_root_commit_lists_every_file_as_added(repo) -> None:
    sha = repo.commit({"a.py": "one\ntwo\nthree\n", "b.txt": "no newline"}, "first")
    change = GitRepository(repo.path).changeset(sha)
    assert change.parent is None
    assert change.subject == "first"
    assert change.author == "Test Author"
    files = {f.path: f for f in change.files}
    assert files["a.py"].status is FileStatus.ADDED
    assert files["a.py"].new_text == "one\ntwo\nthree\n"
    assert files["a.py"].changed_lines == (LineRange(1, 3),)
    assert files["b.txt"].changed_lines == (LineRange(1, 1),)


def test_modified_deleted_renamed_and_changed_lines(repo) -> None:
    body = "".join(f"line {i}\n" for i in range(1, 40))
    first = repo.commit({"a.py": "a\nb\nc\nd\n", "gone.py": "x\n", "old.py": body})
    renamed = body.replace("line 20\n", "line twenty\n")
    sha = repo.commit(
        {"a.py": "a\nB\nc\nd\ne\n", "gone.py": None, "old.py": None, "new.py": renamed}
    )
    change = GitRepository(repo.path).changeset(sha)
    assert change.parent == first
    files = {f.path: f for f in change.files}
    assert files["a.py"].status is FileStatus.MODIFIED
    assert files["a.py"].old_text == "a\nb\nc\nd\n"
    assert files["a.py"].changed_lines == (LineRange(2, 2), LineRange(5, 5))
    assert files["a.py"].touches(5) and not files["a.py"].touches(3)
    assert files["gone.py"].status is FileStatus.DELETED
    assert files["gone.py"].old_text == "x\n" and files["gone.py"].new_text is None
    assert files["new.py"].status is FileStatus.RENAMED
    assert files["new.py"].old_path == "old.py"
    assert files["new.py"].changed_lines == (LineRange(20, 20),)
    assert [f.path for f in change.python_files()] == ["a.py", "new.py"]


def test_pure_deletion_hunk_changes_no_new_line(repo) -> None:
    repo.commit({"a.py": "a\nb\nc\n"})
    sha = repo.commit({"a.py": "a\nc\n"})
    (change,) = GitRepository(repo.path).changeset(sha).files
    assert change.changed_lines == ()


def test_binary_non_utf8_and_too_large_are_skipped(repo) -> None:
    repo.commit({"keep.py": "x = 1\n"})
    sha = repo.commit(
        {
            "image.png": b"\x89PNG\r\n\x1a\n\x00\x00binary",
            "latin.py": "caf\xe9 = 1\n".encode("latin-1"),
            "big.py": "x = 1\n" * 200,
        }
    )
    change = GitRepository(repo.path).changeset(sha, max_file_bytes=1000)
    reasons = {f.path: f.skipped_reason for f in change.files}
    assert reasons == {
        "big.py": "too large (1200 bytes)",
        "image.png": "binary",
        "latin.py": "not UTF-8",
    }
    assert all(f.new_text is None for f in change.files)
    assert change.python_files() == []
    assert len(change.skipped()) == 3


def test_many_files_use_the_bulk_reader_with_the_same_results(repo) -> None:
    files: dict[str, str | bytes | None] = {f"m{i}.py": f"v = {i}\n" for i in range(30)}
    files["blob.bin"] = b"\x00" * 10
    files["huge.py"] = "y = 2\n" * 100
    files["bad.py"] = b"\xff\xfe x"
    sha = repo.commit(files)
    change = GitRepository(repo.path).changeset(sha, max_file_bytes=500)
    by_path = {f.path: f for f in change.files}
    assert by_path["m7.py"].new_text == "v = 7\n"
    assert by_path["blob.bin"].skipped_reason == "binary"
    assert by_path["huge.py"].skipped_reason == "too large (600 bytes)"
    assert by_path["bad.py"].skipped_reason == "not UTF-8"
    assert len(change.python_files()) == 30


def test_merge_commit_is_diffed_against_its_first_parent(repo) -> None:
    repo.commit({"a.py": "a = 1\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit({"feature.py": "f = 1\n"})
    repo.git("checkout", "-q", "main")
    main_tip = repo.commit({"main.py": "m = 1\n"})
    repo.git("merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    merge = repo.head()
    git = GitRepository(repo.path)
    change = git.changeset(merge)
    assert change.is_merge
    assert change.parent == main_tip
    assert [f.path for f in change.files] == ["feature.py"]
    # first-parent history: the feature commit is not listed on its own
    history = git.commits_between(None)
    assert len(history) == 3 and history[-1] == merge


def test_detached_head(repo) -> None:
    first = repo.commit({"a.py": "1\n"})
    repo.commit({"a.py": "2\n"})
    repo.git("checkout", "-q", "--detach", first)
    git = GitRepository(repo.path)
    assert git.head_sha() == first
    assert git.resolve("HEAD") == first
    assert git.ref_snapshot()["HEAD"] == first
    assert git.changeset("HEAD").commit == first


def test_shallow_clone_boundary_is_treated_as_root(repo, tmp_path: Path) -> None:
    repo.commit({"a.py": "1\n"})
    repo.commit({"a.py": "2\n", "b.py": "b\n"})
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone)], check=True
    )
    git = GitRepository(clone)
    change = git.changeset("HEAD")
    assert change.parent is None
    assert {f.path: f.status for f in change.files} == {
        "a.py": FileStatus.ADDED,
        "b.py": FileStatus.ADDED,
    }
    assert git.commits_between(None) == [change.commit]


def test_commits_between_oldest_first(repo) -> None:
    shas = [repo.commit({"a.py": f"{i}\n"}) for i in range(4)]
    git = GitRepository(repo.path)
    assert git.commits_between(shas[0]) == shas[1:]
    assert git.commits_between(None, shas[2]) == shas[:3]
    assert git.commits_between(shas[3]) == []
    with pytest.raises(RepositoryError):
        git.commits_between("no-such-ref")


def test_ref_snapshot_sees_new_commits_and_branches(repo) -> None:
    first = repo.commit({"a.py": "1\n"})
    git = GitRepository(repo.path)
    before = git.ref_snapshot()
    assert before == {"HEAD": first, "refs/heads/main": first}
    second = repo.commit({"a.py": "2\n"})
    repo.git("branch", "other", first)
    after = git.ref_snapshot()
    assert after["HEAD"] == second and after["refs/heads/other"] == first


def test_ref_snapshot_of_an_empty_repository(repo) -> None:
    assert GitRepository(repo.path).ref_snapshot() == {}


def test_blob_text(repo) -> None:
    first = repo.commit({"pkg/a.py": "old\n", "bin": b"\x00\x01"})
    repo.commit({"pkg/a.py": "new\n"})
    git = GitRepository(repo.path)
    assert git.blob_text(first, "pkg/a.py") == "old\n"
    assert git.blob_text("HEAD", "pkg/a.py") == "new\n"
    assert git.blob_text("HEAD", "missing.py") is None
    assert git.blob_text("HEAD", "pkg") is None
    assert git.blob_text("HEAD", "bin") is None


def test_log_entries_numstat_in_one_process(repo) -> None:
    repo.commit({"a.py": "1\n2\n", "b.bin": b"\x00"}, "first", date="2026-01-01T00:00:00Z")
    sha = repo.commit({"a.py": "1\nx\ny\n"}, "second", date="2026-01-10T00:00:00Z")
    entries = GitRepository(repo.path).log_entries()
    assert [e.subject for e in entries] == ["second", "first"]
    newest = entries[0]
    assert newest.sha == sha and len(newest.parents) == 1
    assert newest.author == "Test Author" and newest.email == "author@example.invalid"
    assert newest.files == [("a.py", 2, 1)]
    assert sorted(entries[1].files) == [("a.py", 2, 0), ("b.bin", 0, 0)]
    clock = GitRepository(repo.path, clock=lambda: 1768003200.0 + 86400)  # 2026-01-11
    assert [e.subject for e in clock.log_entries(since_days=3)] == ["second"]
    assert len(clock.log_entries(all_refs=True)) == 2


async def test_worktree_is_temporary_and_leaves_the_user_tree_alone(repo) -> None:
    first = repo.commit({"a.py": "old\n"})
    repo.commit({"a.py": "new\n"})
    repo.write({"a.py": "uncommitted edit\n"})
    git = GitRepository(repo.path)
    status_before = repo.git("status", "--porcelain")
    async with git.worktree(first) as tree:
        assert (tree / "a.py").read_text() == "old\n"
        assert first in repo.git("worktree", "list", "--porcelain")
        (tree / "scratch.txt").write_text("dirty")
    assert not tree.exists()
    assert str(tree) not in repo.git("worktree", "list")
    assert repo.git("status", "--porcelain") == status_before
    assert (repo.path / "a.py").read_text() == "uncommitted edit\n"
    assert git.head_sha() == repo.head()


def test_paths_with_spaces_and_unicode(repo) -> None:
    repo.commit({"dir one/ä b.py": "a\n"})
    sha = repo.commit({"dir one/ä b.py": "a\nb\n"})
    (change,) = GitRepository(repo.path).changeset(sha).files
    assert change.path == "dir one/ä b.py"
    assert change.changed_lines == (LineRange(2, 2),)
