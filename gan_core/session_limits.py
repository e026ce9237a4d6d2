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


def visitor(session_hash: str | None, event_id: str | None, request, behind_proxy: bool = False) -> str:
    """Who a call belongs to: its session, or for a call that named none, its address. Behind a
    proxy (a Space), that is the last X-Forwarded-For entry, the one the proxy added: the entries
    before it are whatever the caller sent. Elsewhere the header is the caller's own and ignored."""
    if session_hash and session_hash != event_id:
        return f"session {session_hash}"
    forwarded = request.headers.get("x-forwarded-for", "") if request is not None and behind_proxy else ""
    host = request.client.host if request is not None and request.client else "unknown"
    return f"address {forwarded.split(',')[-1].strip() or host}"


def pending_calls(queue, who: str | None, group: str | None = None, behind_proxy: bool = False) -> int:
    """How many calls are waiting in the queue or running now: `who`'s (everyone's for None), and
    of one concurrency group only when `group` is given."""
    waiting = [event for line in queue.event_queue_per_concurrency_id.values() for event in line.queue]
    running = [event for job in queue.active_jobs if job for event in job]
    return sum(
        (who is None or visitor(e.session_hash, e._id, e.request, behind_proxy) == who)
        and (group is None or e.concurrency_id == group)
        for e in waiting + running
    )


def limit_calls_per_visitor(
    queue,
    limit: int,
    per_group: dict[str, int] | None = None,
    group_totals: dict[str, int] | None = None,
    behind_proxy: bool = False,
) -> None:
    """Refuse a visitor's call while `limit` of theirs are already waiting or running, or while
    per_group[id] of theirs are in that concurrency group, or group_totals[id] of everyone's. The
    last two are for a long event, like live training: a visitor who opens new sessions passes any
    per-visitor cap, so only a total keeps such runs from filling the queue every endpoint shares."""
    push = queue.push
    per_group, group_totals = per_group or {}, group_totals or {}
    admitting: dict[tuple[str, str | None], int] = {}  # calls being queued now: a burst must not pass at once

    def refusal(who: str, group: str | None) -> str | None:
        mine = sum(count for (person, _), count in admitting.items() if person == who)
        if pending_calls(queue, who, behind_proxy=behind_proxy) + mine >= limit:
            return (
                f"You already have {limit} requests waiting or running; this one was not queued. "
                f"Wait for one to finish, then try again."
            )
        if group in per_group:
            mine_here = pending_calls(queue, who, group, behind_proxy) + admitting.get((who, group), 0)
            if mine_here >= per_group[group]:
                return (
                    f"You already have {per_group[group]} of these waiting or running; this one was "
                    f"not queued. Wait for it to finish (or stop it), then try again."
                )
        if group in group_totals:
            everyone = pending_calls(queue, None, group) + sum(
                count for (_, other), count in admitting.items() if other == group
            )
            if everyone >= group_totals[group]:
                return (
                    f"{group_totals[group]} of these are already waiting or running; this one was not "
                    f"queued. Try again in a few minutes."
                )
        return None

    async def limited_push(body, request, username):
        who = visitor(body.session_hash, None, request, behind_proxy)
        event = queue.blocks.fns.get(body.fn_index)  # Gradio's table of events, by index
        group = event.concurrency_id if event is not None else None
        message = refusal(who, group)
        if message is not None:
            return False, message, "queue_full"
        admitting[who, group] = admitting.get((who, group), 0) + 1
        try:
            return await push(body, request, username)
        finally:
            admitting[who, group] -= 1
            if not admitting[who, group]:
                del admitting[who, group]

    queue.push = limited_push
