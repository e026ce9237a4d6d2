"""An ASGI middleware that keeps a public demo's resources bounded and its API calls clear.

- The demo has no upload component, so any upload is refused.
- Every request body is cut off past a limit, whether or not it declares its length, so a visitor
  cannot make the server hold megabytes per request.
- A JSON body nested deeper than MAX_NESTING is answered 400 before anything parses it (the
  framework's parser would raise a RecursionError: a 500 and a traceback in the log per request).
- A call to /call/<endpoint> must carry that endpoint's number of values; a missing or an extra
  value is answered with a message naming both, where the framework would fail without saying why.
  Trailing parameters with defaults may be left out, and their defaults are filled in, so that a
  client written before a parameter was added keeps working.
- An MCP request (under /gradio_api/mcp) is marked with headers of ours, which Gradio passes on to
  the queue when it runs the tool: its caller's address, and a call id that McpCalls holds open
  until the MCP client has its answer or goes away. So the queue can tell MCP clients apart (with
  an MCP session id, each session is a visitor) and a long tool call can end when its client left.
  The stateless MCP server hands out no session ids; an `initialize` answer gets one from here.
It knows nothing of Gradio beyond these paths: ui/app.py puts it in front.
"""

from __future__ import annotations

import json
import re
import threading
import uuid

CALL = re.compile(r"/call/([A-Za-z0-9_]+)$")
MCP_PATH = "/gradio_api/mcp"
MAX_NESTING = 32  # a call is a flat list of values; an MCP request nests a few levels
# Headers of ours on an MCP request, passed on by Gradio's MCP server to the queue with the tool call.
MCP_CALL_HEADER = "x-mnist-gan-mcp-call"
MCP_CALLER_HEADER = "x-mnist-gan-mcp-caller"
MCP_SESSION_HEADER = "mcp-session-id"  # the MCP standard's


class McpCalls:
    """The MCP requests whose client still waits for the answer, by the call id put on each."""

    def __init__(self):
        self._open: set[str] = set()
        self._lock = threading.Lock()

    def opened(self, call_id: str) -> None:
        with self._lock:
            self._open.add(call_id)

    def closed(self, call_id: str) -> None:
        with self._lock:
            self._open.discard(call_id)

    def is_open(self, call_id: str) -> bool:
        with self._lock:
            return call_id in self._open


MCP_CALLS = McpCalls()  # the app's: the middleware marks calls open and closed, the live tab asks


class RequestLimits:
    def __init__(self, app, max_body_bytes: int = 64 * 1024, arity: dict[str, tuple] | None = None,
                 refused_paths: tuple[str, ...] = ("/upload",)):  # fmt: skip
        self.app = app
        self.max_body_bytes = max_body_bytes
        # endpoint name -> (values every call carries, defaults of the trailing ones it may leave out)
        self.arity = arity or {}
        self.refused_paths = refused_paths
        # The one registry of open MCP calls, which live_runs asks too: a registry of this middleware's
        # own would leave a live run unaware that its MCP client had gone.
        self.mcp_calls = MCP_CALLS

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if scope.get("method") == "POST" and path.endswith(self.refused_paths):
            return await _answer(send, 403, "This demo takes no file uploads.")
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            return await self._too_long(send)

        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        body = await self._whole_body(receive, send)
        if body is None:
            return  # answered already, or the client went away
        if _too_deep(body):
            return await _answer(send, 400, f"JSON nested deeper than {MAX_NESTING} levels is refused.")
        call = CALL.search(path) if scope.get("method") == "POST" else None
        if call and call.group(1) in self.arity:
            problem, body = _checked_values(body, call.group(1), *self.arity[call.group(1)])
            if problem:
                return await _answer(send, *problem)
        if MCP_PATH in path:
            return await self._mcp_request(scope, _replay(body, receive), send, body)
        await self.app(scope, _replay(body, receive), send)

    async def _whole_body(self, receive, send) -> bytes | None:
        """The request's body, read to its end but never past max_body_bytes (413 then)."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body_bytes:
                await self._too_long(send)
                return None
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_long(self, send):
        await _answer(send, 413, f"Request bodies are limited to {self.max_body_bytes} bytes.")

    async def _mcp_request(self, scope, receive, send, body: bytes):
        """Mark the request with its caller and a call id held open while its client waits."""
        call_id = uuid.uuid4().hex
        caller = (scope.get("client") or ("unknown",))[0]
        ours = (MCP_CALL_HEADER.encode(), MCP_CALLER_HEADER.encode())
        headers = [(name, value) for name, value in scope.get("headers") or [] if name.lower() not in ours]
        has_session = any(name.lower() == MCP_SESSION_HEADER.encode() for name, _ in headers)
        headers += [(ours[0], call_id.encode()), (ours[1], str(caller).encode())]
        mint_session = not has_session and _is_initialize(body)

        async def watched_receive():
            message = await receive()
            if message["type"] == "http.disconnect":
                self.mcp_calls.closed(call_id)
            return message

        async def answer(message):
            if mint_session and message["type"] == "http.response.start":
                session = uuid.uuid4().hex.encode()
                message = {**message, "headers": [*message.get("headers", []), (b"mcp-session-id", session)]}
            await send(message)

        self.mcp_calls.opened(call_id)
        try:
            await self.app({**scope, "headers": headers}, watched_receive, answer)
        finally:
            self.mcp_calls.closed(call_id)


def _replay(body: bytes, receive):
    """A receive() that gives the body read already, then whatever the connection says next."""
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _too_deep(body: bytes) -> bool:
    """Whether brackets outside JSON strings nest past MAX_NESTING (a scan, no parse)."""
    if body.count(b"[") + body.count(b"{") <= MAX_NESTING:
        return False  # the usual body, counted at C speed
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _is_initialize(body: bytes) -> bool:
    try:
        message = json.loads(body)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("method") == "initialize"


def _checked_values(body: bytes, name: str, required: int, defaults: tuple) -> tuple[tuple | None, bytes]:
    """(a problem to answer, or None; the body to hand on, with left-out defaults filled in)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        return (400, f"the request body is not UTF-8 text (byte {error.start} is not valid)"), body
    try:
        call = json.loads(text)
        data = call.get("data")
    except (ValueError, AttributeError, RecursionError):
        return None, body  # not JSON, or not an object: the framework's own message names that
    if not isinstance(data, list):
        return None, body
    most = required + len(defaults)
    if not required <= len(data) <= most:
        takes = f"{required} to {most}" if defaults else f"{required}"
        return (422, f'/{name} takes {takes} values in "data", got {len(data)}'), body
    if len(data) < most:
        call["data"] = data + list(defaults[len(data) - required :])
        body = json.dumps(call).encode("utf-8")
    return None, body


async def _answer(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
