"""A run's report (``run-report.json`` of the python target) as calibration counts.

A run does not know which of its samples were right; it knows, per op, how often a decision's
first kept sample was the decision's answer (``agreed`` of ``decisions``), how many calls a
red flag discarded, and the tokens the API reported. A point from a run counts each decision's
first sample as one trial of success (an estimate that takes a wrong first sample the vote
confirmed for right: rare when the plan meets its target), scales the calls to those trials
for the keep rate, and has no pairs (a run samples no unit twice on purpose) and no spread of
tokens (their upper bound is their mean).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aalp.calibration.apply import prompt_hash
from aalp.calibration.schema import (
    Calibration,
    CalibrationError,
    ModelCalibration,
    OpCalibration,
    Point,
)


def _bad(path: Path, problem: str) -> CalibrationError:
    return CalibrationError(
        f"run report {path}: {problem}",
        hint="give the run-report.json a compiled program (python target) wrote",
    )


def calibration_of_report(
    checked: Any, task: Any, path: Path, model_map: dict[str, str]
) -> Calibration:
    """The counts of the run report at ``path``."""
    from aalp.checks.loader import FileProblem, prompt_dir_of, read_text_file

    try:
        report = json.loads(read_text_file(path))
    except (FileProblem, json.JSONDecodeError) as err:
        raise _bad(path, f"cannot be read as JSON ({err})") from None
    if not isinstance(report, dict) or not isinstance(report.get("ops"), dict):
        raise _bad(path, "has no per-op counts ('ops')")
    if report.get("task") != task.name:
        raise _bad(path, f"is of task {report.get('task')!r}, not {task.name!r}")
    out = Calibration(task.name, {"source": "run report", "report": path.name})
    spec_dir = prompt_dir_of(checked)
    for name, got in sorted(report["ops"].items()):
        try:
            op = task.op(name)
            calls, flagged = int(got["calls"]), int(got["flagged"])
            agreed, decisions = int(got["agreed"]), int(got["decisions"])
            model, x = str(got["model"]), int(got["x"])
            reads, writes = float(got["prompt_tokens"]), float(got["completion_tokens"])
        except (KeyError, TypeError, ValueError):
            raise _bad(path, f"op {name!r} lacks its counts") from None
        if not calls or not decisions:
            continue
        kept_share = (calls - flagged) / calls
        samples = max(decisions, round(decisions / kept_share)) if kept_share else calls
        per_read, per_write = reads / calls, writes / calls
        point = Point(
            x,
            units=decisions,
            samples=samples,
            kept=decisions,
            right=min(agreed, decisions),
            prompt_tokens=per_read * samples,
            completion_tokens=per_write * samples,
            prompt_tokens_sq=per_read**2 * samples,
            completion_tokens_sq=per_write**2 * samples,
        )
        op_cal = out.ops.setdefault(name, OpCalibration(prompt_hash(op, task, spec_dir)))
        op_cal.models[model] = ModelCalibration(model_map.get(model, model), [point], "run report")
    return out


def merge(old: Calibration, new: Calibration) -> Calibration:
    """``old`` with ``new``'s counts added (a point of the same op, model and x summed); the
    prompt hash and provenance are the newer ones."""
    if old.task != new.task:
        raise CalibrationError(f"cannot add a calibration of task {new.task!r} to {old.task!r}")
    for name, op_cal in new.ops.items():
        target = old.ops.setdefault(name, OpCalibration(op_cal.prompt_hash))
        target.prompt_hash = op_cal.prompt_hash
        for model, mc in op_cal.models.items():
            into = target.models.setdefault(model, ModelCalibration(mc.served))
            for point in mc.points:
                into.point(point.x).merge(point)
            into.stopped = mc.stopped
    old.provenance = {**old.provenance, "added": new.provenance}
    return old
