"""A Hypothesis strategy for *valid* specs: text that parses and checks, built from every
construct of the language (data, 1–6 ops, 1–3 models, every stage kind and booster, pins,
baselines, parameters with extreme values).

``specs()`` draws ``Drawn`` values: the spec's text and what it holds (for the tests' own
bookkeeping). ``specs(small=True)`` keeps every decision range small enough for
``tests/oracles/exhaustive.py`` to enumerate (units, counts and vote limits of a few values).
The shapes are templates of stage sequences; within each, numbers and options are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

ANSWERS = ("text", "json", "number", "list", "choice")


@dataclass
class Drawn:
    text: str
    small: bool
    shape: str
    ops: list[str] = field(default_factory=list)

    def __str__(self) -> str:  # what Hypothesis prints for a failing example
        return self.text


def _p(draw, extreme: bool) -> str:
    """A per-call success formula in x."""
    choices = [
        "0.99^x",
        "0.999^x",
        "0.9^x",
        "exp(-(x/40)^2)",
        "0.95",
        "0.7",
        "0.6",
        "mixture(0.8: 0.95, 0.2: 0.3)",
        "mixture(0.6: 0.99^x, 0.4: 0.4)",
    ]
    if extreme:
        choices += ["1", "0", "0.5", "1e-300", "0.999999999^x", "0.5^x", "0.45"]
    return draw(st.sampled_from(choices))


def _reads(draw) -> str:
    return draw(
        st.sampled_from(
            ["20 + 5*x", "100 + x", "50 + 10*x", "(10 + x)^2", "300", "prompt + 3*x", "8*x"]
        )
    )


def _writes(draw) -> str:
    return draw(st.sampled_from(["5", "2 + x", "3*x", "10 + 2*x", "1", "x^2"]))


@st.composite
def specs(draw, small: bool = False, extreme: bool | None = None) -> Drawn:
    if extreme is None:
        extreme = draw(st.integers(0, 4)) == 0 and not small
    shape = draw(
        st.sampled_from(
            [
                "map",
                "chain",
                "map_reduce",
                "two_maps",
                "routed",
                "verified",
                "map_chain",
                "pair",
                "nested",
                "judged",
            ]
        )
    )
    lines: list[str] = []
    # -- parameters ------------------------------------------------------------------------
    if small:
        n = draw(st.integers(1, 9))
    elif extreme:
        n = draw(st.sampled_from(["10", "1000", "2^64", "1e300", "1", "10^12"]))
    else:
        n = draw(st.sampled_from(["10", "100", "1000", "5000", "1M"]))
    lines.append(f"param n = {n}")
    lines.append(f"param prompt = {draw(st.sampled_from(['0', '50', '200']))}")
    target = draw(
        st.sampled_from(
            ["0.5", "0.9", "0.99"]
            + (["0", "1", "0.999999", "1 - 1e-18"] if extreme else [])
            + ([] if small else ["0.9999"])
        )
    )
    lines.append(f"param target = {target}")

    # -- ops and their names ---------------------------------------------------------------
    main = ["work"]
    extra: list[str] = []
    if shape in ("map_reduce",):
        extra = ["merge"]
    elif shape in ("two_maps", "map_chain", "pair", "nested"):
        extra = ["fix"]
    elif shape == "routed":
        extra = ["classify"]
    elif shape == "verified":
        extra = ["verify"]
    elif shape == "judged":
        extra = ["pick"]  # the judge of a best-of-n vote on work
    if not small and draw(st.integers(0, 3)) == 0 and shape in ("map", "chain", "two_maps"):
        main.append("work2")  # two ops in one stage
    ops = main + extra

    # -- models ----------------------------------------------------------------------------
    n_models = draw(st.integers(1, 2 if small else 3))
    models = [f"m{i}" for i in range(n_models)]
    # every model with a speed, or none (seconds are then unknown, never the objective)
    timed = draw(st.integers(0, 2)) == 0
    for i, m in enumerate(models):
        size = draw(st.sampled_from([1, 2, 5]))
        context = draw(st.sampled_from(["1G", "1M", "128k"] + (["400", "4k"] if extreme else [])))
        pin, pout = draw(st.sampled_from([("0.15", "0.6"), ("2", "8"), ("1", "1")]))
        can = list(ops)
        if shape == "routed" and i == n_models - 1 and n_models > 1:
            can = ["work if routed", "classify"] + [o for o in ops if o not in ("work", "classify")]
        can_text = ", ".join(c for c in can if " if routed" not in c)
        routed = [c for c in can if " if routed" in c]
        lines.append(
            f"model {m} {{ size {size} context {context} price in {pin} out {pout} per Mtok"
        )
        if timed:
            pre, dec, over = draw(st.sampled_from([("5000", "80", "200 ms"), ("1k", "20", "0 s")]))
            lines.append(f"  speed prefill {pre} tok/s decode {dec} tok/s overhead {over}")
        if can_text:
            lines.append(f"  can {can_text}")
        for r in routed:
            lines.append(f"  can {r}")
        lines.append("}")

    # -- task ------------------------------------------------------------------------------
    lines.append("task t {")
    data = "s" if shape in ("chain", "map_chain", "pair") else "xs"
    if shape in ("chain", "pair"):
        lines.append("  steps s = n")
    else:
        tok = draw(st.sampled_from(["1", "10", "100"]))
        lines.append(f"  items xs = n of {tok} tokens")
    if shape == "map_chain":
        lines.append("  steps s = n")
    if shape == "nested":  # a few units per chunk of xs (nested stages)
        lines.append(f"  items ys = {draw(st.integers(1, 3 if small else 5))} of 10 tokens")

    def op_text(name: str, over: str | None) -> list[str]:
        upto = ""
        if small:
            upto = f" upto {draw(st.integers(1, 4))}"
        elif draw(st.integers(0, 3)) == 0:
            upto = f" upto {draw(st.sampled_from(['5', '20', '1000']))}"
        gran = f"(x of {over}{upto})" if over else ""
        on = draw(st.lists(st.sampled_from(models), min_size=1, unique=True))
        if shape == "routed" and name == "work" and n_models > 1:
            on = list(dict.fromkeys([*on, models[-1]]))
        if shape == "routed" and name == "classify":
            on = [models[-1]] if n_models > 1 else models
        body = [f"  op {name}{gran} on {', '.join(on)} {{"]
        if over:
            body.append(f"    reads {_reads(draw)} tokens  writes {_writes(draw)} tokens")
            body.append(f"    success {_p(draw, extreme)}")
        else:
            body.append(
                f"    reads {draw(st.sampled_from(['10', '40', '200']))} tokens  writes 2 tokens"
            )
            body.append(f"    success {draw(st.sampled_from(['0.9', '0.99', '0.999']))}")
        if over and len(on) > 1 and draw(st.booleans()):
            body.append(
                f"    success on {on[-1]} {draw(st.sampled_from(['0.999^x', '0.995', '0.9999^x']))}"
            )
        if over and draw(st.integers(0, 3)) == 0:
            body.append(f"    rival {draw(st.sampled_from(['0.01', '0.1*(1 - 0.99^x)', '0']))}")
        if draw(st.integers(0, 3)) == 0:
            cond = draw(
                st.sampled_from(
                    ["unparsable", "writes > 500 tokens", "writes > 40 tokens or unparsable"]
                )
            )
            keep = draw(st.sampled_from(["", " keep 0.9", " keep 0.99"]))
            body.append(f"    red_flag {cond}{keep}")
        answers = ["number"] if name == "pick" else ["number", "json", "text"]
        body.append(f"    answer {draw(st.sampled_from(answers))}")
        body.append("  }")
        return body

    for name in ops:
        if name in ("classify", "verify", "pick"):
            lines += op_text(name, None)
        elif shape == "map_chain" and name == "fix":
            lines += op_text(name, "s")
        elif shape == "nested" and name == "fix":  # over the per-chunk data
            lines += op_text(name, "ys" if draw(st.booleans()) else None)
        elif name == "merge":
            lines += op_text(name, data)
        else:
            lines += op_text(name, data if draw(st.integers(0, 5)) else None)

    # -- stages ----------------------------------------------------------------------------
    stage_ops = ", ".join(main)
    if shape == "chain" or shape == "pair":
        names = ", ".join(main + (["fix"] if shape == "pair" else []))
        history = draw(
            st.sampled_from(["", " history full", " history choose", " history stateless"])
        )
        lines.append(f"  chain {names} over s{history}")
    else:
        overlap = " overlap 0.5" if not small and draw(st.integers(0, 6)) == 0 else ""
        lines.append(f"  map {stage_ops} over xs{overlap}" + (" {" if shape == "nested" else ""))
    if shape == "nested":
        kind = draw(st.sampled_from(["map", "chain"]))
        lines.append(f"    {kind} fix over ys")
        if draw(st.booleans()):
            lines.append(f"    combine {draw(st.sampled_from(['concat', 'first']))}")
        lines.append("  }")
    if shape == "map_reduce":
        fan = draw(st.sampled_from(["", " fanin 2", " fanin 3", " fanin choose"]))
        lines.append(f"  reduce merge{fan}")
    if shape == "two_maps":
        lines.append("  combine concat")
        lines.append("  map fix over xs")
    if shape == "map_chain":
        lines.append("  chain fix over s")
    if shape == "routed":
        lines.append("  route work by classify")
    if shape not in ("map_reduce",) and draw(st.booleans()):
        lines.append(f"  combine {draw(st.sampled_from(['concat', 'vote', 'first']))}")

    # -- boosters --------------------------------------------------------------------------
    boosted = [o for o in ops if o not in ("verify", "pick")]
    if shape == "judged":
        mx = f" max {draw(st.integers(1, 3))}" if small or draw(st.booleans()) else ""
        lines.append(f"  allow vote judge pick{mx} on work")
    if shape == "verified":
        mx = f" max {draw(st.integers(1, 3))}" if small or draw(st.booleans()) else ""
        lines.append(f"  allow retry{mx} until verify on work")
    kinds = draw(st.lists(st.sampled_from(["ahead", "majority", "retry"]), max_size=2, unique=True))
    for kind in kinds:
        on = draw(st.sampled_from(["", " on " + boosted[0]]))
        if small:
            mx = (
                f" max {draw(st.integers(1, 3) if kind != 'majority' else st.sampled_from([3, 5]))}"
            )
        else:
            mx = draw(
                st.sampled_from(
                    ["", " max 5", " max 50"] + ([" max 2^64", " max 1e9"] if extreme else [])
                )
            )
        if kind == "ahead":
            lines.append(f"  allow vote ahead_by{mx}{on}")
        elif kind == "majority":
            lines.append(f"  allow vote majority{mx}{on}")
        elif shape != "verified":
            lines.append(f"  allow retry{mx} until exact{on}")

    # -- requirements, objective, workers, pins, baselines ---------------------------------
    # the reliability bound: on every item at once (success), or per item of the stage data
    measure = draw(st.sampled_from(["success", "success", "accuracy", "errors"]))
    if draw(st.integers(0, 4)):
        if measure == "success":
            lines.append("  require success >= target")
        elif measure == "accuracy":
            lines.append(f"  require accuracy of {data} >= target")
        else:
            lines.append(f"  require errors of {data} <= {draw(st.sampled_from(['0.01', '1']))}")
    if not small and draw(st.integers(0, 5)) == 0:
        lines.append(f"  require dollars <= {draw(st.sampled_from(['0.001', '10', '1e9']))}")
    if not small and draw(st.integers(0, 7)) == 0:
        lines.append(f"  require latency <= {draw(st.sampled_from(['50', '1e6']))}")
    objective = draw(st.sampled_from(
        ["minimize cost", "minimize dollars", "minimize calls", "minimize tokens",
         "minimize latency", "minimize forward_passes"]
        + (["maximize success"] if measure == "success" else [])
        + (["minimize seconds"] if timed else [])
    ))  # fmt: skip
    lines.append(f"  {objective}")
    if not small and draw(st.integers(0, 4)) == 0:
        lines.append(f"  workers {draw(st.sampled_from(['1', '4', '100']))}")
    if draw(st.integers(0, 2)) == 0:
        has_upto = any(f"op {main[0]}(x of" in ln and "upto" in ln for ln in lines)
        pin_x = "1" if small or has_upto else draw(st.sampled_from(["1", "n", "2"]))
        if any(f"op {main[0]}(x of" in ln for ln in lines):
            lines.append(f"  baseline whole {{ {main[0]}.x = {pin_x}  {main[0]}.vote = none }}")
        on = next(ln for ln in lines if ln.startswith(f"  op {main[0]}")).split(" on ")[1]
        first = on.split(",")[0].strip(" {")
        lines.append(f"  baseline single {{ {main[0]}.model = {first} }}")
    lines.append("}")
    return Drawn("\n".join(lines) + "\n", small, shape, ops)
