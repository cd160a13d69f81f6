"""The python target: goldens, escaping of user text, and the emitted runtime's semantics.

The runtime tests import an emitted program and drive it with a scripted in-process client,
then compare what it did with an independent, sequential reading of the same samples.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import importlib.util
import itertools
import json
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aalp.api import compile as emit
from aalp.backends.base import write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import regen_golden  # noqa: E402  (the script beside this file)
from test_backend import ruff_clean  # noqa: E402

_counter = itertools.count()


def load_program(folder: Path, name: str) -> Any:
    """Import an emitted program as a fresh module."""
    spec = importlib.util.spec_from_file_location(f"emitted_{next(_counter)}", folder / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeClient:
    """An in-process stand-in for ``AsyncOpenAI``: ``reply(key, messages) -> (text, writes)``
    or an exception to raise; records every request."""

    def __init__(self, reply: Any):
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))

    async def create(self, **kwargs: Any) -> Any:
        key = kwargs["extra_headers"]["X-Aalp-Call"]
        self.requests.append({**kwargs, "key": key})
        out = self.reply(key, kwargs["messages"])
        if isinstance(out, Exception):
            raise out
        text, writes = out
        message = SimpleNamespace(content=text)
        usage = SimpleNamespace(prompt_tokens=100, completion_tokens=writes)
        return SimpleNamespace(
            choices=[SimpleNamespace(message=message, finish_reason="stop")], usage=usage
        )


def run(module: Any, client: FakeClient, tmp_path: Path, data: dict[str, Any], *flags: str):
    (tmp_path / "input.json").write_text(json.dumps(data), encoding="utf-8")
    argv = ["--input", str(tmp_path / "input.json"), "--journal", "-", "--progress", "off"]
    args = module.parse_args([*argv, "--backoff", "0", *flags])
    return asyncio.run(module.run_plan(args, client))


def program(tmp_path: Path, checked: Any, decisions: dict[str, Any]) -> Any:
    compiled = emit(checked, decisions=decisions)
    write(compiled.files, str(tmp_path))
    return load_program(tmp_path, compiled.files[0].path)


# --- goldens ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", regen_golden.samples(), ids=lambda p: p.stem)
def test_golden_files_match(sample: Path) -> None:
    folder = regen_golden.golden_dir("python", sample)
    golden = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*")}
    assert regen_golden.render("python", sample) == golden, (
        "emitted code changed: review and run python tests/regen_golden.py"
    )


def test_golden_files_are_ruff_clean() -> None:
    ruff_clean(regen_golden.GOLDEN / "python")


# --- user text can never change the code ------------------------------------------------------


def _shape(source: str) -> str:
    """The AST with every string constant blanked: the code without its text."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = "S"
    return ast.dump(tree)


def _with_prompt(checked: Any, text: str) -> Any:
    task = checked.spec.tasks[0]
    op = dataclasses.replace(task.ops[0], prompt=dataclasses.replace(task.ops[0].prompt, text=text))
    task = dataclasses.replace(task, ops=(op, *task.ops[1:]))
    spec = dataclasses.replace(checked.spec, tasks=(task,))
    return dataclasses.replace(checked, spec=spec)


COUNT_ONE_CALL = {"count.x": 40, "count.model": "gpt4omini", "count.vote": "none"}
# pieces that would break naive templating: quotes of every kind, escapes, jinja syntax
NASTY = st.lists(
    st.one_of(
        st.sampled_from(['"', "'", '"""', "'''", "\\", "{", "}", "{{", "%}", "{#", "\n", "\r"]),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    ),
    max_size=30,
).map("".join)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prompt=NASTY)
def test_prompt_text_is_sent_verbatim_and_never_changes_the_code(
    prompt: str, tmp_path_factory: pytest.TempPathFactory, load_sample
) -> None:
    base = load_sample("counting", n="40")
    reference = emit(_with_prompt(base, "reference"), decisions=COUNT_ONE_CALL).files[0].text
    folder = tmp_path_factory.mktemp("fuzz")
    compiled = emit(_with_prompt(base, prompt), decisions=COUNT_ONE_CALL)
    text = compiled.files[0].text
    assert _shape(text) == _shape(reference)
    write(compiled.files, str(folder))
    ruff_clean(folder)
    module = load_program(folder, compiled.files[0].path)
    client = FakeClient(lambda key, messages: ("3", 1))
    result, report = run(module, client, folder, {"digits": "7" * 40})
    assert result == 3 and report["calls"] == 1
    assert client.requests[0]["messages"][0] == {"role": "system", "content": prompt}


# --- runtime semantics, against a sequential reading of the same samples ----------------------


def _sequential_ahead_by(answers: list[Any], k: int) -> tuple[Any, int]:
    """First-to-ahead-by-k read one sample at a time: (winner, samples used)."""
    votes: Counter[str] = Counter()
    for n, answer in enumerate(answers, 1):
        if answer is None:  # red-flagged
            continue
        votes[json.dumps(answer, sort_keys=True)] += 1
        ranked = [*votes.most_common(2), ("", 0)]
        if ranked[0][1] - ranked[1][1] >= k:
            return json.loads(ranked[0][0]), n
    raise AssertionError("not decided")


@pytest.mark.parametrize("seed", range(3))
def test_ahead_by_batches_decide_exactly_like_one_sample_at_a_time(
    seed: int, tmp_path: Path, load_sample
) -> None:
    from aalp.sim.oracles.hanoi import solve

    checked = load_sample("hanoi", disks="4", p="0.7")
    decisions = {"move.x": 1, "move.model": "gpt41mini", "move.vote": "ahead_by", "move.votes": 3}
    module = program(tmp_path, checked, decisions)
    script: dict[str, Any] = {}

    def reply(key: str, messages: list[dict[str, Any]]) -> Any:
        request = json.loads(messages[-1]["content"])
        right = solve(request["previous"]["state"], request["step"], 1)
        draw = random_of(seed, key)
        if draw < 0.1:
            script[key] = None
            return "{ not json", 5  # unparsable: red-flagged
        if draw < 0.15:
            script[key] = None
            return json.dumps(right), 900  # longer than the 750-token red flag
        answer = right if draw < 0.75 else {"moves": [[9, 9, 9]], "state": right["state"]}
        script[key] = answer
        return json.dumps(answer), 50

    result, report = run(
        module, FakeClient(reply), tmp_path, {"s": {"state": [[4, 3, 2, 1], [], []]}}
    )
    # replay every decision from the samples the program drew, in key order
    by_step: dict[str, dict[int, Any]] = {}
    for key, answer in script.items():
        prefix, _, index = key.rpartition("#")
        by_step.setdefault(prefix, {})[int(index)] = answer
    total = 0
    state = [[4, 3, 2, 1], [], []]
    for step in range(15):
        samples = by_step[f"s0/{step}/move"]
        assert sorted(samples) == list(range(len(samples)))  # no gaps, no repeats
        winner, used = _sequential_ahead_by([samples[i] for i in range(len(samples))], 3)
        assert used == len(samples)  # batching never drew a sample the sequence would not
        total += used
        state = winner["state"]
    assert result["state"] == state
    assert report["calls"] == total == len(script)
    assert report["flagged"] == sum(a is None for a in script.values())


def random_of(seed: int, key: str) -> float:
    import hashlib

    digest = hashlib.sha256(f"{seed}|{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def test_majority_takes_k_valid_votes_and_resamples_flagged(tmp_path: Path, load_sample) -> None:
    from aalp.sim.oracles.hanoi import solve

    checked = load_sample("hanoi", disks="2")
    decisions = {"move.x": 1, "move.model": "gpt41mini", "move.vote": "majority"}
    module = program(tmp_path, checked, {**decisions, "move.votes": 5})

    def reply(key: str, messages: list[dict[str, Any]]) -> Any:
        sample = int(key.rpartition("#")[2])
        if sample in (1, 4):
            return "no json here", 3  # unparsable: discarded, not a vote
        request = json.loads(messages[-1]["content"])
        right = solve(request["previous"]["state"], request["step"], 1)
        wrong = {"moves": [], "state": [[], [], []]}
        return json.dumps(right if sample in (0, 2, 5) else wrong), 20

    result, report = run(module, FakeClient(reply), tmp_path, {"s": {"state": [[2, 1], [], []]}})
    # per step: samples 0..6, of which 1 and 4 are discarded; votes R, R, W, R, W -> R
    assert result["state"] == [[], [], [2, 1]]
    assert report["calls"] == 3 * 7 and report["flagged"] == 3 * 2


def test_transport_errors_are_retried_and_not_counted_as_calls(tmp_path: Path, load_sample) -> None:
    import openai

    try:  # the HTTP client the SDK is built on: httpx2 from openai 3 on, httpx before
        import httpx2 as httpx
    except ImportError:
        import httpx

    checked = load_sample("counting", n="30")
    module = program(tmp_path, checked, COUNT_ONE_CALL | {"count.x": 10})
    failures: Counter[str] = Counter()
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")

    def reply(key: str, messages: list[dict[str, Any]]) -> Any:
        if failures[key] < 2:
            failures[key] += 1
            response = httpx.Response(500, request=request)
            return openai.InternalServerError("boom", response=response, body=None)
        return "4", 1

    result, report = run(module, FakeClient(reply), tmp_path, {"digits": "7" * 30})
    assert result == 12
    assert report["calls"] == 3 and report["transport_errors"] == 6


def test_retry_until_exact_uses_the_users_check(tmp_path: Path, load_sample) -> None:
    checked = load_sample("evolution", k="3")
    decisions = {"mutate.x": 1, "mutate.model": "mutator", "mutate.vote": "none"}
    module = program(tmp_path, checked, {**decisions, "mutate.retries": "inf"})
    checks = tmp_path / "mine.py"
    checks.write_text(
        "def check_mutate(request, answer):\n    return answer == {'blocks': ['ok']}\n",
        encoding="utf-8",
    )

    def reply(key: str, messages: list[dict[str, Any]]) -> Any:
        # chunk c is right from its (c + 1)-th try on
        chunk = int(key.split("/")[1])
        tries = int(key.rpartition("#")[2])
        return json.dumps({"blocks": ["ok" if tries >= chunk else "no"]}), 10

    data = {"blocks": ["a", "b", "c"]}
    result, report = run(module, FakeClient(reply), tmp_path, data, "--checks", str(checks))
    assert result == [{"blocks": ["ok"]}] * 3
    assert report["calls"] == 1 + 2 + 3


def test_full_history_sends_the_conversation_as_chat_turns(tmp_path: Path, load_sample) -> None:
    checked = load_sample("debugging", k="4", b="2")
    decisions = {"check.x": 4, "fix.x": 4, "check.model": "qa", "fix.model": "developer"}
    decisions |= {"check.vote": "none", "fix.vote": "none", "check.history": "full"}
    module = program(tmp_path, checked, decisions)
    client = FakeClient(lambda key, messages: (json.dumps({"step": key}), 5))
    run(module, client, tmp_path, {"bugs": {"code": []}})
    assert [r["key"] for r in client.requests] == [
        "s0/0/check#0",
        "s0/0/fix#0",
        "s0/1/check#0",
        "s0/1/fix#0",
    ]
    last = client.requests[-1]["messages"]
    assert [m["role"] for m in last] == ["system"] + ["user", "assistant"] * 3 + ["user"]
    # every earlier answer is in the conversation, as the model wrote it
    assert [json.loads(m["content"])["step"] for m in last if m["role"] == "assistant"] == [
        "s0/0/check#0",
        "s0/0/fix#0",
        "s0/1/check#0",
    ]


VERIFIED = """
model m { size 1 context 10k price in 1 out 1 per Mtok can solve, judge }
task verified {
  items qs = 2 of 10 tokens
  op solve on m { reads 10 tokens writes 5 tokens success 0.6 prompt "Solve." answer json }
  op judge on m { reads 20 tokens writes 1 tokens success 0.9 prompt "Judge." answer text }
  map solve over qs
  allow retry max 3 until judge on solve
}
"""


def test_retry_until_an_llm_verifier_accepts(tmp_path: Path) -> None:
    from aalp.checks.loader import load_text

    checked = load_text(VERIFIED, "verified.aalp")
    decisions = {"solve.model": "m", "solve.vote": "none", "solve.retries": 3, "judge.model": "m"}
    module = program(tmp_path, checked, decisions)

    def reply(key: str, messages: list[dict[str, Any]]) -> Any:
        request = json.loads(messages[-1]["content"])
        if messages[0]["content"] == "Judge.":
            return ("yes" if request["answer"] == {"ok": True} else "no"), 1
        tries = int(key.rpartition("#")[2])
        return json.dumps({"ok": tries >= 1}), 5  # the second try of each item is right

    client = FakeClient(reply)
    result, report = run(module, client, tmp_path, {"qs": ["a", "b"]})
    assert result == [{"ok": True}, {"ok": True}]
    # per item: try 1 (rejected), try 2 (accepted), each judged once
    assert report["calls_by_op"] == {"solve": 4, "judge": 4}
    judged = sorted(r["key"] for r in client.requests if r["messages"][0]["content"] == "Judge.")
    assert judged == [f"s0/{c}/solve/check{t}#0" for c in (0, 1) for t in (1, 2)]
    # prediction: a try is accepted w.p. 0.6*0.9 + 0.4*0.1 = 0.58; E[tries] with 3 at most is
    # 1 + 0.42 + 0.42^2; each try is one call of solve and one of judge; two items
    tries = 1 + 0.42 + 0.42**2
    assert module.PREDICTION["calls_by_op"] == pytest.approx(
        {"solve": 2 * tries, "judge": 2 * tries}
    )


def test_model_map_and_bounded_concurrency(
    tmp_path: Path, load_sample, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = load_sample("counting", n="200")
    module = program(tmp_path, checked, COUNT_ONE_CALL | {"count.x": 10})  # 20 chunks
    in_flight = peak = 0

    class SlowClient(FakeClient):
        async def create(self, **kwargs: Any) -> Any:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1
            return await super().create(**kwargs)

    monkeypatch.setenv("AALP_MODEL_MAP", "gpt4omini=served-mini")
    client = SlowClient(lambda key, messages: ("1", 1))
    result, report = run(module, client, tmp_path, {"digits": "7" * 200}, "--concurrency", "3")
    assert result == 20 and report["calls"] == 20
    assert peak == 3  # twenty chunks ready at once, never more than three in flight
    assert {r["model"] for r in client.requests} == {"served-mini"}


def _completion(text: Any, writes: Any = 1, finish: str = "stop") -> Any:
    message = SimpleNamespace(content=text)
    usage = SimpleNamespace(prompt_tokens=100, completion_tokens=writes)
    return SimpleNamespace(
        choices=[SimpleNamespace(message=message, finish_reason=finish)], usage=usage
    )


#: what the SDK hands back for a 200 whose body is not a chat completion
NO_ANSWER = {
    "not JSON": json.JSONDecodeError("Unterminated string", "{", 1),
    "{}": SimpleNamespace(choices=None, usage=None),
    "[]": [],
    "a text body": "<html>oops</html>",
    "null": None,
    "no choices": SimpleNamespace(choices=[], usage=None),
    "a choice without a message": SimpleNamespace(choices=[SimpleNamespace()], usage=None),
    "content null": _completion(None),
    "content empty": _completion("  \n"),
    "content a number": _completion(4),
    "usage not counts": _completion("4", writes="many"),
}


@pytest.mark.parametrize("kind", list(NO_ANSWER))
def test_a_200_without_an_answer_is_retried_like_a_transport_error(
    kind: str, tmp_path: Path, load_sample
) -> None:
    checked = load_sample("counting", n="30")
    module = program(tmp_path, checked, COUNT_ONE_CALL | {"count.x": 10})
    attempts: Counter[str] = Counter()

    class Broken(FakeClient):
        async def create(self, **kwargs: Any) -> Any:
            key = kwargs["extra_headers"]["X-Aalp-Call"]
            attempts[key] += 1
            if attempts[key] <= 2:  # the first two attempts of every call
                self.requests.append({**kwargs, "key": key})
                if isinstance(NO_ANSWER[kind], Exception):
                    raise NO_ANSWER[kind]
                return NO_ANSWER[kind]
            return await super().create(**kwargs)

    result, report = run(
        module, Broken(lambda key, messages: ("4", 1)), tmp_path, {"digits": "7" * 30}
    )
    assert result == 12
    assert report["calls"] == 3 and report["flagged"] == 0  # never a call, never a vote
    assert report["malformed_responses"] == 6 and report["transport_errors"] == 0


def test_an_over_long_response_without_text_is_a_red_flag_not_a_retry(
    tmp_path: Path, load_sample
) -> None:
    checked = load_sample("hanoi", disks="1")
    decisions = {"move.x": 1, "move.model": "gpt41mini", "move.vote": "none"}
    module = program(tmp_path, checked, decisions)
    right = json.dumps({"moves": [[1, 0, 2]], "state": [[], [], [1]]})

    class Cut(FakeClient):
        async def create(self, **kwargs: Any) -> Any:
            key = kwargs["extra_headers"]["X-Aalp-Call"]
            self.requests.append({**kwargs, "key": key})
            if key.endswith("#0"):  # cut at max_tokens: paid for, red-flagged
                return _completion(None, kwargs["max_tokens"], "length")
            return _completion(right, 50)

    result, report = run(module, Cut(lambda k, m: None), tmp_path, {"s": {"state": [[1], [], []]}})
    assert result["state"] == [[], [], [1]]
    assert report["calls"] == 2 and report["flagged"] == 1 and report["malformed_responses"] == 0


def test_an_unparsable_answer_is_always_a_red_flag(tmp_path: Path, load_sample) -> None:
    """Counting declares no red flag: a garbled count used to become a vote of its own."""
    checked = load_sample("counting", n="30")
    module = program(tmp_path, checked, COUNT_ONE_CALL | {"count.x": 10})

    def reply(key: str, messages: list[dict[str, Any]]) -> Any:
        return ("Sorry, I lost track: {1" if key.endswith("#0") else "4"), 1

    result, report = run(module, FakeClient(reply), tmp_path, {"digits": "7" * 30})
    assert result == 12
    assert report["calls"] == 6 and report["flagged"] == 3
