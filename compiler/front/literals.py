"""The literals of the spec language: numbers (``128k``, ``1e-6``) and strings.

Numbers are exact fractions; plain strings take backslash escapes; triple-quoted strings are
verbatim and dedented. The parser and the formatter share these definitions, so what one writes
the other reads back.
"""

from __future__ import annotations

import re
from fractions import Fraction

from aalp.front import ir
from lark import Token

MAX_EXPONENT = 1000  # |decimal exponent| of a literal, suffix included
MAX_LITERAL = 400  # characters in one number literal

_SUFFIX = {"": 0, "k": 3, "M": 6, "G": 9, "T": 12}
_NUMBER = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(?:[eE]([+-]?\d+))?([kMGT]?)")


def token_span(file: str, token: Token) -> ir.Span:
    """The span of a lexer token: 1-based, the end column on its last character."""
    line = token.line or 1
    col = token.column or 1
    end_line = token.end_line or line
    end_col = max((token.end_column or col + 1) - 1, 1)
    return ir.Span(file, line, col, end_line, end_col)


def number_value(text: str) -> Fraction | None:
    """The exact value of a number literal, or None when it is malformed or out of range.

    >>> number_value("128k"), number_value("1.5e-3")
    (Fraction(128000, 1), Fraction(3, 2000))
    """
    match = _NUMBER.fullmatch(text)
    if match is None or len(text) > MAX_LITERAL:
        return None
    mantissa, exponent, suffix = match.groups()
    power = int(exponent or 0) + _SUFFIX[suffix]
    if abs(power) > MAX_EXPONENT:
        return None
    return Fraction(mantissa) * Fraction(10) ** power


_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r", "0": "\0"}
_ESCAPE = re.compile(r"\\(u\{[0-9A-Fa-f]{1,6}\}|.)", re.S)


def decode_string(literal: str) -> tuple[str, str | None]:
    """The text of a string literal and an error message (None when fine).

    Plain strings take the escapes ``\\\\ \\" \\n \\t \\r \\0 \\u{hex}``; triple-quoted
    strings are verbatim and dedented (see ``dedent``).
    """
    text, problem = decode_literal(literal)
    return text, problem[1] if problem else None


def decode_literal(literal: str) -> tuple[str, tuple[int, str] | None]:
    """The text of a literal and its first bad escape (offset in the literal, message)."""
    if literal.startswith('"""'):
        return dedent(literal[3:-3]), None
    body = literal[1:-1]
    problems: list[tuple[int, str]] = []

    def escape(m: re.Match[str]) -> str:
        code = m.group(1)
        if code in _ESCAPES:
            return _ESCAPES[code]
        if code.startswith("u{"):
            point = int(code[2:-1], 16)
            if point <= 0x10FFFF and not 0xD800 <= point <= 0xDFFF:
                return chr(point)
        problems.append((m.start() + 1, f"unknown escape '{m.group(0)}'"))
        return m.group(0)

    text = _ESCAPE.sub(escape, body)
    return text, problems[0] if problems else None


def dedent(raw: str) -> str:
    """The text of a triple-quoted string, from what lies between the quotes.

    1. If the first line is blank (the text starts on the line after the opening quotes), it is
       dropped; if the last line is blank (the closing quotes sit on a line of their own), it
       is dropped too.
    2. The longest run of spaces and tabs that starts every remaining non-blank line is removed;
       when the text starts right after the quotes, its first line is left out of that
       computation (and kept as written). Lines holding only spaces and tabs become empty.

    >>> dedent('''
    ...     Move one disk.
    ...       Answer in JSON.
    ...     ''')
    'Move one disk.\\n  Answer in JSON.'
    """
    lines = raw.split("\n")
    first_inline = True
    if len(lines) > 1 and not lines[0].strip(" \t"):
        lines = lines[1:]
        first_inline = False
    if len(lines) > 1 and not lines[-1].strip(" \t"):
        lines = lines[:-1]
    lines = [line if line.strip(" \t") else "" for line in lines]
    rest = lines[1:] if first_inline else lines
    indents = [len(line) - len(line.lstrip(" \t")) for line in rest if line]
    margin = min(indents, default=0)
    if margin:
        prefix = _common_prefix([line[:margin] for line in rest if line])
        margin = len(prefix)
    start = 1 if first_inline else 0
    out = lines[:start] + [line[margin:] for line in lines[start:]]
    return "\n".join(out)


def _common_prefix(prefixes: list[str]) -> str:
    first = prefixes[0] if prefixes else ""
    n = 0
    while n < len(first) and all(len(p) > n and p[n] == first[n] for p in prefixes):
        n += 1
    return first[:n]
