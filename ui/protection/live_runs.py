"""Live runs end when nobody watches them (the Live training tab's runs; gan_core.demo.live runs each).

A run lasts only while someone watches it. Each run asks the queue (follow()) whether its call is
still there and its updates are read, and the Stop button ends the visitor's run by itself,
wherever it is (waiting its turn, starting its child, training): Gradio's own cancel cannot reach a
run whose first update has not come yet, and it leaves the page with an error or a frozen status.
"""

from __future__ import annotations

import time
from collections import OrderedDict

import gradio as gr
from gradio.context import LocalContext
from gradio.server_messages import ProcessCompletedMessage

from .request_limits import MCP_CALLS
from .session_limits import mcp_call, queued_event, unread_messages

LIVE_TRAINING = "live-training"  # the concurrency group of the runs: one at a time, one per visitor
# The concurrency group of /train_steps: one at a time (they share one lock anyway), at most
# STEPPING_PER_VISITOR of a visitor's and STEPPING_WAITING of everyone's waiting or running, so that
# replays from step 0 (up to 5 s each) cannot keep a visitor waiting for minutes.
STEPPING, STEPPING_PER_VISITOR, STEPPING_WAITING = "stepping", 2, 6
STOPPED = "stopped"
KEPT_STOPS = 1000  # visitors whose last Stop or Pause is remembered (it only matters for seconds)


class LastPress:
    """Each visitor's last press of a button (Stop, Pause), by session: the KEPT_STOPS most recent, as
    a press only matters for the seconds after it."""

    def __init__(self):
        self._last: OrderedDict[str, object] = OrderedDict()

    def press(self, session: str, value) -> None:
        self._last[session] = value
        self._last.move_to_end(session)
        while len(self._last) > KEPT_STOPS:
            self._last.popitem(last=False)

    def get(self, session: str | None, default):
        return self._last.get(session, default) if session else default


class Audience:
    """What a run asks about its own call: has it been stopped or cancelled, is it read?"""

    def __init__(self, runs: LiveRuns):
        self.runs, self.queue = runs, runs.queue
        request = LocalContext.request.get(None)
        self.session = getattr(request, "session_hash", None)
        self.mcp_call = mcp_call(request)
        self.event_id = LocalContext.event_id.get(None)
        event = queued_event(self.queue, self.event_id) if self.queue is not None else None
        self.enqueued = event.enqueue_time if event is not None else time.monotonic()

    def ended(self) -> str | None:
        if self.queue is None:  # not served by a queue (in-process use): nothing to ask
            return None
        if self.runs.stopped_since(self.session) >= self.enqueued:
            return STOPPED
        event = queued_event(self.queue, self.event_id)
        if event is None or not event.alive:
            return "its call was cancelled, or its client went away"
        if self.mcp_call and not MCP_CALLS.is_open(self.mcp_call):
            return "its MCP client went away"
        return None

    def watched(self) -> bool:
        if self.queue is None or self.session is None:
            return True
        return unread_messages(self.queue, self.session) == 0


class LiveRuns:
    def __init__(self):
        self.queue = None  # Gradio's queue, once follow() is called: runs then end when unwatched
        self._stops = LastPress()  # when each visitor's last Stop was queued

    def follow(self, queue) -> None:
        """Let each run ask the queue whether it is still wanted (stopped, cancelled, unread)."""
        self.queue = queue

    def audience(self) -> Audience:
        """The calling run's own questions, asked from inside its call."""
        return Audience(self)

    def stopped_since(self, session: str | None) -> float:
        return self._stops.get(session, float("-inf"))

    async def stop(self):
        """The Stop button: end this visitor's run, whether it trains, starts or waits its turn."""
        session = getattr(LocalContext.request.get(None), "session_hash", None)
        if session is None:
            return gr.skip()
        event = queued_event(self.queue, LocalContext.event_id.get(None)) if self.queue else None
        self._stops.press(session, event.enqueue_time if event else time.monotonic())
        if self.queue is None or not await self._take_out_of_line(session):
            return gr.skip()  # a run that has started says "stopped" itself, keeping what it drew
        return "**stopped** before its turn came: it was taken out of the line."

    async def _take_out_of_line(self, session: str) -> bool:
        """Remove the session's runs still waiting their turn, answered as /cancel answers them."""
        line = self.queue.event_queue_per_concurrency_id.get(LIVE_TRAINING)
        waiting = [event for event in (line.queue if line else []) if event.session_hash == session]
        for event in waiting:
            await self.queue.remove_from_queue(event._id)
            self.queue.send_message(event, ProcessCompletedMessage(output={}, success=True))
        return bool(waiting)
