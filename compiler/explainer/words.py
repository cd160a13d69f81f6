"""Numbers and phrases for people, and lines that break only between phrases.

A line of the report is a sequence of phrases (``1,048,575 steps``, ``history stateless``,
``success per decision 1 - 8.05e-09``); ``fold`` lays them out in a width and breaks a line
only between two phrases, so a number never leaves its unit and a value never breaks at its
own space.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from aalp.explainer.schema import Number


def fmt(v: Number | bool) -> str:
    """A number for people: integers grouped, others to 4 significant digits.

    >>> fmt(1476345331370), fmt(0.012345), fmt(12345.6), fmt(None)
    ('1,476,345,331,370', '0.01235', '1.235e+04', '-')
    """
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "yes" if v else "no"
    f = float(v)
    if math.isinf(f) or math.isnan(f):
        return str(f)
    if f == int(f) and abs(f) < 1e15:
        return f"{int(f):,}"
    if abs(f) >= 1e6 or abs(f) < 1e-3:
        return f"{f:.4g}"
    return f"{f:,.4g}" if abs(f) >= 1000 else f"{f:.4g}"


def success_text(v: Number) -> str:
    """A probability, its distance from 1 when it is that close.

    >>> success_text(0.99999991), success_text(0.5)
    ('1 - 9e-08', '0.5')
    """
    if v is None:
        return "-"
    f = float(v)
    if 0.999 < f < 1:
        return f"1 - {1 - f:.3g}"
    return f"{f:.6g}"


def counted(v: Number, noun: str) -> str:
    """A count and its noun, singular for exactly one.

    >>> counted(1, "step"), counted(3.042, "sample"), counted(1048575, "step")
    ('1 step', '3.042 samples', '1,048,575 steps')
    """
    shown = fmt(v)
    return f"{shown} {noun}" if shown == "1" else f"{shown} {noun}s"


def prose(text: str) -> list[str]:
    """Words that may break anywhere between them, as phrases of one word each.

    >>> prose("of the plan's cost")
    ['of', 'the', "plan's", 'cost']
    """
    return text.split()


def fold(phrases: Sequence[str], width: int) -> list[str]:
    """The phrases joined by spaces in lines of at most ``width`` cells, breaking only between
    phrases; a phrase wider than ``width`` has a line of its own, whole.

    >>> fold(["success per decision 1 - 8.05e-09", "x = 1,", "history stateless"], 24)
    ['success per decision 1 - 8.05e-09', 'x = 1, history stateless']
    """
    from rich.cells import cell_len

    lines: list[str] = []
    for phrase in phrases:
        if lines and cell_len(lines[-1]) + 1 + cell_len(phrase) <= width:
            lines[-1] += " " + phrase
        else:
            lines.append(phrase)
    return lines


#: words that join the words on either side into one value (``1 - 8.05e-09``, ``x = 1``,
#: ``success >= 0.95``, ``600 + 5.64e+08 = 5.64e+08``)
OPERATORS = frozenset({"=", "==", "+", "-", "×", "*", "/", "·", "<", ">", "<=", ">=", "≤", "≥"})


def phrases_of(text: str) -> list[str]:
    """A sentence's words as phrases, a value whole: an operator joins the words on either
    side, and a word that opens a parenthesis after its first character (``Θ(s·log``,
    ``ceiling(k/3)``) runs to the word that closes it.

    >>> phrases_of("needs 600 + 5.6e+08 = 5.6e+08 tokens (growth Θ(s·log s))")
    ['needs', '600 + 5.6e+08 = 5.6e+08', 'tokens', '(growth', 'Θ(s·log s))']
    """
    out: list[str] = []
    depth, glue = 0, False
    for word in text.split(" "):
        joined = bool(out) and (glue or depth > 0 or word in OPERATORS)
        if joined:
            out[-1] += " " + word
        else:
            out.append(word)
        glue = word in OPERATORS
        inner = word if depth > 0 else word[1:] if word.startswith("(") else word
        depth = max(0, depth + inner.count("(") - inner.count(")"))
    return out


def formula_phrases(text: str) -> list[str]:
    """A formula's terms as phrases: it breaks only before a ``+`` or ``-`` between terms and
    after a comma, never inside a term or a number.

    >>> formula_phrases("0.0001797*s*(log(s) + 2.97) - Sum(2*j, (j, 1, n))")
    ['0.0001797*s*(log(s)', '+ 2.97)', '- Sum(2*j,', '(j,', '1,', 'n))']
    """
    return re.split(r" (?=[+-] )|(?<=,) ", text)
