"""Mutation fuzzing of the front end: every sample, changed the ways a user or an attacker
would change it, through ``parse`` and ``check`` (``load_text``) in-process.

Whatever the mutation, the only failures allowed are ``SpecError`` (and ``UsageError`` for a
bad ``-D``) whose diagnostics are positioned inside the text; never another exception, never
a checked spec whose values are infinite or NaN, and never a slow case. The cases are drawn
from a seeded generator, so every run tries the same 3,000 and a failure names the case to
replay: ``case(SEED, INDEX)``.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from aalp.checks.loader import load_text
from aalp.checks.values import finite
from aalp.diagnostics import SpecError, UsageError

SAMPLES = sorted((Path(__file__).parent.parent / "samples").glob("*.aalp"))
TEXTS = {path: path.read_text(encoding="utf-8") for path in SAMPLES}
TOKEN = re.compile(r'"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*|\w+(?:\.\w+)?|[^\s\w]')
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[kMGT]?(?![\w.])")
PARAM = re.compile(r"(?m)^param (\w+) = ")

CHUNKS = 30  # test functions (xdist spreads them over the cores)
PER_CHUNK = 100  # cases in each
PER_CASE = 5.0  # seconds: a sanity bound, far above the few milliseconds a case takes

HUGE = [
    "1e308",
    "2^1023",
    "2^1024",
    "exp(1e6)",
    "exp(-exp(1e6))",
    "1e400",
    "1e-1000",
    "9" * 400,
    "floor(1e308)",
    "ceil(1e308)*10",
    "2^2^2^2^2^2",
    "(2^1023)*(2^1023)",
    "exp(1e6) - exp(1e6)",
    "0*exp(1e6)",
    "log(0)",
    "1/0",
    "0^-1",
    "sqrt(-1)",
    "(-8)^(1/3)",
    "log(exp(1e6), exp(1e6))",
    "-1",
    "0",
    "0.5",
    "1e-320",
]
EXPONENTS = ["^(1e-1000)", "^1023", "^(2^1023)", "^-1", "^0.5", "^(1e308)", "^(-1e308)"]
PROMPTS = [
    "/proc/self/environ",
    "/etc/passwd",
    "//etc/passwd",
    "../../../etc/passwd",
    "prompts/../../secret",
    "prompts/../prompts/hanoi.txt",
    "prompts/hanoi.txt",
    "prompts",
    ".",
    "",
    "a" * 256,
    "prompts/" + "b" * 300,
    "/dev/zero",
    "\\0",
    "x\\u{0}y",
    "C:\\\\Windows\\\\win.ini",
    "~/.ssh/id_rsa",
    "\\n",
    "nul",
    "prompts/hanoi.txt/",
]


@dataclass(frozen=True)
class Case:
    what: str
    text: str
    file: str
    overrides: dict[str, str]


def _tokens(text: str) -> list[re.Match[str]]:
    return list(TOKEN.finditer(text))


def _splice(text: str, m: re.Match[str], new: str) -> str:
    return text[: m.start()] + new + text[m.end() :]


def mutate(rng: random.Random, text: str) -> tuple[str, str]:
    """One mutation of ``text``: (what was done, the new text)."""
    kind = rng.choice(
        [
            "delete",
            "duplicate",
            "swap",
            "digit",
            "huge",
            "exponent",
            "prompt",
            "bytes",
            "controls",
            "truncate",
            "lines",
            "no task",
        ]
    )
    words = _tokens(text)
    numbers = list(NUMBER.finditer(text))
    if kind in ("delete", "duplicate") and words:
        for _ in range(rng.randint(1, 4)):
            words = _tokens(text)
            if not words:  # every word deleted already
                break
            m = rng.choice(words)
            text = _splice(text, m, "" if kind == "delete" else m.group() * rng.randint(2, 3))
    elif kind == "swap" and len(words) > 1:
        i = rng.randrange(len(words) - 1)
        a, b = words[i], words[i + 1]
        between = text[a.end() : b.start()]
        text = text[: a.start()] + b.group() + between + a.group() + text[b.end() :]
    elif kind == "digit" and numbers:
        m = rng.choice(numbers)
        digits = list(m.group())
        spots = [i for i, c in enumerate(digits) if c.isdigit()]
        for i in rng.sample(spots, min(len(spots), rng.randint(1, 2))):
            digits[i] = rng.choice("0123456789")
        text = _splice(text, m, "".join(digits) + rng.choice(["", "", "0", "00000", ".5"]))
    elif kind == "huge" and numbers:
        text = _splice(text, rng.choice(numbers), rng.choice(HUGE))
    elif kind == "exponent" and numbers:
        m = rng.choice(numbers)
        text = _splice(text, m, m.group() + rng.choice(EXPONENTS))
    elif kind == "prompt":
        name = rng.choice(PROMPTS)
        clause = f'prompt file "{name}"'
        existing = list(re.finditer(r'prompt (?:file )?(?:"""[\s\S]*?"""|"[^"\n]*")', text))
        if existing and rng.random() < 0.7:
            text = _splice(text, rng.choice(existing), clause)
        else:
            ops = list(re.finditer(r"(?m)^  op [^\n]*\{\n", text))
            if ops:
                at = rng.choice(ops).end()
                text = text[:at] + f"    {clause}\n" + text[at:]
        kind += f" {name!r}"
    elif kind == "bytes":
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(1, 24)))
        at = rng.randrange(len(text) + 1)
        text = text[:at] + raw.decode("latin-1") + text[at:]
    elif kind == "controls":
        junk = "".join(rng.choice('\0\x1b\x7f\u2028\ufeff\t\r"{}()#\\') for _ in range(6))
        at = rng.randrange(len(text) + 1)
        text = text[:at] + junk + text[at:]
    elif kind == "truncate":
        text = text[: rng.randrange(len(text) + 1)]
    elif kind == "lines":
        lines = text.split("\n")
        i = rng.randrange(len(lines))
        lines.insert(rng.randrange(len(lines) + 1), lines[i])
        if rng.random() < 0.5:
            del lines[rng.randrange(len(lines))]
        text = "\n".join(lines)
    elif kind == "no task":
        text = re.sub(r"(?ms)^task \w+ \{.*?^\}\n?", "", text)
    return kind, text


def case(seed: int, index: int) -> Case:
    """The ``index``-th case of chunk ``seed`` (deterministic)."""
    rng = random.Random(seed * 1_000_003 + index)
    path = rng.choice(SAMPLES)
    text = TEXTS[path]
    steps = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        what, text = mutate(rng, text)
        steps.append(what)
    overrides: dict[str, str] = {}
    params = PARAM.findall(TEXTS[path])
    if params and rng.random() < 0.15:
        overrides[rng.choice(params)] = rng.choice([*HUGE, "nope(", "", "1M"])
    return Case(f"{path.name}: {', '.join(steps)}", text, str(path), overrides)


def run_case(c: Case) -> None:
    """Parse and check one case; fail on anything but well-formed diagnostics."""
    start = time.perf_counter()
    try:
        checked = load_text(c.text, c.file, c.overrides)
    except UsageError as err:  # a bad -D: about the command line, not the text
        assert err.diagnostics and all(d.message for d in err.diagnostics)
    except SpecError as err:
        assert any(d.severity == "error" for d in err.diagnostics)
        positioned(c, err.diagnostics)
    else:
        positioned(c, checked.diagnostics)
        for name, value in checked.env.items():
            assert finite(value), f"{name} = {value} accepted"
    elapsed = time.perf_counter() - start
    assert elapsed < PER_CASE, f"took {elapsed:.1f}s"


def positioned(c: Case, diagnostics) -> None:
    lines = c.text.replace("\r\n", "\n").split("\n")
    for d in diagnostics:
        assert d.message and d.code, d
        assert d.span.file == c.file, d
        assert 1 <= d.line <= len(lines), (d, len(lines))
        assert 1 <= d.col <= len(lines[d.line - 1]) + 1, (d, lines[d.line - 1][:80])


@pytest.mark.parametrize("seed", range(CHUNKS))
def test_mutated_samples_give_only_diagnostics(seed: int) -> None:
    for index in range(PER_CHUNK):
        c = case(seed, index)
        try:
            run_case(c)
        except Exception as err:  # report the case to replay with the failure
            raise AssertionError(
                f"case({seed}, {index}) [{c.what}] overrides={c.overrides}: "
                f"{type(err).__name__}: {err}"
            ) from err


def test_the_mutations_cover_what_they_claim() -> None:
    """The generator really produces each kind of hostile change (so a refactoring of it
    cannot silently stop testing one)."""
    kinds = [case(seed, i).what for seed in range(CHUNKS) for i in range(PER_CHUNK)]
    text = " ".join(kinds)
    for word in ("delete", "duplicate", "swap", "digit", "huge", "exponent", "bytes", "no task"):
        assert word in text, word
    for name in ("/proc/self/environ", "../../../etc/passwd", "a" * 256, "/dev/zero"):
        assert repr(name) in text, name
    assert len(kinds) == 3000
