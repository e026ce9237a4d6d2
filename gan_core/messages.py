"""How errors and values are quoted in the one-line messages users see."""

from __future__ import annotations

import reprlib


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def shown(value) -> str:
    """A value as a message quotes it: repr, cut short (a 1 MB string is not echoed back)."""
    return reprlib.repr(value)
