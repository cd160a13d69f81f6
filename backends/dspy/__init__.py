"""The ``dspy`` target: the plan as a ``dspy.Module``.

One ``dspy.Predict`` per op (its signature: the input in, the answer out, the prompt as
instructions), ``dspy.Parallel`` for every fan-out, votes sampled with distinct ``rollout_id``s
at temperature 1.0; the module is usable inside a team's DSPy program and optimizable by
DSPy's optimizers. ``main`` runs it with ``dspy.LM`` (``cache=False``, ``num_retries=0``)
against an OpenAI-compatible endpoint. DSPy is not imported here.
"""

from __future__ import annotations

from typing import ClassVar

from ..frameworks import FrameworkBackend


class DSPyBackend(FrameworkBackend):
    """Emits ``<task>_dspy.py``."""

    name: ClassVar[str] = "dspy"
    description: ClassVar[str] = "DSPy Module: a Predict per op, dspy.Parallel fan-out, votes"
    package: ClassVar[str] = "aalp.backends.dspy"
    template = "program.py.j2"
    suffix = "dspy"
    # DSPy modules are stateless per call: a chain's growing conversation is not expressed
    unsupported = frozenset({"routed_verifier", "history_full"})
