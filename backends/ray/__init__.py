"""The ``ray`` target: the plan's calls as Ray Core tasks on a cluster (or a local Ray).

The driver decides the plan exactly as the python target does (the same runtime core, the same
boosters and call keys); every LLM call is a Ray task, bounded in flight with ``ray.wait``,
retried by Ray for transport errors only, and recorded by the task itself in a run directory
every node can reach, so a killed driver or a lost node repeats no completed call. The
program's shape is in ``templates/``; this glue only prepares literals. Ray is not imported
here: compiling for this target does not need it.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from .. import python
from ..python import PythonBackend
from ..refusals import beam_features, judge_features, nested_features
from ..view import PlanError, View


class RayBackend(PythonBackend):
    """Emits ``ray_<task>.py`` (plus ``checks.py`` when the plan retries until an exact check
    passes), with the same literals as the python target."""

    name: ClassVar[str] = "ray"
    runs_repeat: ClassVar[bool] = False  # its driver runs the stages once (refusals.py)
    description: ClassVar[str] = "Ray Core tasks on a cluster: bounded ray.wait fan-out"
    package: ClassVar[str] = "aalp.backends.ray"

    def environment(self) -> Any:
        """This target's templates, then every target's, then the python target's
        (``checks.py.j2``: the exact checks are the same file)."""
        import jinja2

        env = super().environment()
        folder = os.path.join(os.path.dirname(python.__file__), "templates")
        env.loader = jinja2.ChoiceLoader([env.loader, jinja2.FileSystemLoader(folder)])
        return env

    def files(self, view: View) -> list[tuple[str, str, dict[str, Any]]]:
        # the driver's template runs stages flat, and neither judges nor beam searches
        for _, message in nested_features(view) + judge_features(view) + beam_features(view):
            raise PlanError(f"target {self.name}: {message}")
        out = []
        for path, template, context in super().files(view):
            if template == "program.py.j2":
                path = f"ray_{view['task']}.py"
                template = "ray_program.py.j2"
                context = {**context, "program_name": path}
            out.append((path, template, context))
        return out
