"""Emitted programs check what they need at start: a package that is not installed, or an
exact check still the stub, stops the program with one line naming it (never a traceback),
and ``compile`` warns about the check for every target."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from aalp.cli import main
from targets_env import venv_python

ROOT = Path(__file__).resolve().parent.parent
EVOLUTION = ROOT / "samples" / "evolution.aalp"
TARGETS = ("python", "langgraph", "dspy", "openai-agents", "autogen", "crewai")
NEEDS = {
    "python": "openai",
    "langgraph": "langchain-core",
    "dspy": "dspy",
    "openai-agents": "openai-agents",
    "autogen": "autogen-agentchat",
    "crewai": "crewai",
}


def _compile(tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    out = tmp_path / target
    with pytest.raises(SystemExit) as stop:
        main(["compile", str(EVOLUTION), "-t", target, "-o", str(out)])
    assert stop.value.code == 0
    _, err = capsys.readouterr()
    # the program, not its exact checks or the runtime module the framework targets import
    program = next(
        p for p in sorted(out.glob("*.py")) if p.name not in ("checks.py", "aalp_runtime.py")
    )
    return program, err


def _run(
    python: str, program: Path, *flags: str, isolated: bool = False
) -> subprocess.CompletedProcess[str]:
    interpreter = [python, "-I", "-S"] if isolated else [python]
    return subprocess.run(
        [*interpreter, str(program), "--base-url", "http://127.0.0.1:9/v1", *flags],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=program.parent,
    )


@pytest.mark.parametrize("target", TARGETS)
def test_compile_warns_about_the_exact_check_for_every_target(tmp_path, capsys, target) -> None:
    _, err = _compile(tmp_path, target, capsys)
    hint = "check_mutate(request, answer) in checks.py" if target == "python" else "CHECKS"
    assert "warning: op 'mutate' retries until an exact check passes" in err and hint in err


@pytest.mark.parametrize("target", TARGETS)
def test_a_missing_package_is_one_line(tmp_path, capsys, target) -> None:
    program, _ = _compile(tmp_path, target, capsys)
    # -I -S: no site-packages, so none of the program's packages can be imported
    run = _run(sys.executable, program, isolated=True)
    assert run.returncode == 1
    need = NEEDS[target]
    assert run.stderr == f"error: this program needs {need}, not installed: pip install {need}\n"


def test_the_python_checks_stub_stops_at_start(tmp_path, capsys) -> None:
    program, _ = _compile(tmp_path, "python", capsys)
    run = _run(sys.executable, program, "--journal", "-")
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith("error: write check_mutate(request, answer) in ")
    assert run.stderr.count("\n") == 1
    checks = program.parent / "checks.py"
    text = checks.read_text(encoding="utf-8")
    body = text.split("def check_mutate", 1)[1]
    written = text.replace(body.split("raise NotImplementedError", 1)[1].split("\n", 1)[0], "")
    written = written.replace("raise NotImplementedError", "return len(str(answer)) > 0")
    checks.write_text(written, encoding="utf-8")
    run = _run(sys.executable, program, "--journal", "-", "--max-transport-retries", "0")
    assert "write check_mutate" not in run.stderr  # past the check: it now fails to connect


@pytest.mark.parametrize("target", TARGETS[1:])
def test_a_framework_program_names_the_check_to_write(tmp_path, capsys, target) -> None:
    python = venv_python(target)
    program, _ = _compile(tmp_path, target, capsys)
    run = _run(python, program)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr == (
        "error: op 'mutate' retries until an exact check passes: write it as "
        f"CHECKS['mutate'] = check(request, answer) -> bool in {program.name}\n"
    )


def test_the_ray_checks_stub_stops_before_ray_starts(tmp_path, capsys) -> None:
    """The Ray program reads the same checks.py as the python target, with the same test."""
    python = venv_python("ray")
    program, _ = _compile(tmp_path, "ray", capsys)
    run = _run(python, program, "--run-dir", str(tmp_path / "run"))
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith("error: write check_mutate(request, answer) in ")
    assert run.stderr.count("\n") == 1
