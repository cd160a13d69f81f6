"""The check pass for pins and baselines: each pinned decision within its range, and baselines
whose calls cannot fit their model's context window (a warning: the baseline is still
reported, as infeasible)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aalp import codes
from aalp.checks.protocol import Checker
from aalp.checks.values import fmt_number, is_int
from aalp.front.expr import EvalError, Number, evaluate_exact
from aalp.front.ir import PIN_FIELDS, Baseline, ChainStage, Name, Op, Pin, Span, Task
from aalp.suggest import did_you_mean

VOTE_WORDS = ("none", "ahead_by", "majority")
HISTORY_WORDS = ("full", "stateless")


class PinChecks:
    """Checks of pins and baselines, mixed into ``TaskChecker`` (which provides the state)."""

    c: Checker
    task: Task
    ops: dict[str, Op]
    scope: dict[str, str]
    reduced: set[str]
    chained: set[str]
    xrange: dict[str, tuple[Number, Number] | None]

    def span(self, node: object) -> Span:  # overridden by TaskChecker
        raise NotImplementedError

    def op_ref(self, name: str, span: Span, where: str) -> bool:  # overridden by TaskChecker
        raise NotImplementedError

    def call_tokens(self, op: Op, x: Number | None) -> Number | None:  # see TaskChecker
        raise NotImplementedError

    def contexts(self, models: Iterable[str]) -> dict[str, Number]:  # see TaskChecker
        raise NotImplementedError

    # -- pins and baselines ----------------------------------------------------------------

    def check_pins(self, pins: Iterable[Pin], where: str) -> bool:
        """Check every pin; True when all are valid (then the context check can run)."""
        ok = True
        seen: dict[tuple[str, str], Pin] = {}
        pins = tuple(pins)
        for pin in pins:
            span = self.span(pin)
            if not self.op_ref(pin.op, span, where):
                ok = False
                continue
            if pin.field not in PIN_FIELDS:
                self.c.error(
                    codes.UNKNOWN_FIELD,
                    f"'{pin.op}.{pin.field}' in {where}: ops have no decision '{pin.field}'",
                    span,
                    did_you_mean(pin.field, PIN_FIELDS, "decision"),
                )
                ok = False
                continue
            key = (pin.op, pin.field)
            if key in seen:
                self.c.error(
                    codes.DUPLICATE,
                    f"'{pin.op}.{pin.field}' is pinned twice in {where}",
                    span,
                    "keep one of the two",
                )
                ok = False
                continue
            seen[key] = pin
            ok = self.check_pin(pin, span, where, pins) and ok
        return ok

    def check_pin(self, pin: Pin, span: Span, where: str, pins: tuple[Pin, ...]) -> bool:
        op = self.ops[pin.op]
        label = f"'{pin.op}.{pin.field}' in {where}"
        vspan = self.c.at(pin.value, span)
        word = pin.value.id if isinstance(pin.value, Name) else None

        def bad(message: str, hint: str = "") -> bool:
            self.c.error(codes.PIN_OUT_OF_RANGE, f"{label} {message}", vspan, hint)
            return False

        match pin.field:
            case "model":
                models = {m.name for m in self.c.spec.models}
                if word is None:
                    return bad("must name a model")
                if word not in models:
                    self.c.error(
                        codes.UNKNOWN_MODEL,
                        f"unknown model '{word}' in {label}",
                        vspan,
                        did_you_mean(word, op.models or models, "model"),
                    )
                    return False
                if word not in op.models:
                    return bad(
                        f"names '{word}', which is not one of the op's models",
                        "models of the op: " + ", ".join(f"'{m}'" for m in op.models),
                    )
                return True
            case "vote":
                if word not in VOTE_WORDS:
                    return bad(
                        "must be one of " + ", ".join(VOTE_WORDS),
                        did_you_mean(word, VOTE_WORDS, "vote kind") if word else "",
                    )
                return True
            case "history":
                if word not in HISTORY_WORDS:
                    return bad(
                        "must be 'full' or 'stateless'",
                        did_you_mean(word, HISTORY_WORDS, "history") if word else "",
                    )
                if pin.op not in self.chained:
                    return bad(
                        f"pins a history, but '{pin.op}' is not run by a chain stage",
                        "history applies to ops in 'chain' stages",
                    )
                return True
            case "retries" if word == "inf":
                return True
        if word is not None and word not in self.scope:
            hints = {
                "retries": "a whole number of at least 1, or inf",
                "x": "a number of units, e.g. 1 or the data's size",
            }
            if pin.field in hints:
                return bad(f"must be {hints[pin.field]}, not '{word}'")
        val = self.c.value(pin.value, self.scope, span, label)
        if val is None:
            return False
        match pin.field:
            case "x":
                rng = self.xrange.get(pin.op, "none")
                if rng == "none":
                    return bad(
                        f"pins x, but op '{pin.op}' has no granularity",
                        f"declare one: op {pin.op}(x of DATA)",
                    )
                if val < 1 or not is_int(val):
                    return bad(f"is {fmt_number(val)}; x must be a whole number of at least 1")
                if rng is not None and val > rng[1]:
                    return bad(
                        f"is {fmt_number(val)}, above the largest x, {fmt_number(rng[1])}",
                        "x counts the units one call handles; it cannot exceed the data's size",
                    )
            case "votes":
                if val < 1 or not is_int(val):
                    return bad(f"is {fmt_number(val)}; votes must be a whole number of at least 1")
                kind = next(
                    (
                        p.value.id
                        for p in pins
                        if p.op == pin.op and p.field == "vote" and isinstance(p.value, Name)
                    ),
                    None,
                )
                if kind == "majority" and val % 2 == 0:
                    return bad(
                        f"is {fmt_number(val)}; a majority vote needs an odd number of votes",
                        "use an odd K so there can be no tie",
                    )
            case "retries":
                if val < 1 or not is_int(val):
                    return bad(
                        f"is {fmt_number(val)}; retries must be a whole number of at least 1"
                    )
            case "fanin":
                if pin.op not in self.reduced:
                    return bad(
                        f"pins a fan-in, but '{pin.op}' is not run by a reduce stage",
                        "fan-in applies to ops in 'reduce' stages",
                    )
                if val < 2 or not is_int(val):
                    return bad(
                        f"is {fmt_number(val)}; a fan-in must be a whole number of at least 2"
                    )
        return True

    def check_context(self, baseline: Baseline | None) -> None:
        """Warn when a pinned baseline (or, for None, the task's own pins) cannot fit a call
        into its model's context window."""
        extra = baseline.pins if baseline is not None else ()
        pins = {(p.op, p.field): p for p in (*self.task.pins, *extra)}
        if baseline is None:
            label = "the task's pins"
            hint = "the plan cannot run as pinned; the optimizer will report it infeasible"
        else:
            label = f"baseline '{baseline.name}'"
            hint = "the baseline is still reported, as infeasible"
        for op in self.ops.values():
            xpin = pins.get((op.name, "x"))
            x: Number | None = None
            if op.name in self.xrange:
                if xpin is None:
                    continue  # x is the optimizer's choice
                try:
                    x = evaluate_exact(xpin.value, self.c.env)
                except EvalError:
                    continue
            mpin = pins.get((op.name, "model"))
            models = [mpin.value.id] if mpin and isinstance(mpin.value, Name) else list(op.models)
            contexts = self.contexts(self.capable(op, models))
            size = self.call_tokens(op, x)
            if size is None or not contexts:
                continue
            history = self.history_of(op, pins)
            if history is not None:
                size = self.with_history(op, x, history, size)
            if all(size > ctx for ctx in contexts.values()):
                model, ctx = max(contexts.items(), key=lambda kv: kv[1])
                where = f" with x = {fmt_number(x)}" if x is not None else ""
                hist = " (including the conversation so far)" if history is not None else ""
                self.c.warn(
                    codes.BASELINE_OVERFLOW,
                    f"{label}: a call of '{op.name}'{where} needs "
                    f"{fmt_number(size)} tokens{hist}, more than the context window of "
                    f"'{model}' ({fmt_number(ctx)})",
                    self.span(xpin or mpin or baseline or self.task),
                    hint,
                )

    def capable(self, op: Op, models: list[str]) -> list[str]:
        known = {m.name: m for m in self.c.spec.models}
        return [
            m for m in models if m in known and any(c.op == op.name for c in known[m].capabilities)
        ]

    def history_of(self, op: Op, pins: Mapping[tuple[str, str], Pin]) -> ChainStage | None:
        """The chain stage running ``op`` with full history under these pins, if any."""
        for stage in self.task.stages:
            if isinstance(stage, ChainStage) and op.name in stage.ops:
                pin = pins.get((op.name, "history"))
                full = (
                    pin.value.id == "full"
                    if pin is not None and isinstance(pin.value, Name)
                    else stage.history == "full"
                )
                return stage if full else None
        return None

    def with_history(self, op: Op, x: Number | None, stage: ChainStage, size: Number) -> Number:
        """The tokens of ``op``'s last call in a chain with full history (docs/model.md §3)."""
        count = self.c.env.get(stage.over)
        if count is None:
            return size
        gran = op.granularity
        chunks: Number = count
        if gran is not None and gran.data == stage.over and x is not None and x > 0:
            chunks = -(-count // x)  # ceil(count/x) calls in the chain
        step = 0
        before = 0
        for name in stage.ops:
            other = self.ops.get(name)
            if other is None:
                continue
            tokens = self.call_tokens(other, x if other.granularity == gran else None)
            if tokens is None:
                return size
            step += tokens
            if name == op.name:
                break
            before += tokens
        else:
            return size
        total = step
        for name in stage.ops[stage.ops.index(op.name) + 1 :]:
            other = self.ops.get(name)
            tokens = (
                self.call_tokens(other, x if other.granularity == gran else None) if other else 0
            )
            total += tokens or 0
        return size + (chunks - 1) * total + before
