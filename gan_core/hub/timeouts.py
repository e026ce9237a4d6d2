"""huggingface_hub's timeout settings, mended before it is imported.

huggingface_hub reads HF_HUB_DOWNLOAD_TIMEOUT and HF_HUB_ETAG_TIMEOUT as whole seconds when it is
imported, and a stray "abc" or "1.5" stops every import of it with a traceback, local training
included. The entry points (train.py, app.py through ui/settings.py) apply these fixes first:

    os.environ.update(mended_hub_timeouts(os.environ))

This module imports nothing of huggingface_hub, so it can run before it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

HUB_TIMEOUTS = ("HF_HUB_DOWNLOAD_TIMEOUT", "HF_HUB_ETAG_TIMEOUT")
DEFAULT_SECONDS = "10"  # huggingface_hub's own default for both


def mended_hub_timeouts(environ: Mapping[str, str]) -> dict[str, str]:
    """The replacement of each HF_HUB_*_TIMEOUT in environ that is not a whole number of seconds:
    huggingface_hub's default, with a warning on stderr that names the setting."""
    mended = {}
    for name in HUB_TIMEOUTS:
        text = environ.get(name)
        if text is not None and not text.strip().isdecimal():
            print(
                f"warning: {name}={text[:40]!r} is not a whole number of seconds; using {DEFAULT_SECONDS}",
                file=sys.stderr,
            )
            mended[name] = DEFAULT_SECONDS
    return mended
