"""The explorer's API: pure functions from spec text and page settings to JSON-ready dicts.

The page is a thin client over these functions; the server only moves JSON. Each function
answers bad input with ``{"ok": False, "diagnostics": [...]}`` (the same diagnostics
``aalp check`` prints), never with an exception.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..diagnostics import Diagnostic, SpecError, render, sort_key
from ..ir import NO_SPAN, Task
from . import engine
from .controls import (
    Settings,
    SettingsError,
    apply_settings,
    decision_controls,
    objective_control,
    param_controls,
    pick_task,
    probability_controls,
    target_control,
)
from .tree import plan_tree

Json = dict[str, Any]


@dataclass(frozen=True)
class Loaded:
    """A checked spec with the page's settings applied, and the task they apply to."""

    checked: Any
    task: Task
    warnings: list[Json]


def _diagnostic(diag: Diagnostic, text: str | None) -> Json:
    return diag.to_json() | {"rendered": render(diag, text)}


def _problem(message: str, code: str = "X001") -> Json:
    """A diagnostic about the page's settings rather than a place in the text."""
    diag = Diagnostic("error", code, message, NO_SPAN)
    return diag.to_json() | {"rendered": f"error[{code}]: {message}"}


def _failure(diagnostics: list[Json]) -> Json:
    return {"ok": False, "diagnostics": diagnostics}


def load(text: str, file: str, settings: Settings) -> Loaded:
    """Parse and check ``text`` with ``settings`` applied.

    Raises ``SpecError`` (the spec's diagnostics) or ``SettingsError`` (a bad page setting).
    """
    spec = engine.parse(text, file)
    spec, task = apply_settings(spec, settings)
    checked = engine.check(spec, settings.params)
    warnings = [_diagnostic(d, text) for d in sorted(checked.diagnostics, key=sort_key)]
    return Loaded(checked, task, warnings)


def guarded(run: Callable[[], Json], text: str | None) -> Json:
    """Run an API body, turning every kind of bad input into diagnostics."""
    try:
        return run()
    except SpecError as err:
        diags = sorted(err.diagnostics, key=sort_key)
        return _failure([_diagnostic(d, text) for d in diags])
    except SettingsError as err:
        return _failure([_problem(str(err))])
    except engine.Unavailable as err:
        return _failure([_problem(str(err), "X002")])


def check_spec(text: str, file: str = "<spec>", settings: Settings | None = None) -> Json:
    """Check spec text and describe the controls the page shows for it.

    Returns ``ok``, ``diagnostics`` (warnings when ok), ``tasks`` and, for the chosen task,
    ``controls``: parameter sliders, probability sliders, the reliability target, the objective
    and every decision that can be pinned.
    """
    settings = settings or Settings()

    def run() -> Json:
        loaded = load(text, file, settings)
        spec = loaded.checked.spec
        base = pick_task(engine.parse(text, file), settings.task)
        controls = {
            "params": param_controls(spec, _env_without_overrides(loaded, settings)),
            "probabilities": probability_controls(base),
            "target": target_control(base),
            "objective": objective_control(base),
            "decisions": decision_controls(base),
        }
        return {
            "ok": True,
            "diagnostics": loaded.warnings,
            "tasks": [t.name for t in spec.tasks],
            "task": loaded.task.name,
            "controls": controls,
        }

    return guarded(run, text)


def _env_without_overrides(loaded: Loaded, settings: Settings) -> Mapping[str, Any]:
    """The parameter values as written, so sliders keep their range while they move."""
    if not settings.params:
        return loaded.checked.env
    return engine.check(loaded.checked.spec, {}).env


# ---------------------------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------------------------

METRIC_NAMES = (
    "cost",
    "dollars",
    "calls",
    "tokens",
    "forward_passes",
    "latency",
    "latency_calls",
)


def _finite(value: float) -> float | None:
    """JSON has no infinity: an unbounded or undefined number travels as null."""
    return value if math.isfinite(value) else None


def _decisions_json(decisions: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, int | str) else str(v)) for k, v in sorted(decisions.items())}


def plan_json(evaluation: Any) -> Json:
    """One evaluated plan: decisions, metrics, success, feasibility and why not."""
    reasons = list(evaluation.problems)
    reasons += [f"requirement {r}" for r in evaluation.requirements if not r.ok]
    return {
        "feasible": bool(evaluation.meets),
        "decisions": _decisions_json(evaluation.decisions),
        "metrics": {m: _finite(float(getattr(evaluation.metrics, m))) for m in METRIC_NAMES},
        "success": _finite(evaluation.success),
        "reasons": reasons,
    }


def _shown_metric(loaded: Loaded) -> str:
    """The metric the tree and charts show: the objective, or cost when maximizing success."""
    objective = loaded.task.objective
    metric = objective.metric if objective is not None else "cost"
    return "cost" if metric == "success" else metric


def _models(checked: Any) -> dict[str, dict[str, float]]:
    """Each model's size and prices, for the formulas shown on the tree's nodes."""
    from ..expr import EvalError, evaluate

    env = {k: float(v) for k, v in checked.env.items()}
    models: dict[str, dict[str, float]] = {}
    for model in checked.spec.models:
        values = models.setdefault(model.name, {})
        for key in ("size", "price_in", "price_out"):
            try:
                values[key] = evaluate(getattr(model, key), env)
            except EvalError:
                continue
    return models


def _objective_json(loaded: Loaded) -> Json:
    objective = loaded.task.objective
    if objective is None:
        return {"sense": "minimize", "metric": "cost"}
    return {"sense": objective.sense, "metric": objective.metric}


def _optimal(result: Any) -> Any:
    """The optimum's evaluation; an error naming why when there is no plan at all."""
    if result.plan is None:
        raise SettingsError("no plan: " + "; ".join(result.why or ("the task has no plan",)))
    return result.plan.evaluation


def _frontier_json(points: Any, plan: Mapping[str, Any] | None) -> list[Json]:
    return [
        {
            "decisions": _decisions_json(p.decisions),
            "metrics": {m: _finite(float(v)) for m, v in p.metrics.items()},
            "success": _finite(p.success),
            "optimal": plan is not None and dict(p.decisions) == dict(plan),
        }
        for p in points
    ]


def _baseline_json(baseline: Any) -> Json:
    row: Json = {"name": baseline.name, "pins": _decisions_json(baseline.pins)}
    if baseline.plan is None:
        return row | {
            "feasible": False,
            "decisions": {},
            "metrics": {},
            "success": None,
            "reasons": ["no plan satisfies these pins"],
            "ratio": None,
        }
    ratio = baseline.ratio if baseline.ratio is None else _finite(baseline.ratio)
    return row | plan_json(baseline.plan.evaluation) | {"ratio": ratio}


def result_json(loaded: Loaded, result: Any) -> Json:
    """The optimizer's result as the page shows it: plan, tree, frontiers, baselines."""
    metric = _shown_metric(loaded)
    plan = None
    tree = None
    decisions = None
    if result.plan is not None:
        evaluation = result.plan.evaluation
        plan = plan_json(evaluation)
        decisions = evaluation.decisions
        tree = plan_tree(evaluation, metric, _models(loaded.checked))
        assumptions = list(evaluation.assumptions)
    else:
        assumptions = []
    if plan is not None and not result.feasible:
        plan["feasible"] = False
        plan["reasons"] = list(dict.fromkeys([*result.why, *plan["reasons"]]))
    return {
        "task": result.task,
        "objective": {"sense": result.objective[0], "metric": result.objective[1]},
        "metric_names": list(METRIC_NAMES),
        "feasible": result.feasible,
        "why": list(result.why),
        "plan": plan,
        "tree": tree,
        "frontier": {
            "metric": result.frontier_metric,
            "success": _frontier_json(result.frontier_success, decisions),
            "latency": _frontier_json(result.frontier_latency, decisions),
        },
        "baselines": [_baseline_json(b) for b in result.baselines],
        "notes": list(result.notes),
        "assumptions": assumptions,
    }


def optimize_spec(text: str, file: str = "<spec>", settings: Settings | None = None) -> Json:
    """Optimize the spec under the page's settings: the optimal plan with its folded tree, the
    Pareto frontiers (objective vs success, objective vs latency) and every baseline."""
    settings = settings or Settings()

    def run() -> Json:
        loaded = load(text, file, settings)
        result = engine.optimize(loaded.checked, loaded.task.name)
        return {"ok": True, "diagnostics": loaded.warnings} | result_json(loaded, result)

    return guarded(run, text)


def plan_for(text: str, file: str, settings: Settings | None, decisions: Mapping[str, Any]) -> Json:
    """Evaluate the plan with the given decisions (a point the page picked on the frontier)."""
    settings = settings or Settings()

    def run() -> Json:
        loaded = load(text, file, settings)
        clean = _clean_decisions(decisions)
        evaluation = _evaluate(loaded, clean)
        metric = _shown_metric(loaded)
        tree = plan_tree(evaluation, metric, _models(loaded.checked))
        return {
            "ok": True,
            "diagnostics": loaded.warnings,
            "task": loaded.task.name,
            "plan": plan_json(evaluation),
            "tree": tree,
        }

    return guarded(run, text)


def _clean_decisions(decisions: Mapping[str, Any]) -> dict[str, int | str]:
    """Decisions from the page: ``op.field`` keys with integer or word values only."""
    clean: dict[str, int | str] = {}
    for key, value in decisions.items():
        if not isinstance(key, str) or key.count(".") != 1:
            raise SettingsError(f"'{key}' is not a decision (write op.field)")
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise SettingsError(f"the value of decision '{key}' must be an integer or a word")
        clean[key] = value
    return clean


def _evaluate(loaded: Loaded, decisions: Mapping[str, Any]) -> Any:
    from ..cost_types import DecisionError

    try:
        return engine.evaluate(loaded.checked, loaded.task.name, decisions)
    except DecisionError as err:
        raise SettingsError(str(err)) from None


# ---------------------------------------------------------------------------------------------
# Cost against a size parameter
# ---------------------------------------------------------------------------------------------

SWEEP_POINTS = 13


def sweep_values(control: Mapping[str, Any], points: int = SWEEP_POINTS) -> list[float]:
    """The values a sweep visits: evenly spaced on the slider's own scale (log or linear),
    rounded for integer parameters, without repeats, in increasing order."""
    low, high = float(control["min"]), float(control["max"])
    if control["scale"] == "log":
        values = [low * (high / low) ** (i / (points - 1)) for i in range(points)]
    else:
        values = [low + (high - low) * i / (points - 1) for i in range(points)]
    if control["integer"]:
        values = [float(round(v)) for v in values]
    else:
        values = [float(f"{v:.6g}") for v in values]
    return sorted(set(values))


def _axis(spec: Any, task: Task, param: str, in_exponent: bool) -> str:
    """What the sweep's x axis shows: the parameter, or, when it is an exponent (``disks`` in
    ``s = 2^disks - 1``), the data size it drives, since that is what cost grows with."""
    from ..expr import names

    if in_exponent:
        for datum in task.data:
            if any(n.id == param for n in names(datum.count)):
                return datum.name
    return param


def _override_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def sweep_spec(
    text: str,
    file: str,
    settings: Settings | None,
    param: str,
    points: int = SWEEP_POINTS,
) -> Json:
    """Optimize at several values of one size parameter: the optimal plan's objective and each
    baseline's, for a log-log chart of cost against size.

    Returns ``x`` (the axis values), ``x_label``, ``metric`` and ``series`` (the optimum first,
    then each baseline: ``name``, ``y`` with null where no plan meets the requirements, and
    ``growth``, the growth class ``aalp explain`` reports for it).
    """
    settings = settings or Settings()

    def run() -> Json:
        loaded = load(text, file, settings)
        env = _env_without_overrides(loaded, settings)
        controls = {c["name"]: c for c in param_controls(loaded.checked.spec, env)}
        control = controls.get(param)
        if control is None or control["kind"] != "size":
            sizes = ", ".join(n for n, c in controls.items() if c["kind"] == "size") or "none"
            raise SettingsError(f"'{param}' is not a size parameter (the sizes are: {sizes})")
        axis = _axis(loaded.checked.spec, loaded.task, param, control["scale"] == "linear")
        metric = _shown_metric(loaded)
        xs: list[float | None] = []
        series: dict[str, list[float | None]] = {"optimal plan": []}
        for name in (b.name for b in loaded.task.baselines):
            series[f"baseline {name}"] = []
        for value in sweep_values(control, points):
            params = {**settings.params, param: _override_text(value)}
            try:
                point = load(text, file, replace(settings, params=params))
            except SpecError:
                continue  # a value the spec's own checks refuse (a range): leave a gap
            result = engine.optimize(point.checked, point.task.name, frontier=False)
            xs.append(_finite(float(point.checked.env.get(axis, value))))
            plan = result.plan if result.feasible else None
            series["optimal plan"].append(_finite(plan.value(metric)) if plan else None)
            for b in result.baselines:
                ok = b.plan is not None and b.plan.meets
                series[f"baseline {b.name}"].append(_finite(b.plan.value(metric)) if ok else None)
        growth = engine.growth(loaded.checked, loaded.task.name)
        return {
            "ok": True,
            "diagnostics": loaded.warnings,
            "param": param,
            "x_label": axis,
            "metric": metric,
            "x": xs,
            "series": [
                {"name": name, "y": ys, "growth": growth.get(name)} for name, ys in series.items()
            ],
        }

    return guarded(run, text)


# ---------------------------------------------------------------------------------------------
# Code and targets
# ---------------------------------------------------------------------------------------------


def list_targets() -> Json:
    """Every code-generation target, for the page's download menu."""
    return {"targets": [{"name": n, "description": d} for n, d in engine.targets()]}


def emit_zip(text: str, file: str, settings: Settings | None, target: str) -> bytes | Json:
    """The code ``aalp compile --target TARGET`` writes for the optimal plan, as a zip archive.

    The archive is byte-identical for the same input (fixed timestamps, sorted names). Bad
    input returns diagnostics instead.
    """
    settings = settings or Settings()
    holder: dict[str, bytes] = {}

    def run() -> Json:
        from ..backends.registry import UnknownTarget
        from ..backends.view import PlanError

        loaded = load(text, file, settings)
        result = engine.optimize(loaded.checked, loaded.task.name)
        evaluation = _optimal(result)
        if not evaluation.meets:
            why = "; ".join(plan_json(evaluation)["reasons"]) or "no plan meets the requirements"
            raise SettingsError(f"no feasible plan to emit: {why}")
        try:
            files = engine.emit(loaded.checked, loaded.task, evaluation.decisions, target)
        except (UnknownTarget, PlanError) as err:
            raise SettingsError(str(err).strip("'\"")) from None
        holder["zip"] = _zip({f.path: f.text for f in files})
        return {"ok": True}

    answer = guarded(run, text)
    return holder.get("zip", answer)


def _zip(files: Mapping[str, str]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[path].encode("utf-8"))
    return buffer.getvalue()
