"""Regenerate the golden files of emitted code: every target below × every sample.

    python tests/regen_golden.py            # rewrite tests/golden/<target>/<sample>/
    python tests/regen_golden.py --check    # exit 1 if any golden file is out of date

Goldens are compiled from the samples as written (no -D), so they change only when a
template, the optimizer's plan or the cost model's prediction changes; review the diff.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
GOLDEN = ROOT / "tests" / "golden"

#: the targets with goldens (add a target here when it lands)
TARGETS: tuple[str, ...] = (
    "python",
    "ray",
    "langgraph",
    "dspy",
    "openai-agents",
    "autogen",
    "crewai",
)


def samples() -> list[Path]:
    """Every sample spec, by name."""
    return sorted(SAMPLES.glob("*.aalp"))


#: the golden of a sample a target refuses at compile time: the diagnostic's message
REFUSED = "refused.txt"


def render(target: str, sample: Path) -> dict[str, str]:
    """The files ``target`` emits for ``sample``: relative path -> text (or, when the target
    refuses the plan, ``refused.txt`` holding why)."""
    from aalp.api import compile as emit
    from aalp.backends.view import PlanError
    from aalp.checks.loader import load

    try:
        compiled = emit(load(sample, {}), target)
    except PlanError as err:
        return {REFUSED: f"{err.code}: {err}\n"}
    return {item.path: item.text for item in compiled.files}


def golden_dir(target: str, sample: Path) -> Path:
    return GOLDEN / target / sample.stem


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for target in TARGETS:
        for sample in samples():
            folder = golden_dir(target, sample)
            files = render(target, sample)
            old = (
                {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*")}
                if (folder.exists())
                else {}
            )
            if old != files:
                stale.append(f"{target}/{sample.stem}")
                if not check:
                    folder.mkdir(parents=True, exist_ok=True)
                    for name in set(old) - set(files):
                        (folder / name).unlink()
                    for name, text in files.items():
                        (folder / name).write_text(text, encoding="utf-8", newline="\n")
    verb = "out of date" if check else "rewritten"
    print(f"{len(stale)} golden folder(s) {verb}" + (": " + ", ".join(stale) if stale else ""))
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
