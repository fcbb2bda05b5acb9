"""One sandboxed pytest run of a small Hypothesis test (``testgen_run.validate``), median of N.

Prints the sandbox in use (``sandbox_strength()`` when it exists) and the median wall time.
Usage: ``python benchmarks/bench_sandbox.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from controlroom.agents.testgen import sandbox as testgen_sandbox
from controlroom.agents.testgen.run import validate
from controlroom.agents.testgen.sandbox import Limits

TEST = """\
from hypothesis import given, strategies as st


@given(st.integers(), st.integers())
def test_add_commutes(a, b):
    assert a + b == b + a
"""


async def one(root: Path, index: int) -> tuple[float, str]:
    tree = root / f"tree-{index}"
    tree.mkdir()
    started = time.perf_counter()
    result = await validate(tree, tree / "box", TEST, "test_add.py", [str(tree)], Limits(), 100)
    elapsed = time.perf_counter() - started
    if result.status != "passed":
        sys.exit(f"bench_sandbox: the run did not pass: {result.status} {result.message}")
    return elapsed, result.confinement


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    strength = getattr(testgen_sandbox, "sandbox_strength", lambda: "landlock (old code)")()
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        times = []
        confinement = ""
        for index in range(args.runs):
            elapsed, confinement = asyncio.run(one(Path(tmp), index))
            times.append(elapsed)
    print(f"sandbox: {strength}; confinement: {confinement}")
    print(f"one sandboxed pytest run: median {statistics.median(times):.3f} s over {args.runs}")
    print("runs: " + ", ".join(f"{t:.3f}" for t in times))


if __name__ == "__main__":
    main()
