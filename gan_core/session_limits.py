"""A cap on what one visitor can have in the queue, so one client cannot fill it for everyone.

Gradio's queue bounds the total (QUEUE_MAX_SIZE) but not one visitor's share: a client holding 30
unanswered calls made another visitor's calls fail with "queue full". Here each visitor may have
at most `limit` calls waiting or running; past that, their next call is refused at once (HTTP 503,
with a message saying why) while everyone else's go on. A visitor is a session (a browser tab, a
gradio_client Client); a call without one (`curl .../call/generate`) counts against its address.
On a Space, one address's sessions together are capped too (ADDRESS_FACTOR).

This reaches into Gradio's Queue (push, its waiting events, its running jobs), which is why the
Gradio version is pinned and tests/test_public_space.py checks the behaviour over HTTP.
"""

from __future__ import annotations

# On a Space, all the sessions of one address together may have this many times a visitor's
# limit: a client that makes up a new session for every call passes the per-session cap, but not
# this one. Off a Space, where every visitor may reach the app through one proxy's address, the
# address says nothing about who is calling and is not capped.
ADDRESS_FACTOR = 2


def visitor(session_hash: str | None, event_id: str | None, request, behind_proxy: bool = False) -> str:
    """Who a call belongs to: its session, or for a call that named none, its address."""
    if session_hash and session_hash != event_id:
        return f"session {session_hash}"
    return address(request, behind_proxy)


def address(request, behind_proxy: bool = False) -> str:
    """Where a call comes from. Behind a proxy (a Space), that is the last X-Forwarded-For entry,
    the one the proxy added: the entries (and header lines) before it are whatever the caller sent.
    Elsewhere the header is the caller's own and ignored."""
    lines = _header_lines(request.headers, "x-forwarded-for") if request is not None and behind_proxy else []
    # The last entry of the last line: a caller may send lines of its own before the proxy's.
    forwarded = lines[-1].split(",")[-1].strip() if lines else ""
    host = request.client.host if request is not None and request.client else "unknown"
    return f"address {forwarded or host}"


def _header_lines(headers, name: str) -> list[str]:
    """Every line of a header: Starlette's headers keep repeated ones apart; a plain dict (a
    request Gradio kept as a copy) holds one."""
    if hasattr(headers, "getlist"):
        return headers.getlist(name)
    return [headers[name]] if headers.get(name) else []


def pending_calls(
    queue, who: str | None, group: str | None = None, behind_proxy: bool = False, by_address: bool = False
) -> int:
    """How many calls are waiting in the queue or running now: `who`'s (everyone's for None), and
    of one concurrency group only when `group` is given. by_address: `who` is an address, and all
    its sessions count."""
    waiting = [event for line in queue.event_queue_per_concurrency_id.values() for event in line.queue]
    running = [event for job in queue.active_jobs if job for event in job]

    def owner(event) -> str:
        if by_address:
            return address(event.request, behind_proxy)
        return visitor(event.session_hash, event._id, event.request, behind_proxy)

    return sum(
        (who is None or owner(e) == who) and (group is None or e.concurrency_id == group)
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
    admitting_from: dict[str, int] = {}  # the same, by address

    def refusal(who: str, where: str, group: str | None) -> str | None:
        mine = sum(count for (person, _), count in admitting.items() if person == who)
        if pending_calls(queue, who, behind_proxy=behind_proxy) + mine >= limit:
            return (
                f"You already have {limit} requests waiting or running; this one was not queued. "
                f"Wait for one to finish, then try again."
            )
        address_limit = ADDRESS_FACTOR * limit
        from_here = (
            pending_calls(queue, where, behind_proxy=behind_proxy, by_address=True) if behind_proxy else 0
        )
        if behind_proxy and from_here + admitting_from.get(where, 0) >= address_limit:
            return (
                f"Your address already has {address_limit} requests waiting or running; this one "
                f"was not queued. Wait for some to finish, then try again."
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
        who, where = visitor(body.session_hash, None, request, behind_proxy), address(request, behind_proxy)
        event = queue.blocks.fns.get(body.fn_index)  # Gradio's table of events, by index
        group = event.concurrency_id if event is not None else None
        message = refusal(who, where, group)
        if message is not None:
            return False, message, "queue_full"
        admitting[who, group] = admitting.get((who, group), 0) + 1
        admitting_from[where] = admitting_from.get(where, 0) + 1
        try:
            return await push(body, request, username)
        finally:
            admitting[who, group] -= 1
            if not admitting[who, group]:
                del admitting[who, group]
            admitting_from[where] -= 1
            if not admitting_from[where]:
                del admitting_from[where]

    queue.push = limited_push
