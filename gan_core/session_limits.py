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


def pending_calls(queue, who: str, concurrency_id: str | None = None) -> int:
    """How many of `who`'s calls are waiting in the queue or running now (of one concurrency group
    only, when concurrency_id is given)."""
    waiting = [event for line in queue.event_queue_per_concurrency_id.values() for event in line.queue]
    running = [event for job in queue.active_jobs if job for event in job]
    return sum(
        visitor(e.session_hash, e._id, e.request) == who
        and (concurrency_id is None or e.concurrency_id == concurrency_id)
        for e in waiting + running
    )


def limit_calls_per_visitor(queue, limit: int, per_group: dict[str, int] | None = None) -> None:
    """Refuse a visitor's call while `limit` of theirs are already waiting or running, or while
    per_group[id] of theirs are in that concurrency group (a long event, like live training, where
    one visitor's queued runs would keep everyone else waiting for many minutes)."""
    push = queue.push
    per_group = per_group or {}
    admitting: dict[tuple[str, str | None], int] = {}  # calls being queued now: a burst must not pass at once

    async def limited_push(body, request, username):
        who = visitor(body.session_hash, None, request)
        event = queue.blocks.fns.get(body.fn_index)  # Gradio's table of events, by index
        group = event.concurrency_id if event is not None else None
        in_flight = sum(count for (person, _), count in admitting.items() if person == who)
        if pending_calls(queue, who) + in_flight >= limit:
            message = (
                f"You already have {limit} requests waiting or running; this one was not queued. "
                f"Wait for one to finish, then try again."
            )
            return False, message, "queue_full"
        if (
            group in per_group
            and pending_calls(queue, who, group) + admitting.get((who, group), 0) >= per_group[group]
        ):
            message = (
                f"You already have {per_group[group]} of these waiting or running; this one was not "
                f"queued. Wait for it to finish (or stop it), then try again."
            )
            return False, message, "queue_full"
        admitting[who, group] = admitting.get((who, group), 0) + 1
        try:
            return await push(body, request, username)
        finally:
            admitting[who, group] -= 1
            if not admitting[who, group]:
                del admitting[who, group]

    queue.push = limited_push
