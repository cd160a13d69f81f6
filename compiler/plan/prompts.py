"""The system prompt of an op: the one place that text is made.

The emitted programs send it and the simulated server recognises an op by it, so both read it
from here.
"""

from __future__ import annotations

import os

from aalp.front import ir


class PromptFileError(ValueError):
    """A prompt file that cannot be read (missing, outside the spec's folder, too large)."""


def system_prompt(op: ir.Op, task: ir.Task, spec_dir: str | os.PathLike | None) -> str:
    """The system prompt of ``op``: its inline text, its prompt file, or a default naming it.

    Prompt files are read by ``aalp.checks.loader.read_prompt``, confined to ``spec_dir`` (None: the
    spec has no folder, and a prompt file is refused). The default says what the op is and how
    to answer, so a run without prompts still identifies every op uniquely.
    """
    prompt = op.prompt
    if prompt is not None and prompt.text is not None:
        return prompt.text
    if prompt is not None and prompt.file is not None:
        from aalp.checks.loader import PromptError, read_prompt, shown

        try:
            return read_prompt(prompt.file, spec_dir)
        except PromptError as err:
            raise PromptFileError(
                f"op '{op.name}': prompt file '{shown(prompt.file)}' {err.problem}"
            ) from None
    return (
        f"You perform the step '{op.name}' of the task '{task.name}'. The user message is a "
        f"JSON object with the input. Answer with {_FORMAT_WORDS[op.answer]} only."
    )


_FORMAT_WORDS = {
    "text": "plain text",
    "json": "one JSON value",
    "number": "one number",
    "list": "one JSON list",
    "choice": "one word naming your choice",
}
