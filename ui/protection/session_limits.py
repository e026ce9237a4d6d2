"""A cap on what one visitor can have in the queue, so one client cannot fill it for everyone.

Gradio's queue bounds the total (QUEUE_MAX_SIZE) but not one visitor's share: a client holding 30
unanswered calls made another visitor's calls fail with "queue full". Here each visitor may have
at most `limit` calls waiting or running; past that, their next call is refused at once while
everyone else's go on. The refusal is the call's answer, an error with a message saying why: a
refusal at the door (HTTP 503) reaches Gradio's page, gradio_client and MCP clients only as their
own "Queue is full!". A visitor is a session (a browser tab, a gradio_client Client); a call
without one (`curl .../call/generate`) counts against its address. An MCP tool call reaches the
queue through Gradio's one shared client, so it is told apart by the marks RequestLimits put on
the MCP request: its MCP session, or without one its caller's address. On a Space, one
address's sessions together are capped too (ADDRESS_FACTOR).

This reaches into Gradio's Queue (push, its waiting events, its running jobs), which is why the
Gradio version is pinned and tests/test_public_space.py checks the behaviour over HTTP.
"""

from __future__ import annotations

import sys

from .request_limits import MCP_CALL_HEADER, MCP_CALLER_HEADER, MCP_SESSION_HEADER

# On a Space, all the sessions of one address together may have this many times a visitor's
# limit: a client that makes up a new session for every call passes the per-session cap, but not
# this one. Off a Space, where every visitor may reach the app through one proxy's address, the
# address says nothing about who is calling and is not capped.
ADDRESS_FACTOR = 2


def visitor(session_hash: str | None, event_id: str | None, request, behind_proxy: bool = False) -> str:
    """Who a call belongs to: its session, or for a call that named none, its address. An MCP
    tool call: its MCP session, else its caller's address."""
    if mcp_call(request):
        session = _header(request, MCP_SESSION_HEADER)
        return f"mcp session {session}" if session else f"mcp {address(request, behind_proxy)}"
    if session_hash and session_hash != event_id:
        return f"session {session_hash}"
    return address(request, behind_proxy)


def mcp_call(request) -> str:
    """The id RequestLimits gave the MCP request this call runs for ("" for any other call)."""
    return _header(request, MCP_CALL_HEADER)


def address(request, behind_proxy: bool = False) -> str:
    """Where a call comes from. Behind a proxy (a Space), that is the last X-Forwarded-For entry,
    the one the proxy added: the entries (and header lines) before it are whatever the caller sent
    (Gradio passes an MCP request's header on to its tool call). Elsewhere the header is the
    caller's own and ignored; an MCP tool call comes from Gradio's own client, so its address is
    the one RequestLimits saw the MCP request come from."""
    lines = _header_lines(request.headers, "x-forwarded-for") if request is not None and behind_proxy else []
    # The last entry of the last line: a caller may send lines of its own before the proxy's.
    forwarded = lines[-1].split(",")[-1].strip() if lines else ""
    caller = _header(request, MCP_CALLER_HEADER) if mcp_call(request) else ""
    host = request.client.host if request is not None and request.client else "unknown"
    return f"address {forwarded or caller or host}"


def _header(request, name: str) -> str:
    lines = _header_lines(request.headers, name) if request is not None else []
    return lines[-1].strip() if lines else ""


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
            return await refused(queue, push, body, request, username, message)
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


async def refused(queue, push, body, request, username, message: str):
    """Queue the call, then take it out at once and answer it with `message` as its error: what
    every client shows as it is (a refusal at the door, HTTP 503, becomes "Queue is full!")."""
    success, event_id, state = await push(body, request, username)
    event = queue.event_ids_to_events.get(event_id) if success else None
    if event is None:
        return success, event_id, state
    await queue.remove_from_queue(event_id)  # no await between push and here: it has not started
    # Gradio's own message class, from the module of its Queue: this package never imports Gradio.
    completed = sys.modules[type(queue).__module__].ProcessCompletedMessage
    answer = {"error": message, "title": "Not queued", "visible": True, "duration": 10}
    queue.send_message(event, completed(output=answer, title="Not queued", success=False))
    return success, event_id, state


def unread_messages(queue, session_hash: str) -> int | None:
    """How many of a session's messages (updates, results) wait to be read; None for a session
    the queue no longer holds. A reader takes each at once: a count that stays up means nobody is
    reading."""
    messages = queue.pending_messages_per_session.get(session_hash)
    return None if messages is None else messages.qsize()


def queued_event(queue, event_id: str | None):
    """The queue's record of a call waiting or running (None once it has ended or was cancelled)."""
    return queue.event_ids_to_events.get(event_id) if event_id else None
