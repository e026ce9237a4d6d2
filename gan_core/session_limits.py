"""A cap on what one visitor can have in the queue, so one client cannot fill it for everyone.

Gradio's queue bounds the total (QUEUE_MAX_SIZE) but not one visitor's share: a client holding 30
unanswered calls made another visitor's calls fail with "queue full". Here each visitor may have
at most `limit` calls waiting or running; past that, their next call is refused at once (HTTP 503,
with a message saying why) while everyone else's go on. A visitor is a session (a browser tab, a
gradio_client Client); a call without one (`curl .../call/generate`) counts against its address.

This reaches into Gradio's Queue (push, its waiting events, its running jobs), which is why the
Gradio version is pinned and tests/test_public_space.py checks the behaviour over HTTP.
"""

from __future__ import annotations


def visitor(session_hash: str | None, event_id: str | None, request) -> str:
    """Who a call belongs to: its session, or for a call that named none, its address (the first
    X-Forwarded-For entry behind a proxy, as on a Space)."""
    if session_hash and session_hash != event_id:
        return f"session {session_hash}"
    forwarded = request.headers.get("x-forwarded-for", "") if request is not None else ""
    host = request.client.host if request is not None and request.client else "unknown"
    return f"address {forwarded.split(',')[0].strip() or host}"


def pending_calls(queue, who: str) -> int:
    """How many of `who`'s calls are waiting in the queue or running now."""
    waiting = [event for line in queue.event_queue_per_concurrency_id.values() for event in line.queue]
    running = [event for job in queue.active_jobs if job for event in job]
    return sum(visitor(e.session_hash, e._id, e.request) == who for e in waiting + running)


def limit_calls_per_visitor(queue, limit: int) -> None:
    """Refuse a visitor's call while `limit` of theirs are already waiting or running."""
    push = queue.push
    admitting: dict[str, int] = {}  # calls being queued now: a burst must not pass the check at once

    async def limited_push(body, request, username):
        who = visitor(body.session_hash, None, request)
        if pending_calls(queue, who) + admitting.get(who, 0) >= limit:
            message = (
                f"You already have {limit} requests waiting or running; this one was not queued. "
                f"Wait for one to finish, then try again."
            )
            return False, message, "queue_full"
        admitting[who] = admitting.get(who, 0) + 1
        try:
            return await push(body, request, username)
        finally:
            admitting[who] -= 1
            if not admitting[who]:
                del admitting[who]

    queue.push = limited_push
