"""`# noqa` comments: ``# noqa: TW106`` silences that rule on its line; a bare ``# noqa``
silences every rule there. A delegated rule's own code (``# noqa: T201``) works too.

Comments are read with :mod:`tokenize`, so a ``# noqa`` inside a string is not a comment.
"""

from __future__ import annotations

import io
import tokenize

from trainwell.lint.rules import ALL_RULES

NOQA = "noqa"
ALL_CODES: frozenset[str] = frozenset({"*"})

# alias code (ruff's) -> trainwell code
_ALIASES: dict[str, str] = {
    alias: rule.code for rule in ALL_RULES.values() for alias in rule.aliases
}


def _is_code(text: str) -> bool:
    """``TW106``, ``T201``, ``PLW0603``: letters then digits."""
    letters = text.rstrip("0123456789")
    return bool(letters) and letters.isalpha() and len(letters) < len(text)


def parse_noqa_comment(comment: str) -> frozenset[str] | None:
    """The codes a comment silences (``ALL_CODES`` for a bare noqa), or None if it is no noqa.

    >>> sorted(parse_noqa_comment("# noqa: TW106, T201"))
    ['T201', 'TW103', 'TW106']
    """
    text = comment.lstrip("#").strip()
    lowered = text.lower()
    start = lowered.find(NOQA)
    if start < 0 or (start > 0 and lowered[start - 1] not in " #"):
        return None
    rest = text[start + len(NOQA) :]
    if not rest.startswith(":"):
        return ALL_CODES if not rest.strip() or rest[0] in " #" else None
    codes: set[str] = set()
    for raw in rest[1:].replace(",", " ").split():
        code = raw.strip().upper()
        if not _is_code(code):
            break
        codes.add(code)
        if code in _ALIASES:
            codes.add(_ALIASES[code])
    return frozenset(codes) if codes else ALL_CODES


def _line_comment(text: str) -> str | None:
    """The comment of one physical line, read with tokenize (None if there is none)."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                return token.string
    except (tokenize.TokenError, SyntaxError):
        return None
    return None


def noqa_lines(
    source: str, string_lines: frozenset[int] = frozenset()
) -> dict[int, frozenset[str]]:
    """Line number -> codes silenced on it (``ALL_CODES`` for a bare noqa).

    Only lines that mention noqa are tokenized; ``string_lines`` (lines inside multi-line
    strings, known from the AST) are skipped, so a "# noqa" in a docstring silences nothing.
    """
    if NOQA not in source.lower():
        return {}
    out: dict[int, frozenset[str]] = {}
    for number, text in enumerate(source.splitlines(), start=1):
        if NOQA not in text.lower() or number in string_lines:
            continue
        comment = _line_comment(text)
        codes = parse_noqa_comment(comment) if comment else None
        if codes is not None:
            out[number] = codes
    return out


def is_silenced(code: str, line: int, silenced: dict[int, frozenset[str]]) -> bool:
    """Whether a finding of ``code`` on ``line`` is silenced."""
    codes = silenced.get(line)
    if codes is None:
        return False
    return codes is ALL_CODES or code in codes
