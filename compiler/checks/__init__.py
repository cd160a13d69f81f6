"""Checks of a parsed spec: names, values, pins and task structure, with precise diagnostics.

``check`` (in ``checker``) is the driver; each other module holds the checks of one concept
as plain functions of a ``context.Context`` or ``context.TaskContext``: ``names``,
``params``, ``models``, ``ranges`` (the range of x), ``ops``, ``stages``, ``boosters``,
``requirements``, ``pins``, ``windows`` (context windows), ``unused``, with ``formulas`` for
evaluating a formula with diagnostics and ``overrides`` for ``-D``. ``loader`` reads, parses
and checks a file.
"""

from aalp.checks.checker import Checked, check

__all__ = ["Checked", "check"]
