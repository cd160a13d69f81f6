"""Where each framework's virtual environment is, for the framework target tests.

The frameworks are not installed in the test environment (their pins clash: DSPy needs
``openai<3``, the Agents SDK ``openai>=3``); CI builds one venv per framework and exports
``AALP_VENV_LANGGRAPH``, ``AALP_VENV_DSPY``, ``AALP_VENV_OPENAI_AGENTS``,
``AALP_VENV_AUTOGEN`` and ``AALP_VENV_CREWAI``. Without a venv the tests skip, unless
``AALP_REQUIRE_TARGETS=1`` (set in CI), where they fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

VARIABLES = {
    "langgraph": "AALP_VENV_LANGGRAPH",
    "dspy": "AALP_VENV_DSPY",
    "openai-agents": "AALP_VENV_OPENAI_AGENTS",
    "ray": "AALP_VENV_RAY",
    "autogen": "AALP_VENV_AUTOGEN",
    "crewai": "AALP_VENV_CREWAI",
}


def venv_python(target: str) -> str:
    """The python of ``target``'s venv; skips (or fails when required) if there is none."""
    variable = VARIABLES[target]
    root = os.environ.get(variable, "")
    python = Path(root) / "bin" / "python"
    if root and python.exists():
        return str(python)
    message = f"{target}: no framework venv (set {variable})"
    if os.environ.get("AALP_REQUIRE_TARGETS") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
