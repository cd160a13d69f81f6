"""Hand-built IR for the cost-model tests (independent of the parser), and checks of the
builders themselves."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from aalp.front.ir import (
    BinOp,
    Call,
    Capability,
    ChainStage,
    Data,
    Expr,
    Granularity,
    MapStage,
    Model,
    ModelSuccess,
    Name,
    Neg,
    Num,
    Op,
    Outcome,
    RedFlag,
    ReduceStage,
    Requirement,
    RetryBooster,
    RouteStage,
    Spec,
    Task,
    VoteBooster,
)


def E(text: str | float | int) -> Expr:
    """A formula from Python-like text (``^`` is a power), e.g. ``E("538*x")``."""
    if not isinstance(text, str):
        return Num(Fraction(str(text)))
    tree = ast.parse(text.replace("^", "**"), mode="eval").body

    def conv(node: ast.AST) -> Expr:
        match node:
            case ast.Constant(value=v):
                return Num(Fraction(str(v)))
            case ast.Name(id=i):
                return Name(i)
            case ast.UnaryOp(op=ast.USub(), operand=o):
                return Neg(conv(o))
            case ast.BinOp(left=le, op=o, right=r):
                sym = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}
                return BinOp(sym[type(o)], conv(le), conv(r))
            case ast.Call(func=ast.Name(id=f), args=args):
                return Call(f, tuple(conv(a) for a in args))
        raise ValueError(text)

    return conv(tree)


@dataclass(frozen=True)
class FakeChecked:
    """What ``aalp.checks.checker.check`` returns, enough for the cost model."""

    spec: Spec
    env: dict[str, Any]
    diagnostics: tuple = field(default=())


def model(name: str, size=1, context=1_000_000, pin=0.4, pout=1.6, can=(), routed=()) -> Model:
    caps = tuple(Capability(c) for c in can) + tuple(Capability(c, True) for c in routed)
    return Model(name, E(size), E(context), E(pin), E(pout), caps)


def op(
    name: str,
    reads,
    writes,
    success="1",
    over: str | None = None,
    models=("m",),
    rival=None,
    keep=None,
    mixture=None,
    success_on=(),
) -> Op:
    outcomes = (
        tuple(Outcome(E(w), E(p)) for w, p in mixture) if mixture else (Outcome(E(1), E(success)),)
    )
    return Op(
        name,
        Granularity("x", over) if over else None,
        tuple(models),
        E(reads),
        E(writes),
        outcomes,
        success_on=success_on,
        rival=E(rival) if rival is not None else None,
        red_flag=RedFlag(None, True, E(keep)) if keep is not None else None,
    )


def checked(models, task: Task, params: dict[str, Any] | None = None) -> FakeChecked:
    env: dict[str, Any] = dict(params or {})
    for d in task.data:
        from aalp.front.numbers import exact

        env[d.name] = exact(d.count, env)
    return FakeChecked(Spec((), tuple(models), (task,)), env)


def hanoi(disks: int = 10, p: str = "0.9978^x", keep=None, require="0.95") -> FakeChecked:
    """MAKER's Towers of Hanoi: s = 2^disks − 1 steps, x steps per call, ahead-by-k voting."""
    t = Task(
        "hanoi",
        (Data("s", "steps", E("2^disks - 1")),),
        (op("move", 600, "538*x", p, over="s", models=("m",), keep=keep),),
        (ChainStage(("move",), "s"),),
        boosters=(VoteBooster("ahead_by"),),
        requirements=(Requirement("success", ">=", E(require)),),
    )
    return checked([model("m", can=("move",))], t, {"disks": Fraction(disks)})


def debugging(b=3, k=5, l=40, history="full", context=10**9) -> FakeChecked:  # noqa: E741
    """A QA/developer conversation over b bugs in k functions of l tokens (AALPs §3.2)."""
    t = Task(
        "debug",
        (Data("bugs", "steps", E("b")),),
        (
            op("qa", "k*l", 5, "1", models=("m",)),
            op("fix", "k*l", "k*l", "1", models=("m",)),
        ),
        (ChainStage(("qa", "fix"), "bugs", history),),
    )
    params = {"b": Fraction(b), "k": Fraction(k), "l": Fraction(l)}
    return checked([model("m", context=context, can=("qa", "fix"))], t, params)


def sorting(n=100, fanin=None, overlap=None, workers=None) -> FakeChecked:
    """Sort chunks of x items, then merge them in a tree of the given fan-in (Chen et al.)."""
    t = Task(
        "sort",
        (Data("items", "items", E(n), E(4)),),
        (
            op("sort", "50 + 4*x", "4*x", "0.999^x", over="items"),
            op("merge", "20 + 8*x", "4*x", "0.9995^x", over="items"),
        ),
        (
            MapStage(("sort",), "items", E(overlap) if overlap is not None else None),
            ReduceStage("merge", E(fanin) if fanin is not None else None),
        ),
        boosters=(VoteBooster("majority", E(9)), RetryBooster("exact", E(4), ("merge",))),
        workers=E(workers) if workers is not None else None,
    )
    return checked([model("m", size=2, can=("sort", "merge"))], t)


def routing(k=8, n=2000) -> FakeChecked:
    """k-task routing (AALPs §3.1): a generalist of size k, or a specialist behind a router."""
    t = Task(
        "route",
        (Data("queries", "items", E(10)),),
        (
            op(
                "solve",
                "n",
                20,
                "0.95",
                models=("big", "small"),
                success_on=(ModelSuccess("small", (Outcome(E(1), E("0.97")),)),),
            ),
            op("classify", 30, 2, "0.99", models=("tiny",)),
        ),
        (MapStage(("solve",), "queries"), RouteStage("solve", "classify")),
        boosters=(VoteBooster("majority", None, ("classify", "solve")),),
    )
    models = [
        model("big", size="k", can=("solve",)),
        model("small", size=1, routed=("solve",)),
        model("tiny", size="1/4", can=("classify",)),
    ]
    return checked(models, t, {"k": Fraction(k), "n": Fraction(n)})


def verified(check="judge", mixture=None, retries_max=None) -> FakeChecked:
    """A map whose op is retried until an exact check or an LLM judge accepts it."""
    ops = [op("gen", 100, 50, "0.6", mixture=mixture)]
    if check != "exact":
        ops.append(op("judge", 150, 3, "0.9"))
    t = Task(
        "verified",
        (Data("items", "items", E(20)),),
        tuple(ops),
        (MapStage(("gen",), "items"),),
        boosters=(RetryBooster(check, E(retries_max) if retries_max else None, ("gen",)),),
    )
    return checked([model("m", can=("gen", "judge"))], t)


def evolution(k=6, l=30, local=False) -> FakeChecked:  # noqa: E741
    """Evolutionary optimization (AALPs §3.3): mutate all k blocks at once until every block is
    right (each right w.p. 1/2), or one block of l tokens at a time."""
    if local:
        data, mutate = Data("blocks", "steps", E("k")), op("mutate", "l", "l", "1/2")
    else:
        data, mutate = Data("once", "steps", E(1)), op("mutate", "k*l", "k*l", "(1/2)^k")
    t = Task(
        "evolve",
        (data,),
        (mutate,),
        (ChainStage(("mutate",), data.name),),
        boosters=(RetryBooster("exact"),),
    )
    params = {"k": Fraction(k), "l": Fraction(l)}
    return checked([model("m", context=10**9, can=("mutate",))], t, params)


def test_formula_builder():
    assert E("2^d - 1") == BinOp("-", BinOp("^", Num(Fraction(2)), Name("d")), Num(Fraction(1)))
    assert E("min(x, 3)") == Call("min", (Name("x"), Num(Fraction(3))))


def test_hanoi_fixture_has_exact_sizes():
    c = hanoi(64)
    assert c.env["s"] == 2**64 - 1


__all__ = [
    "E",
    "FakeChecked",
    "MapStage",
    "ReduceStage",
    "RetryBooster",
    "RouteStage",
    "VoteBooster",
    "checked",
    "debugging",
    "evolution",
    "hanoi",
    "model",
    "op",
    "routing",
    "sorting",
    "verified",
]
