"""One convention for every command (docs/cli.md): ``--format`` with ``json`` and its alias
``--json``, ``-`` for standard input, one ``--decisions FILE|-|JSON``, and every option that
appears in several commands declared once (the same names, type and metavar everywhere).

The test walks every command's ``--help`` as a user would, and its click definition.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import click
import pytest
from aalp.cli import COMMANDS, LazyGroup, cli, main
from aalp.cli.inputs import forget_stdin

# a spec argument that cannot be standard input, and why
NO_STDIN = {"explore": "the page saves the spec back to its file and reads prompt files beside it"}
# commands whose text format is not called "text", and what they call it
TEXT_FORMATS = {"graph": ("dot", "mermaid")}


def _commands() -> dict[str, click.Command]:
    group = cli
    assert isinstance(group, LazyGroup)
    ctx = click.Context(group)
    found = {name: group.get_command(ctx, name) for name in COMMANDS}
    assert all(found.values())
    return found  # type: ignore[return-value]


def _help(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as stop:
        main([*args, "--help"])
    out, err = capsys.readouterr()
    assert stop.value.code == 0 and err == "", (args, err)
    return out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_help_states_the_convention(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(capsys, name)
    assert "--format [" in text and "json" in text.split("--format [")[1].split("]")[0]
    assert "--json" in text and "The same as --format json." in text
    command = _commands()[name]
    spec_args = [p for p in command.params if isinstance(p, click.Argument)]
    for arg in spec_args:
        if name in NO_STDIN:
            assert not getattr(arg.type, "allow_dash", False), name
            continue
        assert isinstance(arg.type, click.Path) and arg.type.allow_dash, (name, arg.name)
        assert "standard input" in " ".join(text.split()), name
    formats = next(p for p in command.params if p.name == "fmt")
    assert isinstance(formats.type, click.Choice)
    assert set(TEXT_FORMATS.get(name, ("text",))) <= set(formats.type.choices)


def test_an_option_in_several_commands_is_one_declaration() -> None:
    seen: dict[str, set[tuple]] = defaultdict(set)
    users: dict[str, list[str]] = defaultdict(list)
    for name, command in _commands().items():
        for param in command.params:
            if not isinstance(param, click.Option) or param.name == "help":
                continue
            shape = (tuple(param.opts), param.name, type(param.type).__name__, param.metavar)
            if param.name != "fmt":  # graph's formats differ; the option is the same one
                shape += (repr(getattr(param.type, "choices", None)),)
            seen[param.opts[0]].add(shape)
            users[param.opts[0]].append(name)
    shared = {opt for opt, cmds in users.items() if len(cmds) > 1}
    assert {"--format", "--json", "-D", "--pin", "--task", "--decisions", "--port", "--seed"} <= (
        shared
    )
    for opt in shared:
        assert len(seen[opt]) == 1, (opt, users[opt], seen[opt])


def test_decisions_take_a_file_stdin_or_json_everywhere() -> None:
    for name, command in _commands().items():
        for param in command.params:
            if "--decisions" in getattr(param, "opts", ()):
                assert param.metavar == "FILE|-|JSON", name


GOOD = (Path(__file__).parent / "test_cli.py").read_text(encoding="utf-8")
SPEC = GOOD.split('GOOD = """', 1)[1].split('"""', 1)[0].replace(">= 0.9", ">= 0.3")
PLAN = {"count.x": 100, "count.vote": "none"}


def _run(capsys, monkeypatch, stdin: str, *args: str) -> tuple[int, str, str]:
    import io

    forget_stdin()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8"))))
    try:
        with pytest.raises(SystemExit) as stop:
            main(list(args))
    finally:
        forget_stdin()
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return stop.value.code, out, err


@pytest.mark.parametrize(
    "args",
    [
        ("check", "-"),
        ("parse", "-"),
        ("fmt", "-"),
        ("explain", "-", "--no-growth"),
        ("graph", "-"),
        ("simulate", "-", "--runs", "10"),
    ],
)
def test_dash_reads_the_spec_from_standard_input(capsys, monkeypatch, tmp_path, args) -> None:
    code, out, err = _run(capsys, monkeypatch, SPEC, *args)
    assert code == 0, err
    path = tmp_path / "good.aalp"
    path.write_text(SPEC, encoding="utf-8")
    code2, out2, _ = _run(capsys, monkeypatch, "", *[str(path) if a == "-" else a for a in args])
    assert code2 == 0
    assert out == out2.replace(str(path), "<stdin>")


def test_stdin_diagnostics_name_it(capsys, monkeypatch) -> None:
    code, _, err = _run(capsys, monkeypatch, SPEC.replace("on small", "on smal"), "check", "-")
    assert code == 1 and err.startswith("<stdin>:") and "did you mean 'small'" in err


def test_decisions_as_json_file_or_stdin_agree(capsys, monkeypatch, tmp_path) -> None:
    spec = tmp_path / "good.aalp"
    spec.write_text(SPEC, encoding="utf-8")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN), encoding="utf-8")
    outs = []
    for given, stdin in [(json.dumps(PLAN), ""), (str(plan), ""), ("-", json.dumps(PLAN))]:
        args = ["simulate", str(spec), "--runs", "50", "--decisions", given, "--format", "json"]
        code, out, err = _run(capsys, monkeypatch, stdin, *args)
        assert code == 0, err
        outs.append(out)
        code, _, err = _run(capsys, monkeypatch, stdin, "compile", str(spec), "--decisions",
                            given, "-o", str(tmp_path / "out"))  # fmt: skip
        assert code == 0, err
    assert outs[0] == outs[1] == outs[2]


def test_stdin_is_read_once(capsys, monkeypatch) -> None:
    code, _, err = _run(capsys, monkeypatch, SPEC, "simulate", "-", "--decisions", "-")
    assert code == 2 and "cannot hold both the spec and the decisions" in err


def test_bad_decisions_are_one_line_usage_errors(capsys, monkeypatch, tmp_path) -> None:
    spec = tmp_path / "good.aalp"
    spec.write_text(SPEC, encoding="utf-8")
    for given, says in [
        (str(tmp_path / "missing.json"), "cannot read"),
        ("{not json", "is not JSON"),
        ("[1, 2]", "cannot read"),
    ]:
        code, _, err = _run(capsys, monkeypatch, "", "simulate", str(spec), "--decisions", given)
        assert code == 2 and says in err, err
    code, _, err = _run(capsys, monkeypatch, "[1]", "simulate", str(spec), "--decisions", "-")
    assert code == 2 and "must be a JSON object" in err


def test_json_is_an_alias_of_format_json(capsys, monkeypatch, tmp_path) -> None:
    spec = tmp_path / "good.aalp"
    spec.write_text(SPEC, encoding="utf-8")
    _, a, _ = _run(capsys, monkeypatch, "", "explain", str(spec), "--no-growth", "--json")
    _, b, _ = _run(capsys, monkeypatch, "", "explain", str(spec), "--no-growth", "--format", "json")
    assert a == b and json.loads(a)["task"] == "counting"
    code, _, err = _run(capsys, monkeypatch, "", "check", str(spec), "--json", "--format", "text")
    assert code == 2 and "--json contradicts --format text" in err


def test_compile_to_standard_output_is_one_archive(capsys, monkeypatch, tmp_path) -> None:
    import io
    import zipfile

    spec = tmp_path / "good.aalp"
    spec.write_text(SPEC, encoding="utf-8")
    buffers = []
    for _ in range(2):
        buffer = io.BytesIO()
        monkeypatch.setattr("sys.stdout", io.TextIOWrapper(buffer))
        with pytest.raises(SystemExit) as stop:
            main(["compile", str(spec), "-o", "-"])
        assert stop.value.code == 0
        buffers.append(buffer.getvalue())
    assert buffers[0] == buffers[1]
    with zipfile.ZipFile(io.BytesIO(buffers[0])) as archive:
        assert archive.namelist() == ["run_counting.py"]


def test_every_command_speaks_json(capsys, monkeypatch, tmp_path) -> None:
    spec = tmp_path / "good.aalp"
    spec.write_text(SPEC, encoding="utf-8")
    for args in [
        ("check", str(spec)),
        ("parse", str(spec)),
        ("fmt", str(spec)),
        ("explain", str(spec), "--no-growth"),
        ("graph", str(spec)),
        ("compile", str(spec), "-o", str(tmp_path / "out")),
        ("simulate", str(spec), "--runs", "10"),
        ("targets",),
    ]:
        code, out, err = _run(capsys, monkeypatch, "", *args, "--format", "json")
        assert code == 0, (args, err)
        json.loads(out)
