"""The parsing pool's entry points: worker processes for big work, this process for small."""

from __future__ import annotations

import os

from controlroom.core.toolkit import parsing


def pids(items: list[str]) -> list[int]:
    return [os.getpid() for _ in items]


def pid_of(text: str) -> tuple[int, int]:
    return os.getpid(), len(text)


async def test_big_work_runs_in_worker_processes_small_work_here():
    big = ["x" * 1000] * (parsing.INLINE_BYTES // 1000 + 1)
    try:
        from_thread = parsing.map_batches_blocking(pids, big, [len(t) for t in big])
        one_job = await parsing.run_in_worker(pid_of, "".join(big), size=len("".join(big)))
    finally:
        parsing.shutdown()
    assert len(from_thread) == len(big) and os.getpid() not in from_thread
    assert one_job[0] != os.getpid() and one_job[1] == len("".join(big))
    assert parsing.map_batches_blocking(pids, ["x"], [1]) == [os.getpid()]
    assert (await parsing.run_in_worker(pid_of, "x", size=1)) == (os.getpid(), 1)
    assert parsing.map_batches_blocking(pids, [], []) == []
