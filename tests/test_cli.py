"""The command line: exit codes, output streams, -D, and no traceback ever."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aalp import codes
from aalp.cli import COMMANDS, main

GOOD = """param n = 1000
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
  }
  map count over digits
  combine sum
  require success >= 0.9
  minimize cost
}
"""


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as stop:
        main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return stop.value.code, out, err


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.aalp"
    path.write_text(GOOD, encoding="utf-8")
    return path


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.aalp"
    path.write_text(GOOD.replace("on small", "on smal").replace("size 1", "size 0"), "utf-8")
    return path


def test_help_lists_every_command_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    listed = out.split("Commands:")[1].splitlines()
    for name in COMMANDS:
        assert any(line.split()[:1] == [name] and len(line.split()) > 1 for line in listed), name


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.startswith("aalp, version ")


def test_check_ok(capsys: pytest.CaptureFixture[str], good: Path) -> None:
    code, out, err = run_cli(capsys, "check", str(good))
    assert code == 0
    assert out == f"ok: {good}: 1 task (counting)\n"
    assert err == ""


def test_check_reports_every_error_and_exits_1(
    capsys: pytest.CaptureFixture[str], bad: Path
) -> None:
    code, out, err = run_cli(capsys, "check", str(bad))
    assert code == 1
    assert out == ""
    assert f"{bad}:3:8: error[E202]" in err
    assert f"{bad}:10:3: error[E101]: unknown model 'smal'" in err
    assert "hint: did you mean 'small'?" in err
    assert err.rstrip().endswith("failed: " + str(bad) + ": 2 errors")


def test_check_several_files_and_summary(
    capsys: pytest.CaptureFixture[str], good: Path, bad: Path
) -> None:
    code, out, _ = run_cli(capsys, "check", str(good), str(bad))
    assert code == 1
    assert out.splitlines()[-1] == "checked 2 files: 1 ok, 1 failed"


def test_check_defines(capsys: pytest.CaptureFixture[str], good: Path) -> None:
    code, out, _ = run_cli(capsys, "check", str(good), "-D", "n=1M", "--json")
    assert code == 0
    (result,) = json.loads(out)
    assert result["env"]["n"] == "1000000"
    # 0.5 + x/1000 rises above 1 only when x can exceed 500
    text = good.read_text().replace("success 0.999^x", "success 0.5 + x / 1000")
    good.write_text(text)
    assert run_cli(capsys, "check", str(good), "-D", "n=500")[0] == 0
    assert run_cli(capsys, "check", str(good), "--define", "n = 501")[0] == 1


@pytest.mark.parametrize(
    ("define", "expect"),
    [
        ("nn=5", "did you mean 'n'?"),
        ("n", "is not NAME=VALUE"),
        ("n=", "is not NAME=VALUE"),
        ("n=3 +", "is not a formula"),
        ("9x=3", "is not a parameter name"),
    ],
)
def test_bad_defines_are_usage_errors(
    capsys: pytest.CaptureFixture[str], good: Path, define: str, expect: str
) -> None:
    code, _, err = run_cli(capsys, "check", str(good), "-D", define)
    assert code == 2
    assert expect in err


def test_check_json(capsys: pytest.CaptureFixture[str], good: Path, bad: Path) -> None:
    code, out, err = run_cli(capsys, "check", "--json", str(good), str(bad))
    assert code == 1 and err == ""
    ok, failed = json.loads(out)
    assert ok["ok"] and ok["tasks"] == ["counting"] and ok["diagnostics"] == []
    assert not failed["ok"]
    fields = [(d["code"], d["line"], d["col"]) for d in failed["diagnostics"]]
    assert fields == [("E202", 3, 8), ("E101", 10, 3)]


@pytest.mark.parametrize("kind", ["missing", "directory", "binary"])
def test_unreadable_files_are_clean_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "x.aalp"
    if kind == "directory":
        path.mkdir()
    elif kind == "binary":
        path.write_bytes(b"\xff\xfe\x00param")
    code, _, err = run_cli(capsys, "check", str(path))
    assert code == 1
    assert f"{path}: error[{codes.UNREADABLE_FILE}]: cannot read the spec" in err


def test_unknown_command_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "chek", "x")
    assert code == 2 and "did you mean 'check'?" in err


def test_missing_argument_is_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "check")[0] == 2


def test_internal_errors_are_one_line_and_exit_3(
    capsys: pytest.CaptureFixture[str], good: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aalp.checks.loader

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(aalp.checks.loader, "load", explode)
    monkeypatch.delenv("AALP_DEBUG", raising=False)
    code, _, err = run_cli(capsys, "check", str(good))
    assert code == 3
    assert err.splitlines()[0] == "aalp: internal error: RuntimeError: boom"
    assert "please report it" in err


# -- fmt and parse ------------------------------------------------------------------------------


def test_fmt_check_and_write(capsys: pytest.CaptureFixture[str], good: Path) -> None:
    pytest.importorskip("aalp.front.printer")
    messy = GOOD.replace("  size 1\n", "  size     1\n")
    good.write_text(messy)
    code, out, _ = run_cli(capsys, "fmt", str(good))
    assert code == 0
    canonical = out
    assert run_cli(capsys, "fmt", "--check", str(good))[:2] == (1, f"would reformat {good}\n")
    assert run_cli(capsys, "fmt", "--write", str(good))[0] == 0
    assert good.read_text() == canonical
    assert run_cli(capsys, "fmt", "--check", str(good))[0] == 0


def test_fmt_usage(capsys: pytest.CaptureFixture[str], good: Path, bad: Path) -> None:
    assert run_cli(capsys, "fmt", "--check", "--write", str(good))[0] == 2
    assert run_cli(capsys, "fmt", str(good), str(bad))[0] == 2


def test_fmt_and_parse_report_syntax_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "s.aalp"
    path.write_text("param n = 12abc\n")
    for command in ("fmt", "parse"):
        code, _, err = run_cli(capsys, command, str(path))
        assert code == 1
        assert f"{path}:1:11: error[E005]" in err


def test_parse_json(capsys: pytest.CaptureFixture[str], good: Path) -> None:
    pytest.importorskip("aalp.front.serialize")
    code, out, _ = run_cli(capsys, "parse", "--json", str(good))
    assert code == 0
    data = json.loads(out)
    assert "counting" in json.dumps(data)


def test_parse_without_json_prints_the_ir(capsys: pytest.CaptureFixture[str], good: Path) -> None:
    code, out, _ = run_cli(capsys, "parse", str(good))
    assert code == 0 and out.startswith("Spec(")


# -- the installed script and the samples -------------------------------------------------------


def test_script_exit_codes_end_to_end(tmp_path: Path, good: Path, bad: Path) -> None:
    exe = shutil.which("aalp")
    base = [exe] if exe else [sys.executable, "-c", "from aalp.cli import main; main()"]
    ok = subprocess.run([*base, "check", str(good)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    failed = subprocess.run([*base, "check", str(bad)], capture_output=True, text=True)
    assert failed.returncode == 1 and "error[E101]" in failed.stderr
    usage = subprocess.run([*base, "check", str(good), "-D", "q=1"], capture_output=True)
    assert usage.returncode == 2


def test_every_sample_passes_check(capsys: pytest.CaptureFixture[str], samples_dir: Path) -> None:
    samples = sorted(str(p) for p in samples_dir.glob("*.aalp"))
    if not samples:
        pytest.skip("no samples yet")
    code, _, err = run_cli(capsys, "check", *samples)
    assert code == 0, err
    assert "error[" not in err


def test_a_broken_command_does_not_break_help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import aalp.cli

    monkeypatch.setitem(aalp.cli.COMMANDS, "broken", "aalp.no_such_module:command")
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    assert "broken" in out and "unavailable: ModuleNotFoundError" in out
    assert "check " in out
    code, _, err = run_cli(capsys, "broken")
    assert code == 3 and "internal error" in err
