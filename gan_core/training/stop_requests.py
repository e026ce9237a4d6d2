"""Ctrl-C and SIGTERM while the epoch loop runs, acted on between two steps.

Python runs a signal's handler wherever the main thread happens to be. Where that is a destructor
(a progress bar's __del__, say), the KeyboardInterrupt it raises is printed as "Exception ignored"
and lost: the run trained on to its last epoch. So while the loop runs, a SIGINT or SIGTERM is only
noted, and the loop hands it to the handler it replaced after the step it came in, from its own
frame, where the exception reaches train.py as before (130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import os
import signal
import threading

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequests:
    """A context: inside it, STOP_SIGNALS are noted; raise_if_any() acts on the first one noted."""

    def __init__(self) -> None:
        self.noted: int | None = None
        self.previous: dict[int, object] = {}

    def __enter__(self) -> StopRequests:
        # Handlers can only be set on the main thread; elsewhere (a run started from a thread) the
        # signals keep the handlers they have.
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                self.previous[number] = signal.signal(number, self._note)
        return self

    def _note(self, number: int, frame) -> None:
        if self.noted is None:
            self.noted = number

    def raise_if_any(self) -> None:
        """Hand a noted signal to the handler it found: that raises (KeyboardInterrupt, Terminated);
        where the default action was in place, the signal is sent again and does what it did."""
        number, self.noted = self.noted, None
        if number is None:
            return
        handler = self.previous.get(number, signal.SIG_DFL)
        if callable(handler):
            handler(number, None)
        elif handler == signal.SIG_DFL:
            self._restore()
            os.kill(os.getpid(), number)

    def __exit__(self, error_type, error, traceback) -> None:
        try:
            if error_type is None:
                self.raise_if_any()  # one that came in after the last step
        finally:
            self._restore()

    def _restore(self) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)
        self.previous = {}
