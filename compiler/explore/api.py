"""The explorer's API: pure functions from spec text and page settings to JSON-ready dicts.

The page is a thin client over these functions; the server only moves JSON. Each function
answers bad input with ``{"ok": False, "diagnostics": [...]}`` (the same diagnostics
``aalp check`` prints), never with an exception. The same input gives the same answer, so the
last few answers are remembered (``recall``/``remember``; ``forget`` drops them).
"""

from __future__ import annotations

import copy
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from aalp import codes
from aalp.front.ir import NO_SPAN, Task
from aalp.model.units import labelled
from aalp.suggest import did_you_mean

from ..diagnostics import AalpError, Diagnostic, render, sort_key
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


def problem(message: str, code: str = codes.BAD_SETTING) -> Json:
    """A diagnostic about the page's settings (or the server) rather than a place in the text."""
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
    if settings.calibration is not None:
        from aalp.calibration import apply, schema

        side = "estimate" if settings.confidence is None else "pessimistic"
        read = schema.parse(settings.calibration, "--calibration")
        checked = apply.apply(
            checked, read, task.name, side, settings.confidence or 0.95, "--calibration"
        ).checked
    warnings = [_diagnostic(d, text) for d in sorted(checked.diagnostics, key=sort_key)]
    return Loaded(checked, task, warnings)


_MEMO: OrderedDict[tuple[str, ...], Json] = OrderedDict()
_MEMO_SIZE = 64
_MEMO_LOCK = threading.Lock()


def _key(kind: str, text: str, file: str, settings: Settings) -> tuple[str, ...]:
    return (kind, text, file, json.dumps(asdict(settings), sort_keys=True))


def recall(kind: str, text: str, file: str, settings: Settings) -> Json | None:
    """A remembered answer of ``kind`` (``optimize``, ``sweep``) for these inputs, or None."""
    key = _key(kind, text, file, settings)
    with _MEMO_LOCK:
        if key not in _MEMO:
            return None
        _MEMO.move_to_end(key)
        return copy.deepcopy(_MEMO[key])


def remember(kind: str, text: str, file: str, settings: Settings, answer: Json) -> None:
    """Keep ``answer`` for these inputs (the last ``_MEMO_SIZE`` answers are kept)."""
    with _MEMO_LOCK:
        _MEMO[_key(kind, text, file, settings)] = copy.deepcopy(answer)
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)


def _memo(kind: str, text: str, file: str, settings: Settings, compute: Callable[[], Json]) -> Json:
    """``compute()``, remembered for the last few (text, settings): dragging a slider back to a
    value it had is answered at once. Answers are pure functions of their inputs, so a
    remembered one is exactly what computing again would give; callers get their own copy."""
    known = recall(kind, text, file, settings)
    if known is not None:
        return known
    answer = compute()
    remember(kind, text, file, settings, answer)
    return answer


def forget() -> None:
    """Drop every remembered answer (benchmarks and tests measure real work)."""
    with _MEMO_LOCK:
        _MEMO.clear()


def guarded(run: Callable[[], Json], text: str | None, settings: Settings | None = None) -> Json:
    """Run an API body, turning every kind of bad input into its diagnostics: the spec's, a
    setting's (``SettingsError``), a decision's, a target's, ..., each with its own code. A
    diagnostic about a value the page set (a pin, a parameter) says so in ``setting``."""
    try:
        return run()
    except AalpError as err:
        diags = sorted(err.diagnostics, key=sort_key)
        return _failure([_placed(_diagnostic(d, text), settings) for d in diags])


def _placed(diag: Json, settings: Settings | None) -> Json:
    """``diag`` moved from the spec's text to the page control it is about: a pin typed on the
    page (the checker can only point at the task) or a parameter set by a slider."""
    if settings is None:
        return diag
    message = diag["message"]
    for key, value in settings.pins.items():
        about = f"'{key}' in the task's pins"
        if message.startswith(about) or f"in {about}" in message:
            return _at_setting(diag, "pin", key, f"the pin {key} = {value}")
    for name, value in settings.params.items():
        if message.startswith(f"-D {name}="):
            return _at_setting(diag, "param", name, f"the value {name} = {value}")
    return diag


def _at_setting(diag: Json, kind: str, key: str, what: str) -> Json:
    rendered = f"{diag['severity']}[{diag['code']}]: {what}: {diag['message']}"
    if diag.get("hint"):
        rendered += f"\n  hint: {diag['hint']}"
    return diag | {
        "setting": {"kind": kind, "key": key},
        "line": 0,
        "col": 0,
        "end_line": 0,
        "end_col": 0,
        "rendered": rendered,
    }


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
        env = _env_without_overrides(loaded, settings)
        target = target_control(base, env)
        params = param_controls(spec, env)
        if target is not None and target["param"] is not None:
            # the target's own slider moves this parameter: one control, not two
            params = [c for c in params if c["name"] != target["param"]]
        controls = {
            "params": params,
            "probabilities": probability_controls(base),
            "target": target,
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

    return guarded(run, text, settings)


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
    "seconds",  # null (unknown) when a model of the plan has no speed
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
        # per item (docs/model.md §3, items): null when the task has no items
        "accuracy": _finite(evaluation.accuracy) if evaluation.items else None,
        "errors": _finite(evaluation.errors) if evaluation.items else None,
        "reasons": reasons,
    }


def _shown_metric(loaded: Loaded) -> str:
    """The metric the tree and charts show: the objective, or cost when maximizing success."""
    objective = loaded.task.objective
    metric = objective.metric if objective is not None else "cost"
    return "cost" if metric == "success" else metric


def _models(checked: Any) -> dict[str, dict[str, float]]:
    """Each model's size and prices, for the formulas shown on the tree's nodes."""
    from aalp.front.expr import EvalError, evaluate

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


def _value(point: Any, dim: str) -> float:
    """A point's value in ``dim``, signed so that smaller is better (success is maximized)."""
    return -point.success if dim == "success" else point.metrics[dim]


def _dominated(a: Any, b: Any, dims: tuple[str, str]) -> bool:
    """True when ``b`` is at least as good as ``a`` in both ``dims`` and better in one."""
    va, vb = [_value(a, d) for d in dims], [_value(b, d) for d in dims]
    return all(y <= x for x, y in zip(va, vb, strict=True)) and vb != va


def _frontier_json(
    points: Any, dims: tuple[str, str], plan: Mapping[str, Any] | None
) -> list[Json]:
    """The frontier's points, without any that another point dominates in ``dims`` (the page
    calls them Pareto-optimal, so it must not show a dominated one)."""
    points = list(points)
    kept = [p for p in points if not any(_dominated(p, q, dims) for q in points)]
    return [
        {
            "decisions": _decisions_json(p.decisions),
            "metrics": {m: _finite(float(v)) for m, v in p.metrics.items()},
            "success": _finite(p.success),
            "optimal": plan is not None and dict(p.decisions) == dict(plan),
        }
        for p in kept
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
    metric_f = result.frontier_metric
    return {
        "task": result.task,
        "objective": {"sense": result.objective[0], "metric": result.objective[1]},
        "metric_names": list(METRIC_NAMES),
        "metric_labels": {m: labelled(m) for m in METRIC_NAMES},
        "feasible": result.feasible,
        "why": list(result.why),
        "plan": plan,
        "tree": tree,
        "frontier": {
            "metric": result.frontier_metric,
            # what the points' "success" holds: success, or accuracy when the task bounds it
            "measure": "accuracy"
            if any(r.floor is not None for r in result.requirements)
            else "success",
            "success": _frontier_json(result.frontier_success, (metric_f, "success"), decisions),
            "latency": _frontier_json(result.frontier_latency, (metric_f, "latency"), decisions),
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

    return _memo("optimize", text, file, settings, lambda: guarded(run, text, settings))


def plan_for(text: str, file: str, settings: Settings | None, decisions: Mapping[str, Any]) -> Json:
    """Evaluate the plan with the given decisions (a point the page picked on the frontier)."""
    settings = settings or Settings()

    def run() -> Json:
        loaded = load(text, file, settings)
        clean = _clean_decisions(decisions)
        _known_models(loaded, clean)
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

    return guarded(run, text, settings)


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


def _known_models(loaded: Loaded, decisions: Mapping[str, int | str]) -> None:
    """A ``.model`` decision names a model of the spec (else the tree would show a model the
    spec does not have, priced at nothing)."""
    names = [m.name for m in loaded.checked.spec.models]
    for key, value in decisions.items():
        if key.endswith(".model") and value not in names:
            hint = did_you_mean(str(value), names, "model")
            raise SettingsError(f"decision '{key}' = '{value}': no such model; {hint}")


def _evaluate(loaded: Loaded, decisions: Mapping[str, Any]) -> Any:
    """The plan of ``decisions``; ``DecisionError`` (E602) for one missing or of a wrong kind."""
    return engine.evaluate(loaded.checked, loaded.task.name, decisions)


# ---------------------------------------------------------------------------------------------
# Cost against a size parameter
# ---------------------------------------------------------------------------------------------


def _series(name: str, growth: Any) -> Json:
    points = [
        [_finite(float(x)), _finite(float(y))]
        for x, y in zip(growth.sizes, growth.values, strict=True)
    ]
    return {
        "name": name,
        "points": points,
        "growth": growth.pretty(),
        "confirmed": bool(growth.confirmed),
        "claimed": growth.claimed,
        "slope": _finite(growth.slope),
    }


def _empty(name: str) -> Json:
    """A series with nothing to draw: no plan at three sizes or more."""
    return {"name": name, "points": [], "growth": None, "feasible": False}


def sweep_spec(text: str, file: str = "<spec>", settings: Settings | None = None) -> Json:
    """Cost against the task's size on log-log axes: the optimum re-optimized at each size of a
    ladder spanning many decades, and each baseline, with their growth classes.

    This is ``aalp explain``'s own growth measurement (``growth_series``), so the
    classes on the chart are the ones ``explain`` prints. Returns ``variable`` (the size on the
    x axis), ``metric`` and ``series`` (the optimum first, then each baseline: ``name``,
    ``points`` ``[size, value]``, ``growth``, ``confirmed``, ``feasible``: whether that plan
    meets the requirements at the spec's size; ``growth`` is null and ``points`` empty for a
    series without a plan at three sizes or more).
    """
    settings = settings or Settings()

    def run() -> Json:
        loaded = load(text, file, settings)
        result = engine.optimize(loaded.checked, loaded.task.name, frontier=False)
        variable, plan, baselines = engine.growth(loaded.checked, result)
        series = []
        if plan is not None:
            series.append(_series("optimal plan", plan) | {"feasible": bool(result.feasible)})
        else:  # no feasible optimum at enough sizes (the target cannot be met as it grows)
            series.append(_empty("optimal plan"))
        for b in result.baselines:
            feasible = b.plan is not None and bool(b.plan.evaluation.meets)
            if b.name in baselines:
                grown = _series(f"baseline {b.name}", baselines[b.name])
                series.append(grown | {"feasible": feasible})
            else:  # no plan that can run at three sizes or more: say so, draw nothing
                series.append(_empty(f"baseline {b.name}"))
        return {
            "ok": True,
            "diagnostics": loaded.warnings,
            "variable": variable,
            "metric": _shown_metric(loaded),
            "series": series,
        }

    return _memo("sweep", text, file, settings, lambda: guarded(run, text, settings))


# ---------------------------------------------------------------------------------------------
# Code and targets
# ---------------------------------------------------------------------------------------------


def list_targets() -> Json:
    """Every code-generation target, for the page's download menu."""
    return {"targets": [{"name": n, "description": d} for n, d in engine.targets()]}


def emit_zip(text: str, file: str, settings: Settings | None, target: str) -> bytes | Json:
    """The code ``aalp compile --target TARGET`` writes for the optimal plan, as a zip archive
    (like ``compile``, a plan that misses a requirement is still emitted; its header says so).

    The archive is byte-identical for the same input (fixed timestamps, sorted names). Bad
    input returns diagnostics instead.
    """
    settings = settings or Settings()
    holder: dict[str, bytes] = {}

    def run() -> Json:
        loaded = load(text, file, settings)
        # an unknown target (E115) or a plan that cannot be emitted (E604) is a diagnostic
        files = engine.emit(loaded.checked, loaded.task.name, target)
        holder["zip"] = engine.archive(files)
        return {"ok": True}

    answer = guarded(run, text, settings)
    return holder.get("zip", answer)
