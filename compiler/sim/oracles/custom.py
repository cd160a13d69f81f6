"""An oracle of the user's own: ``aalp serve-sim --oracle MODULE:FUNCTION``.

``FUNCTION(ask)`` returns the right answer to one request (any JSON value); ``ask`` has
``op`` (the op's name), ``role`` (``map``, ``chain``, ``reduce``, ``classifier``,
``verifier``), ``request`` (the JSON object the program sent), ``task`` and ``env``. A wrong
answer is the right one changed by its type (a number moved, a text or list altered, a
boolean flipped), so votes, red flags and retries behave as with the sample oracles.
``MODULE`` is an importable module (looked up from the current directory too) or the path of
a ``.py`` file.
"""

from __future__ import annotations

import importlib
import importlib.util
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aalp.front import ir

from . import Ask, perturb_number
from .generic import make_input as generic_input


class OracleError(ValueError):
    """``--oracle`` names nothing that can answer: the message says what is wrong."""


class Custom:
    """An oracle built from one answer function, with the generic oracle's inputs."""

    def __init__(self, name: str, function: Callable[[Ask], Any]):
        self.name = name
        self._function = function

    def answer(self, ask: Ask) -> Any:
        return self._function(ask)

    def wrong(self, ask: Ask, right: Any, rng: random.Random) -> Any:
        return wrong_like(right, rng)

    def make_input(self, task: ir.Task, env: dict[str, float], seed: int) -> dict[str, Any]:
        return generic_input(task, env, seed)

    def expected(self, task: ir.Task, env: dict[str, float], data: dict[str, Any]) -> Any:
        return None


def wrong_like(right: Any, rng: random.Random) -> Any:
    """A wrong answer of the same type as ``right`` (never equal to it)."""
    if isinstance(right, bool):
        return not right
    if isinstance(right, int | float):
        return perturb_number(right, rng)
    if isinstance(right, str):
        return f"{right} (wrong {rng.randint(1, 10**6)})"
    if isinstance(right, list):
        return [*right, rng.randint(1, 10**6)]
    if isinstance(right, dict):
        return {**right, "wrong": rng.randint(1, 10**6)}
    return rng.randint(1, 10**6)


def load(text: str) -> Custom:
    """The oracle ``MODULE:FUNCTION`` names; ``OracleError`` when it names nothing callable."""
    module_name, sep, attr = text.rpartition(":")
    if not sep or not module_name or not attr.isidentifier():
        raise OracleError(f"'{text}' is not MODULE:FUNCTION (for example my_oracle:answer)")
    module = _module(module_name)
    function = getattr(module, attr, None)
    if not callable(function):
        raise OracleError(f"module '{module_name}' has no function '{attr}'")
    return Custom(text, function)


def _module(name: str) -> Any:
    try:
        if name.endswith(".py") or "/" in name or "\\" in name:
            path = Path(name)
            if not path.is_file():
                raise OracleError(f"no file '{name}'")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            if spec is None or spec.loader is None:
                raise OracleError(f"cannot load '{name}' as Python")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        return importlib.import_module(name)
    except OracleError:
        raise
    except ImportError as err:
        raise OracleError(f"cannot import '{name}': {err}") from None
    except Exception as err:  # the user's module failed while it loaded: say where
        raise OracleError(f"importing '{name}' failed: {type(err).__name__}: {err}") from None
