"""The python target's journal against torn writes and damage (docs/backends.md, "The journal").

A real journal, written by an emitted program running against the simulated LLM, is cut at
every line boundary, inside every line (the header too), and at every byte of its last two
records. Each cut resumes to the reference run's result, and the server is asked for
exactly the calls the cut journal does not hold whole: no completed call is repeated, and the
journal left behind is whole. Every other kind of damage is a one-line refusal naming the file
and the line, never a traceback, and ``--fresh`` starts over.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import io
import itertools
import json
import ssl
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aalp.api import compile as emit
from aalp.backends.base import write
from aalp.sim import SimCore, SimServer
from aalp.sim.harness import make_input, run_program

#: hanoi with 3 disks, one move per call, first-to-ahead-by-2: about twenty calls, some of
#: them red-flagged (the spec keeps 99% of the answers)
DECISIONS = {"move.x": 1, "move.model": "gpt41mini", "move.vote": "ahead_by", "move.votes": 2}


@dataclass
class World:
    module: Any
    server: SimServer
    folder: Path
    journal: bytes  # the reference run's whole journal
    result: Any
    keys: list[str]  # every call of the reference run


@dataclass
class Outcome:
    code: int | str | None  # main's exit status, or the message of its SystemExit
    stderr: str
    result: Any
    served: list[str]  # the calls the server answered during this run


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, load_sample) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("journal")
    checked = load_sample("hanoi", disks="3", p="0.9")
    compiled = emit(checked, decisions=DECISIONS)
    write(compiled.files, str(folder))
    spec = importlib.util.spec_from_file_location("journal_program", folder / "run_hanoi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (folder / "input.json").write_text(json.dumps(make_input(checked)), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        # every run builds a client, and each client an SSL context (30 ms) it never uses here
        context = ssl.create_default_context()
        patch.setattr(ssl, "create_default_context", lambda *args, **kwargs: context)
        with SimServer(SimCore(checked, seed=3)) as server:
            partial = World(module, server, folder, b"", None, [])
            reference = resume(partial, None)
            assert reference.code == 0, reference.stderr
            journal = (folder / "hanoi.journal").read_bytes()
            yield World(module, server, folder, journal, reference.result, reference.served)


def resume(world: World, journal: bytes | None, *flags: str) -> Outcome:
    """Run the program in-process with the journal ``journal`` (None: as it is on disk)."""
    path = world.folder / "hanoi.journal"
    if journal is not None:
        path.write_bytes(journal)
    output = world.folder / "output.json"
    output.unlink(missing_ok=True)
    world.server.core.reset()
    argv = ["--base-url", world.server.url, "--input", str(world.folder / "input.json")]
    argv += ["--journal", str(path), "--output", str(output), "--progress", "off"]
    argv += ["--backoff", "0", "--no-fsync", *flags]
    stderr = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
        try:
            code: int | str | None = world.module.main(argv)
        except SystemExit as stop:
            code = stop.code
    result = json.loads(output.read_text(encoding="utf-8")) if output.exists() else None
    return Outcome(code, stderr.getvalue(), result, world.server.core.stats()["keys"])


def whole_keys(journal: bytes) -> list[str]:
    """The keys of the records whose lines are whole (newline included), header aside."""
    lines = journal[: journal.rfind(b"\n") + 1].split(b"\n")[:-1]
    return [json.loads(line)["key"] for line in lines[1:]]


def cuts(journal: bytes) -> list[int]:
    """Every line boundary and the byte before it (a line without its newline), every byte of
    the last two records, and the first, middle and last byte of the header and of every
    other record."""
    ends = [0, *(i + 1 for i, byte in enumerate(journal) if byte == ord("\n"))]
    points = set(range(ends[-3], len(journal) + 1))
    for start, end in itertools.pairwise(ends):
        points |= {start, start + 1, (start + end) // 2, end - 1, end}
    return sorted(points)


def test_every_cut_of_a_journal_resumes_without_repeating_a_completed_call(world: World) -> None:
    assert len(world.keys) >= 15 and len(world.journal.splitlines()) == len(world.keys) + 1
    points = cuts(world.journal)
    assert len(points) > 300
    for cut in points:
        torn = world.journal[:cut]
        done = whole_keys(torn)
        got = resume(world, torn)
        where = f"journal cut at byte {cut} of {len(world.journal)}"
        assert got.code == 0, f"{where}: {got.code!r} {got.stderr}"
        assert got.result == world.result, where
        # nothing held whole was asked again; together the runs made exactly the reference's calls
        assert not set(done) & set(got.served), where
        assert sorted(done + got.served) == sorted(world.keys), where
        # the journal left behind is whole: every record on its own line, each call once
        after = (world.folder / "hanoi.journal").read_bytes()
        assert after.endswith(b"\n"), where
        assert sorted(whole_keys(after)) == sorted(world.keys), where


@pytest.mark.parametrize("where", ["header", "middle", "last"])
def test_a_resumed_torn_journal_replays_everything_the_next_time(world: World, where: str) -> None:
    """The defect this guards: the record appended after a torn line was glued to it, lost,
    and its call made again by the next run."""
    ends = [i + 1 for i, byte in enumerate(world.journal) if byte == ord("\n")]
    cut = {
        "header": ends[0] // 2,
        "middle": ends[len(ends) // 2] - 7,
        "last": len(world.journal) - 5,
    }
    first = resume(world, world.journal[: cut[where]])
    assert first.code == 0 and first.served, first.stderr
    again = resume(world, None)
    assert again.code == 0 and again.result == world.result, again.stderr
    assert again.served == []  # every call replayed from the journal


class InstantClient:
    """The simulated LLM's answers without HTTP, at once: the samples a step draws together
    complete in the same turn of the event loop, so the run does not depend on timing."""

    def __init__(self, core: SimCore):
        self.core = core
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))

    async def create(self, **body: Any) -> Any:
        reply = self.core.complete(body, body["extra_headers"]["X-Aalp-Call"])
        choice, usage = reply["choices"][0], reply["usage"]
        message = SimpleNamespace(content=choice["message"]["content"])
        return SimpleNamespace(
            choices=[SimpleNamespace(message=message, finish_reason=choice["finish_reason"])],
            usage=SimpleNamespace(**usage),
        )


@dataclass
class Synced:
    """A run with fsync on, from an empty journal, groups of ``group`` records."""

    synced: list[int]  # the journal's length as every fsync began
    journal: bytes  # the journal as the run left it
    #: per acknowledged call (its answer went on to the plan): its key, the journal's bytes
    #: then (what a process killed at that moment leaves behind) and its synced length then
    acknowledged: list[tuple[str, bytes, int]]


async def inline(run: Any) -> Any:
    asyncio.get_running_loop().set_default_executor(Inline())
    return await run


class Inline(ThreadPoolExecutor):
    """Runs what it is given at once, in the caller's thread: the journal's fsyncs happen
    where they start, so a run's groups do not depend on a thread's timing."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        done: Future = Future()
        done.set_result(fn(*args, **kwargs))
        return done


def synced(world: World, group: int) -> Synced:
    """Run with fsync on, an fsync every ``group`` records (and none on a timer)."""
    path = world.folder / "hanoi.journal"
    path.unlink(missing_ok=True)
    world.server.core.reset()
    acknowledged: list[tuple[str, bytes, int]] = []
    synced: list[int] = []
    original, fsync = world.module.Runner.call, world.module.os.fsync

    async def call(self: Any, name: str, key: str, *rest: Any) -> Any:
        got = await original(self, name, key, *rest)
        acknowledged.append((key, path.read_bytes(), synced[-1] if synced else 0))
        return got

    def counted(fd: int) -> None:
        covered = world.module.os.fstat(fd).st_size  # at least this much is on disk after it
        fsync(fd)
        synced.append(covered)

    argv = ["--input", str(world.folder / "input.json"), "--journal", str(path)]
    args = world.module.parse_args([*argv, "--progress", "off"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(world.module.Runner, "call", call)
        patch.setattr(world.module.os, "fsync", counted)
        patch.setattr(world.module, "SYNC_GROUP", group)
        patch.setattr(world.module, "SYNC_INTERVAL", 3600.0)
        result, _ = asyncio.run(
            inline(world.module.run_plan(args, InstantClient(world.server.core)))
        )
    assert result == world.result
    return Synced(synced, path.read_bytes(), acknowledged)


def test_records_are_synced_in_groups_and_all_before_the_run_reports(world: World) -> None:
    run = synced(world, group=4)
    calls = len(world.keys)
    assert sorted(whole_keys(run.journal)) == sorted(world.keys)
    # one fsync per group of at least four records (the header is in the first, and the
    # records written while an fsync runs wait for the next) and the last one when the journal
    # closes, so everything written is on disk before the run returns its result
    assert 2 < len(run.synced) <= calls // 4 + 1, (run.synced, calls)
    groups = [len(whole_keys(run.journal[:n])) for n in run.synced]
    assert all(b - a >= 4 for a, b in itertools.pairwise([-1, *groups[:-1]])), groups
    assert max(run.synced) == len(run.journal)
    # an answer is used as soon as its record is written, not once it is synced
    assert any(len(left) > durable for _, left, durable in run.acknowledged)


def test_a_killed_process_loses_nothing_it_acknowledged(world: World) -> None:
    """A killed process leaves every record it handed to the OS: each call the run went on
    with is in the journal, whole, and a run resumed from it asks for none of them."""
    run = synced(world, group=4)
    assert len(run.acknowledged) == len(world.keys)
    for number, (key, left, _) in enumerate(run.acknowledged):
        where = f"killed after acknowledging call {number} ({key})"
        done = whole_keys(left)
        assert {k for k, _, _ in run.acknowledged[: number + 1]} <= set(done), where
        if number % 4:  # every fourth moment is enough to resume from
            continue
        got = resume(world, left)
        assert got.code == 0 and got.result == world.result, f"{where}: {got.stderr}"
        assert not set(done) & set(got.served), where
        assert sorted(done + got.served) == sorted(world.keys), where


def test_a_crash_loses_at_most_the_unsynced_group_and_resume_recomputes_it(
    world: World,
) -> None:
    """A crashed machine keeps what the last fsync covered: the run resumed from it asks for
    exactly the calls written after it and ends in the same result."""
    run = synced(world, group=4)
    assert len(run.synced) >= 4
    for durable in run.synced:
        kept = run.journal[:durable]
        done = whole_keys(kept)
        got = resume(world, kept)
        where = f"a crash after the fsync at byte {durable}"
        assert got.code == 0 and got.result == world.result, f"{where}: {got.stderr}"
        assert not set(done) & set(got.served), where
        assert sorted(done + got.served) == sorted(world.keys), where
        # blocks the crash lost read as zeros, even with later writes kept after them
        holed = kept + b"\0" * 64 + run.journal[durable + 64 :]
        got = resume(world, holed)
        assert got.code == 0 and got.result == world.result, f"{where}, holed: {got.stderr}"
        assert sorted(done + got.served) == sorted(world.keys), where
        assert b"\0" not in (world.folder / "hanoi.journal").read_bytes(), where


def _line(journal: bytes, number: int, change: Any) -> bytes:
    lines = journal.split(b"\n")
    lines[number - 1] = change(lines[number - 1])
    return b"\n".join(lines)


def _record(change: Any) -> Any:
    def edit(line: bytes) -> bytes:
        record = json.loads(line)
        change(record)
        return json.dumps(record).encode()

    return edit


DAMAGE = {
    "a JSON list as a line": (3, lambda line: b"[1,2,3]"),
    "a record without its key": (3, _record(lambda r: r.pop("key"))),
    "a header that is a number": (1, lambda line: b"42"),
    "content null": (4, _record(lambda r: r.update(content=None))),
    "bytes that are not UTF-8": (
        3,
        lambda line: line.replace(b'"content": "', b'"content": "\xff\xfe'),
    ),
    "a torn line glued to the next": (3, lambda line: line[:40] + line),
    "a record of no op of the plan": (5, _record(lambda r: r.update(op="jump"))),
    "token counts that are not counts": (3, _record(lambda r: r.update(prompt_tokens="many"))),
    "a line nested too deep": (3, lambda line: b"[" * 100_000),
    "an empty line": (3, lambda line: b""),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damage_is_a_one_line_refusal_and_fresh_starts_over(world: World, damage: str) -> None:
    number, change = DAMAGE[damage]
    path = world.folder / "hanoi.journal"
    damaged = _line(world.journal, number, change)
    got = resume(world, damaged)
    assert isinstance(got.code, str), got  # SystemExit with a message: exit status 1
    assert got.code.startswith("error: ") and "\n" not in got.code
    assert f"{path}" in got.code and f"line {number}" in got.code and "--fresh" in got.code
    assert got.served == [] and path.read_bytes() == damaged  # nothing asked, nothing touched
    fresh = resume(world, None, "--fresh")
    assert fresh.code == 0 and fresh.result == world.result, fresh.stderr
    assert sorted(fresh.served) == sorted(world.keys)
    assert (world.folder / "hanoi.journal.old").read_bytes() == damaged


def test_a_journal_that_is_a_directory_is_refused_in_one_line(world: World) -> None:
    path = world.folder / "hanoi.journal"
    path.unlink(missing_ok=True)
    (world.folder / "hanoi.journal.old").unlink(missing_ok=True)
    path.mkdir()
    try:
        got = resume(world, None)
        assert isinstance(got.code, str) and "\n" not in got.code, got
        assert f"the journal {path} is a directory" in got.code and "--fresh" in got.code
        fresh = resume(world, None, "--fresh")  # moves the directory aside
        assert fresh.code == 0 and fresh.result == world.result, fresh.stderr
        assert (world.folder / "hanoi.journal.old").is_dir()
    finally:
        path.unlink(missing_ok=True)
        (world.folder / "hanoi.journal.old").rmdir()


def test_other_journal_problems_are_one_line_errors(world: World) -> None:
    other = _line(world.journal, 1, _record(lambda r: r.update(identity="another")))
    got = resume(world, other)
    assert isinstance(got.code, str) and "belongs to another plan or input" in got.code
    missing = world.folder / "no" / "such" / "dir" / "hanoi.journal"
    got = resume(world, None, "--journal", str(missing))
    assert isinstance(got.code, str) and "\n" not in got.code
    assert got.code.startswith(f"error: cannot use the journal {missing}")


def test_a_refusal_through_the_command_line_is_one_line_and_exit_1(world: World) -> None:
    """The same refusal from a real process: no traceback, exit status 1, one line."""
    path = world.folder / "hanoi.journal"
    path.write_bytes(_line(world.journal, 1, lambda line: b"42"))
    data = json.loads((world.folder / "input.json").read_text(encoding="utf-8"))
    run = run_program(
        world.folder / "run_hanoi.py",
        world.server.url,
        world.folder,
        data,
        ["--journal", str(path)],
    )
    assert run.returncode == 1
    assert run.stderr.strip().count("\n") == 0 and "line 1" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_a_disk_that_refuses_an_fsync_stops_the_run_in_one_line(world: World) -> None:
    """An fsync that fails (an I/O error) stops the run at its next call: one line, exit 1,
    and what was written stays for the next run."""
    path = world.folder / "hanoi.journal"
    path.unlink(missing_ok=True)
    world.server.core.reset()

    def refused(fd: int) -> None:
        raise OSError(5, "Input/output error")

    argv = ["--base-url", world.server.url, "--input", str(world.folder / "input.json")]
    argv += ["--journal", str(path), "--progress", "off", "--report", "-"]
    stderr = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(world.module.os, "fsync", refused)
        patch.setattr(world.module, "SYNC_GROUP", 2)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
            code = world.module.main(argv)
    assert code == 1, stderr.getvalue()
    message = stderr.getvalue().strip()
    assert message.startswith(f"error: cannot sync the journal {path}: Input/output error")
    assert "\n" not in message and "Traceback" not in message
    got = resume(world, None)  # the records written before the failure are replayed
    assert got.code == 0 and got.result == world.result, got.stderr
    assert len(got.served) < len(world.keys)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
