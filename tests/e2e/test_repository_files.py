"""Reading a repository's files: PEP 263 coding cookies honoured, git.max_file_bytes everywhere."""

from tests.e2e.cli import run, run_json

LATIN1 = '# -*- coding: latin-1 -*-\nname = "caf\xe9"\nprint(eval(input()))\n'.encode("latin-1")


def test_a_latin1_source_with_a_coding_cookie_is_analyzed(repo):
    repo.commit({"legacy.py": LATIN1}, "an old module")
    report, result = run_json("--run-once", "--agents", "critic", "--repo", str(repo.path))
    assert result.returncode == 0, result.stderr
    commit = report["commits"][0]
    assert commit["skipped_files"] == []
    assert any(f["path"] == "legacy.py" and f["line"] == 3 for f in commit["findings"])


def test_docs_readme_skips_modules_over_max_file_bytes(repo):
    big = "".join(f"def f{i}():\n    '''Function {i}.'''\n" for i in range(60_000))
    assert len(big) > 1_000_000  # over the default git.max_file_bytes
    repo.commit(
        {
            "pkg/__init__.py": '"""The package."""\n',
            "pkg/small.py": '"""Small."""\n\ndef g():\n    """G."""\n',
            "pkg/huge.py": big,
            "pkg/legacy.py": LATIN1.replace(b"name", b'"""Caf\xe9."""\nname'),
        },
        "package",
    )
    result = run("docs", "readme", str(repo.path / "pkg"), "--repo", str(repo.path))
    assert result.returncode == 0, result.stderr
    assert "| `pkg.huge` | (skipped: too large (" in result.stdout
    assert "def f0" not in result.stdout
    assert "| `pkg.legacy` | Café. |" in result.stdout
    assert "def g()" in result.stdout
