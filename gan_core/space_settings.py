"""Counts a Space's owner sets as environment variables (QUEUE_MAX_SIZE, MAX_CALLS_PER_VISITOR, ...).

A Space must start whatever its settings hold, so a bad value is logged and replaced by the
default instead of stopping the app.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def whole_setting(name: str, default: int, high: int, environ=os.environ) -> int:
    """The whole number from 1 to `high` in environ[name] (surrounding whitespace ignored), else
    the default, with a warning that says what was wrong."""
    text = environ.get(name, str(default)).strip()
    if text.isdecimal() and 0 < int(text) <= high:
        return int(text)
    log.warning("%s=%r is not a whole number from 1 to %d; using %d", name, text[:40], high, default)
    return default
