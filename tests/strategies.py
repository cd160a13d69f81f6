"""Hypothesis strategies that build random, syntactically valid specs as IR.

``specs()`` draws whole ``ir.Spec`` values (names need not resolve: these exercise the syntax,
the formatter and the parser, not the checker); ``exprs()`` draws formulas. Every value drawn
prints to text that parses back to an equal IR, which ``test_printer_roundtrip`` asserts and the
fuzzing tests reuse.
"""

from __future__ import annotations

from fractions import Fraction

from aalp.front import ir
from aalp.front.literals import number_value
from aalp.front.parser import _terminal_text
from hypothesis import strategies as st

KEYWORDS = frozenset(t for t in _terminal_text().values() if t.isidentifier())

# a fixed pool draws fast and shrinks well; it holds words that are keywords elsewhere in the
# language spelled with a twist, and one-letter names like the granularity x
_POOL = ("x", "n", "p", "s", "k", "a_b", "_q", "disks", "move", "size2", "tok", "Mtok2", "w9")
names = (
    st.sampled_from(_POOL)
    | st.text("abcdefghxyz_", min_size=1, max_size=5).filter(lambda s: s not in KEYWORDS)
    # keywords are contextual: a name may be spelled like one
    | st.sampled_from(sorted(KEYWORDS))
)


@st.composite
def literals(draw: st.DrawFn) -> ir.Num:
    """A number literal as a user would write it (``42``, ``0.998``, ``1e-6``, ``128k``)."""
    whole = draw(st.integers(0, 10**6))
    text = str(whole)
    if draw(st.booleans()):
        text += "." + draw(st.from_regex(r"[0-9]{1,4}", fullmatch=True))
    if draw(st.integers(0, 4)) == 0:
        text += "e" + draw(st.sampled_from(["", "-", "+"])) + str(draw(st.integers(0, 30)))
    elif draw(st.integers(0, 3)) == 0:
        text += draw(st.sampled_from("kMGT"))
    value = number_value(text)
    assert value is not None
    # sometimes forget the literal: the printer must then write a canonical decimal
    keep = draw(st.booleans())
    return ir.Num(value, text if keep else "")


def _calls(children: st.SearchStrategy[ir.Expr]) -> st.SearchStrategy[ir.Expr]:
    one = st.builds(
        lambda f, a: ir.Call(f, (a,)),
        st.sampled_from(["log", "log2", "ln", "exp", "sqrt", "ceil", "floor"]),
        children,
    )
    log_base = st.builds(lambda a, b: ir.Call("log", (a, b)), children, children)
    many = st.builds(
        lambda f, args: ir.Call(f, tuple(args)),
        st.sampled_from(["min", "max"]),
        st.lists(children, min_size=1, max_size=3),
    )
    return one | log_base | many


def exprs(max_leaves: int = 12) -> st.SearchStrategy[ir.Expr]:
    """Formulas over numbers and names with every operator, negation and function."""
    leaves = literals() | st.builds(ir.Name, names)
    return st.recursive(
        leaves,
        lambda children: (
            st.builds(ir.BinOp, st.sampled_from(["+", "-", "*", "/", "^"]), children, children)
            | st.builds(ir.Neg, children)
            | _calls(children)
        ),
        max_leaves=max_leaves,
    )


small = exprs(6)
big = exprs()
maybe_small = st.none() | small


def _unique(items: list, key) -> list:
    seen: set = set()
    out = []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            out.append(item)
    return out


prompt_texts = st.text(max_size=60) | st.lists(
    st.text(' ab"\\{}:\t', max_size=12).map(lambda line: "  " + line), min_size=1, max_size=4
).map("\n".join)

prompts = st.builds(lambda t: ir.Prompt(text=t), prompt_texts) | st.builds(
    lambda f: ir.Prompt(file=f), st.text(min_size=1, max_size=30)
)


@st.composite
def outcomes(draw: st.DrawFn) -> tuple[ir.Outcome, ...]:
    if draw(st.booleans()):
        return (ir.Outcome(ir.Num(Fraction(1), "1"), draw(small)),)
    pairs = draw(st.lists(st.tuples(small, small), min_size=1, max_size=3))
    return tuple(ir.Outcome(w, p) for w, p in pairs)


model_successes = st.builds(ir.ModelSuccess, names, outcomes())


@st.composite
def red_flags(draw: st.DrawFn) -> ir.RedFlag:
    max_writes = draw(maybe_small)
    unparsable = draw(st.booleans()) if max_writes is not None else True
    return ir.RedFlag(max_writes, unparsable, draw(maybe_small))


@st.composite
def ops(draw: st.DrawFn) -> ir.Op:
    granularity = None
    if draw(st.booleans()):
        granularity = ir.Granularity(draw(names), draw(names), draw(maybe_small))
    per_model = _unique(draw(st.lists(model_successes, max_size=2)), lambda m: m.model)
    return ir.Op(
        name=draw(names),
        granularity=granularity,
        models=tuple(draw(st.lists(names, max_size=3))),
        reads=draw(small),
        writes=draw(small),
        success=draw(outcomes()),
        success_on=tuple(per_model),
        rival=draw(maybe_small),
        red_flag=draw(st.none() | red_flags()),
        prompt=draw(st.none() | prompts),
        answer=draw(st.sampled_from(["text", "json", "number", "list", "choice"])),
    )


name_tuples = st.lists(names, min_size=1, max_size=3).map(tuple)

stages = st.one_of(
    st.builds(ir.MapStage, name_tuples, names, maybe_small, maybe_small),
    st.builds(ir.ChainStage, name_tuples, names, st.sampled_from(["stateless", "full", "choose"])),
    st.builds(ir.ReduceStage, names, maybe_small),
    st.builds(ir.CombineStage, names),
    st.builds(ir.RouteStage, names, names),
)

boosters = st.one_of(
    st.builds(
        ir.VoteBooster,
        st.sampled_from(["ahead_by", "majority"]),
        maybe_small,
        st.lists(names, max_size=2).map(tuple),
    ),
    st.builds(ir.RetryBooster, names, maybe_small, st.lists(names, max_size=2).map(tuple)),
)

pins = st.builds(ir.Pin, names, st.sampled_from(ir.PIN_FIELDS), small)
requirements = st.builds(
    ir.Requirement, st.sampled_from(ir.METRICS), st.sampled_from([">=", "<="]), small
)
objectives = st.builds(
    ir.Objective, st.sampled_from(["minimize", "maximize"]), st.sampled_from(ir.METRICS)
)
baselines = st.builds(ir.Baseline, names, st.lists(pins, max_size=4).map(tuple))
params = st.builds(ir.Param, names, big)


@st.composite
def tasks(draw: st.DrawFn) -> ir.Task:
    data = [
        ir.Data(draw(names), "steps", draw(small))
        if draw(st.booleans())
        else ir.Data(draw(names), "items", draw(small), draw(maybe_small))
        for _ in range(draw(st.integers(0, 3)))
    ]
    return ir.Task(
        name=draw(names),
        data=tuple(data),
        ops=tuple(draw(st.lists(ops(), max_size=3))),
        stages=tuple(draw(st.lists(stages, max_size=4))),
        boosters=tuple(draw(st.lists(boosters, max_size=3))),
        requirements=tuple(draw(st.lists(requirements, max_size=2))),
        objective=draw(st.none() | objectives),
        pins=tuple(draw(st.lists(pins, max_size=2))),
        baselines=tuple(draw(st.lists(baselines, max_size=2))),
        workers=draw(maybe_small),
    )


zero = ir.Num(Fraction(0), "0")
capabilities = st.builds(ir.Capability, names, st.booleans())


# no attention setting, or one of the words the language knows
attentions = st.none() | st.sampled_from(ir.ATTENTION).map(ir.Attention)


# no speed, or one with some of its parts (at least one: the grammar needs one)
speeds = st.none() | st.builds(
    ir.Speed, st.none() | small, st.none() | small, st.none() | small
).filter(lambda s: (s.prefill, s.decode, s.overhead_ms) != (None, None, None))


@st.composite
def models(draw: st.DrawFn) -> ir.Model:
    priced = draw(st.booleans())
    caps = draw(st.lists(capabilities, max_size=4))
    return ir.Model(
        name=draw(names),
        size=draw(small),
        context=draw(small),
        price_in=draw(small) if priced else zero,
        price_out=draw(small) if priced else zero,
        capabilities=tuple(caps),
        attention=draw(attentions),
        speed=draw(speeds),
    )


@st.composite
def specs(draw: st.DrawFn) -> ir.Spec:
    """A random spec as IR: params, models and tasks with every construct of the language."""
    return ir.Spec(
        params=tuple(draw(st.lists(params, max_size=4))),
        models=tuple(draw(st.lists(models(), max_size=2))),
        tasks=tuple(draw(st.lists(tasks(), max_size=2))),
        attention=draw(attentions),
    )
