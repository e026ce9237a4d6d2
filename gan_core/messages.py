"""How errors and values are quoted in the one-line messages users see."""

from __future__ import annotations

import re
import reprlib
import unicodedata


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def shown(value) -> str:
    """A value as a message quotes it: repr, cut short (a 1 MB string is not echoed back)."""
    return reprlib.repr(value)


MAX_SHOWN_TEXT = 200  # characters of one run-supplied string on a page or a card
# What can start Markdown or HTML mid-line: links and images ([ ] !), emphasis (* ~ and _ at a
# word's edge), code, tags and entities (< > &), maths ($), table cells (|), and the autolinks of
# "http://", "www." and e-mail addresses ('@' between two non-spaces). CommonMark shows a
# backslash-escaped mark as itself; the rest of the text (parentheses, dots, '_' inside a word,
# "user/name @ main") is left as it is, so it reads as typed.
_MARKUP = re.compile(
    r"[\\`*{}\[\]<>#!|~$&^]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|(?<=www)\.|:(?=//)|(?<=\S)@(?=\S)", re.I
)


def markdown_text(value, limit: int = MAX_SHOWN_TEXT) -> str:
    """Text that a run or a repo supplies (a device name, a path, an error quoting a file), made
    safe to put inside Markdown: one line without control or direction-changing characters, at most
    `limit` characters, each mark that could start markup escaped so that it shows as typed."""
    text = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in str(value))
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MARKUP.sub(lambda mark: "\\" + mark.group(), text)
