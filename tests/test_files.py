"""What aalp reads: prompt files confined to the spec's folder, size limits checked before
reading, special files refused without blocking, and every refusal a positioned diagnostic.

Every reader of prompt files (the checker, the code generators, the simulated server, the
explorer) goes through ``aalp.checks.loader.read_prompt``; the tests below reach it through each.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from aalp import codes
from aalp.backends.view import PlanError
from aalp.checks.loader import (
    MAX_FILE_BYTES,
    MAX_PROMPT_BYTES,
    PromptError,
    load,
    load_text,
    read_prompt,
    read_source,
)
from aalp.diagnostics import SpecError
from aalp.front.parser import parse
from aalp.plan.prompts import PromptFileError, system_prompt

SPEC = """\
param n = 1000
model small {
  size 1
  context 128k
  price in 0.40 out 1.60 per Mtok
  can count
}
task counting {
  items digits = n of 1 tokens
  op count(x of digits) on small {
    reads 50 + x tokens
    writes 5 tokens
    success 0.999^x
    prompt file "PROMPT"
  }
  map count over digits
  combine sum
  require success >= 0.9
  minimize cost
}
"""
PROMPT_AT = (14, 5)  # line and column of the prompt clause in SPEC


def spec_with(folder: Path, prompt: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "c.aalp"
    path.write_text(SPEC.replace("PROMPT", prompt), encoding="utf-8")
    return path


def refused(path: Path) -> tuple[str, int, int, str]:
    """(code, line, col, message) of the one diagnostic loading ``path`` gives."""
    with pytest.raises(SpecError) as err:
        load(path)
    (diag,) = err.value.diagnostics
    assert diag.hint
    return diag.code, diag.line, diag.col, diag.message


def test_a_prompt_file_in_the_folder_or_below_is_read(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "count.txt").write_text("Count the 7s.", encoding="utf-8")
    assert load(spec_with(tmp_path, "prompts/count.txt")).diagnostics == ()


@pytest.mark.parametrize("name", ["/proc/self/environ", "/etc/passwd", "//etc/passwd"])
def test_absolute_prompt_paths_are_refused(tmp_path: Path, name: str) -> None:
    code, line, col, message = refused(spec_with(tmp_path, name))
    assert (code, line, col) == (codes.PROMPT_OUTSIDE, *PROMPT_AT)
    assert "absolute path" in message


@pytest.mark.parametrize("name", ["../secret.txt", "prompts/../../secret.txt", "a/../b.txt"])
def test_dot_dot_in_a_prompt_path_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "secret.txt").write_text("API_KEY=sk-123", encoding="utf-8")
    code, line, col, message = refused(spec_with(tmp_path / "spec", name))
    assert (code, line, col) == (codes.PROMPT_OUTSIDE, *PROMPT_AT)
    assert "'..'" in message


def test_a_symbolic_link_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("API_KEY=sk-123", encoding="utf-8")
    folder = tmp_path / "spec"
    folder.mkdir()
    (folder / "p.txt").symlink_to(secret)
    (folder / "inside").symlink_to(tmp_path)  # a linked folder leading out
    for name in ("p.txt", "inside/secret.txt"):
        code, line, col, message = refused(spec_with(folder, name))
        assert (code, line, col) == (codes.PROMPT_OUTSIDE, *PROMPT_AT)
        assert "symbolic link" in message


def test_a_symbolic_link_within_the_folder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("Count.", encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")
    assert load(spec_with(tmp_path, "link.txt")).diagnostics == ()


def test_a_link_to_a_device_is_refused(tmp_path: Path) -> None:
    (tmp_path / "zero").symlink_to("/dev/zero")
    assert refused(spec_with(tmp_path, "zero"))[0] == codes.PROMPT_OUTSIDE


@pytest.mark.parametrize("kind", ["directory", "fifo", "dot"])
def test_special_prompt_files_are_refused(tmp_path: Path, kind: str) -> None:
    name = {"directory": "sub", "fifo": "pipe", "dot": "."}[kind]
    if kind == "directory":
        (tmp_path / "sub").mkdir()
    elif kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no named pipes here")
        os.mkfifo(tmp_path / "pipe")  # opening it for reading would wait for a writer
    code, line, col, message = refused(spec_with(tmp_path, name))
    assert (code, line, col) == (codes.UNREADABLE_PROMPT, *PROMPT_AT)
    assert "directory" in message or "named pipe" in message


def test_prompt_files_have_a_size_limit(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_bytes(b"x" * (MAX_PROMPT_BYTES + 1))
    (tmp_path / "full.txt").write_bytes(b"x" * MAX_PROMPT_BYTES)
    code, line, col, message = refused(spec_with(tmp_path, "big.txt"))
    assert (code, line, col) == (codes.FILE_TOO_LARGE, *PROMPT_AT)
    assert "1 MiB" in message
    assert load(spec_with(tmp_path, "full.txt")).diagnostics == ()


def test_a_prompt_file_that_is_not_utf8_fails_check_not_compile(tmp_path: Path) -> None:
    (tmp_path / "latin1.txt").write_bytes("Zählen Sie.".encode("latin-1"))
    code, line, col, message = refused(spec_with(tmp_path, "latin1.txt"))
    assert (code, line, col) == (codes.UNREADABLE_PROMPT, *PROMPT_AT)
    assert "not UTF-8" in message and "byte 1 " in message


def test_a_prompt_file_name_too_long_is_a_clear_diagnostic(tmp_path: Path) -> None:
    code, line, col, message = refused(spec_with(tmp_path, "a" * 256))
    assert (code, line, col) == (codes.UNREADABLE_PROMPT, *PROMPT_AT)
    assert "too long" in message and len(message) < 200  # the name is shortened


@pytest.mark.parametrize(("name", "code"), [("", codes.UNREADABLE_PROMPT)])
def test_odd_prompt_names(tmp_path: Path, name: str, code: str) -> None:
    assert refused(spec_with(tmp_path, name))[0] == code


def test_a_nul_in_a_prompt_name_is_refused() -> None:
    with pytest.raises(PromptError) as err:
        read_prompt("a\0b", ".")
    assert err.value.code == codes.UNREADABLE_PROMPT


def test_text_without_a_file_reads_no_prompt_file_unless_given_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "p.txt").write_text("Count.", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the file exists in the current directory: still not read
    text = SPEC.replace("PROMPT", "p.txt")
    with pytest.raises(SpecError) as err:
        load_text(text)
    (diag,) = err.value.diagnostics
    assert (diag.code, diag.line, diag.col) == (codes.NO_PROMPT_FOLDER, *PROMPT_AT)
    assert diag.span.file == "<spec>"
    with pytest.raises(SpecError) as err:  # an empty name is no file either
        load_text(text, "")
    assert [d.code for d in err.value.diagnostics] == [codes.NO_PROMPT_FOLDER]
    elsewhere = tmp_path / "specs"
    elsewhere.mkdir()
    (elsewhere / "p.txt").write_text("Count elsewhere.", encoding="utf-8")
    checked = load_text(text, prompt_dir=elsewhere)
    assert checked.prompt_dir == elsewhere
    # the code generators read from the folder the loader used, not from the current one
    (op,) = checked.spec.tasks[0].ops
    from aalp.checks.loader import prompt_dir_of

    assert system_prompt(op, checked.spec.tasks[0], prompt_dir_of(checked)) == "Count elsewhere."


def test_the_confinement_holds_for_the_code_generators_too(tmp_path: Path) -> None:
    """Even a spec that never went through the loader cannot make a target read out."""
    spec = parse(SPEC.replace("PROMPT", "/proc/self/environ"), str(tmp_path / "c.aalp"))
    task = spec.tasks[0]
    with pytest.raises(PromptFileError, match="absolute path"):
        system_prompt(task.ops[0], task, tmp_path)
    with pytest.raises(PromptFileError, match="no folder"):
        system_prompt(task.ops[0], task, None)
    (tmp_path / "latin1.txt").write_bytes(b"\xe4")
    spec = parse(SPEC.replace("PROMPT", "latin1.txt"), str(tmp_path / "c.aalp"))
    with pytest.raises(PromptFileError, match="not UTF-8"):
        system_prompt(spec.tasks[0].ops[0], spec.tasks[0], tmp_path)


def test_the_explorer_resolves_prompts_like_the_loader(tmp_path: Path) -> None:
    from aalp.explore import engine

    path = spec_with(tmp_path, "/proc/self/environ")
    spec = engine.parse(path.read_text(encoding="utf-8"), str(path))
    with pytest.raises(SpecError) as err:
        engine.check(spec, {})
    assert [d.code for d in err.value.diagnostics] == [codes.PROMPT_OUTSIDE]
    (tmp_path / "p.txt").write_text("Count.", encoding="utf-8")
    text = SPEC.replace("PROMPT", "p.txt")
    assert engine.check(engine.parse(text, str(path)), {}).diagnostics == ()
    with pytest.raises(SpecError) as err:  # text without a file: no folder to read from
        engine.check(engine.parse(text, "<spec>"), {})
    assert [d.code for d in err.value.diagnostics] == [codes.NO_PROMPT_FOLDER]


def test_build_view_uses_the_spec_folder_and_refuses_without_one(tmp_path: Path) -> None:
    from aalp.backends.view import build_view
    from aalp.plan.build import build_plan

    spec = parse(SPEC.replace("PROMPT", "p.txt"), "<spec>")
    checked = SimpleNamespace(spec=spec, env={"n": 1000, "digits": 1000})
    with pytest.raises(PlanError, match="no folder"):
        plan = build_plan(checked, spec.tasks[0], {"count.x": 10, "count.model": "small"})
        build_view(checked, spec.tasks[0], plan)


# -- the spec and decision files -------------------------------------------------------------


def test_a_spec_over_the_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.aalp"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(SpecError) as err:
        read_source(path)
    (diag,) = err.value.diagnostics
    assert diag.code == codes.FILE_TOO_LARGE and "4 MiB" in diag.message


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess, so that a read that blocks fails the test instead of hanging."""
    return subprocess.run(
        [sys.executable, "-m", "aalp.cli", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
@pytest.mark.parametrize("command", ["check", "parse", "fmt", "explain"])
def test_a_device_as_spec_is_refused_at_once(command: str) -> None:
    run = cli(command, "/dev/zero")
    assert run.returncode == 1, run.stderr
    assert f"/dev/zero: error[{codes.UNREADABLE_FILE}]: cannot read the spec" in run.stderr
    assert "character device" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_as_spec_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.aalp")
    run = cli("check", str(tmp_path / "pipe.aalp"))
    assert run.returncode == 1 and "named pipe" in run.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_decision_files_are_read_with_the_same_limits(tmp_path: Path) -> None:
    path = spec_with(tmp_path, "p.txt")
    (tmp_path / "p.txt").write_text("Count.", encoding="utf-8")
    run = cli("compile", str(path), "-o", str(tmp_path / "out"), "--decisions", "/dev/zero")
    assert run.returncode == 2 and "character device" in run.stderr, run.stderr
    run = cli("simulate", str(path), "--decisions", "@/dev/zero")
    assert run.returncode == 2 and "character device" in run.stderr, run.stderr
