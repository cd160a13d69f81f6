"""The calibration file: what ``aalp calibrate`` measured, read and written
(docs/calibration.md §4).

The file holds the raw counts (``points``: one per op, model and granularity); every estimate
and interval is computed from them when the file is used, so a file can be read at any
``--confidence``. ``estimates`` in the file are the same computation at the file's own
confidence, written for people; aalp never reads them back.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from aalp import codes
from aalp.diagnostics import AalpError

FORMAT = "aalp-calibration"
VERSION = 1


class CalibrationError(AalpError):
    """A calibration file that cannot be read or does not fit the spec."""

    code = codes.BAD_CALIBRATION


@dataclass
class Point:
    """What the samples of one op on one model at one granularity showed.

    ``samples``: calls made; ``kept``: those no red flag discarded; ``right``: kept and right;
    ``pairs``/``agree``: pairs of kept samples of one unit, and those equal and wrong; token
    sums (and sums of squares) over every call, from the API's usage; ``seconds``: summed wall
    time; ``prefill_seconds``/``decode_seconds``: summed where the endpoint reported them.
    """

    x: int
    units: int = 0
    samples: int = 0
    kept: int = 0
    right: int = 0
    pairs: int = 0
    agree: int = 0
    prompt_tokens: float = 0.0
    completion_tokens: float = 0.0
    prompt_tokens_sq: float = 0.0
    completion_tokens_sq: float = 0.0
    seconds: float = 0.0
    prefill_seconds: float | None = None
    decode_seconds: float | None = None

    def merge(self, other: Point) -> None:
        """Add ``other``'s counts (of the same x) to this point."""
        for f in fields(self):
            if f.name == "x":
                continue
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if mine is None or theirs is None:
                setattr(self, f.name, mine if theirs is None else theirs)
            else:
                setattr(self, f.name, mine + theirs)


@dataclass
class ModelCalibration:
    """An op's measurements on one model: ``served`` is the model id the endpoint was sent."""

    served: str
    points: list[Point] = field(default_factory=list)
    stopped: str = ""  # why sampling ended: "settled", "budget", "sample size", "run report"

    def point(self, x: int) -> Point:
        """The point at ``x``, made empty when there is none yet."""
        for p in self.points:
            if p.x == x:
                return p
        made = Point(x)
        self.points.append(made)
        self.points.sort(key=lambda p: p.x)
        return made


@dataclass
class OpCalibration:
    prompt_hash: str
    models: dict[str, ModelCalibration] = field(default_factory=dict)


@dataclass
class Calibration:
    """A whole file: the task, where the numbers came from, and per op what was measured."""

    task: str
    provenance: dict[str, Any]
    ops: dict[str, OpCalibration] = field(default_factory=dict)
    estimates: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The file's text: sorted keys, two-space indents (the same data gives the same
        bytes)."""
        body = {
            "format": FORMAT,
            "version": VERSION,
            "task": self.task,
            "provenance": self.provenance,
            "ops": {
                name: {
                    "prompt_hash": op.prompt_hash,
                    "models": {m: asdict(mc) for m, mc in op.models.items()},
                }
                for name, op in self.ops.items()
            },
            "estimates": self.estimates,
        }
        return json.dumps(body, indent=2, sort_keys=True, allow_nan=False) + "\n"


def _fail(where: str, problem: str) -> CalibrationError:
    return CalibrationError(
        f"calibration {where}: {problem}",
        hint="make it again with aalp calibrate (docs/calibration.md describes the file)",
    )


def _count(value: Any, where: str, whole: bool = True) -> Any:
    ok = isinstance(value, int) if whole else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or not math.isfinite(value) or value < 0:
        kind = "a whole number" if whole else "a number"
        raise _fail(where, f"must be {kind} >= 0, not {value!r}")
    return value


def _point(raw: Any, where: str) -> Point:
    if not isinstance(raw, dict):
        raise _fail(where, "must be an object")
    names = {f.name for f in fields(Point)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise _fail(where, f"unknown field {unknown[0]!r}")
    if "x" not in raw:
        raise _fail(where, "has no 'x'")
    values: dict[str, Any] = {}
    for f in fields(Point):
        if f.name not in raw:
            continue
        value = raw[f.name]
        whole = f.type in ("int",)
        if value is None and f.name.endswith("_seconds"):
            values[f.name] = None
            continue
        values[f.name] = _count(value, f"{where}.{f.name}", whole)
    point = Point(**values)
    if point.x < 1:
        raise _fail(where, "'x' must be at least 1")
    if not point.right <= point.kept <= point.samples or point.agree > point.pairs:
        raise _fail(where, "needs right <= kept <= samples and agree <= pairs")
    return point


def parse(text: str, where: str) -> Calibration:
    """A calibration from its JSON text; ``CalibrationError`` naming what is wrong."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise _fail(where, f"is not JSON ({err.msg}, line {err.lineno})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise _fail(where, f'is not a calibration file (no "format": "{FORMAT}")')
    if raw.get("version") != VERSION:
        raise _fail(where, f"has version {raw.get('version')!r}; this aalp reads {VERSION}")
    task, ops = raw.get("task"), raw.get("ops")
    if not isinstance(task, str) or not isinstance(ops, dict):
        raise _fail(where, "needs a 'task' name and an 'ops' object")
    provenance = raw.get("provenance") if isinstance(raw.get("provenance"), dict) else {}
    out = Calibration(task, provenance)
    for name, op in ops.items():
        if not isinstance(op, dict) or not isinstance(op.get("models"), dict):
            raise _fail(f"{where}: op {name!r}", "needs a 'models' object")
        calibrated = OpCalibration(str(op.get("prompt_hash", "")))
        for model, mc in op["models"].items():
            at = f"{where}: op {name!r} on model {model!r}"
            if not isinstance(mc, dict) or not isinstance(mc.get("points"), list):
                raise _fail(at, "needs a 'points' list")
            points = [_point(p, f"{at}, point {i + 1}") for i, p in enumerate(mc["points"])]
            if len({p.x for p in points}) != len(points):
                raise _fail(at, "has two points at the same x")
            calibrated.models[model] = ModelCalibration(
                str(mc.get("served", model)),
                sorted(points, key=lambda p: p.x),
                str(mc.get("stopped", "")),
            )
        out.ops[name] = calibrated
    return out


def read(path: str | Path) -> Calibration:
    """The calibration file at ``path``."""
    from aalp.checks.loader import FileProblem, read_text_file

    try:
        text = read_text_file(path)
    except FileProblem as err:
        raise _fail(str(path), f"cannot be read: {err.problem}") from None
    return parse(text, str(path))
