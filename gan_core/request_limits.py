"""An ASGI middleware that keeps a public demo's resources bounded and its API calls clear.

- The demo has no upload component, so any upload is refused.
- Every request body is cut off past a limit, whether or not it declares its length, so a visitor
  cannot make the server hold megabytes per request.
- A call to /call/<endpoint> must carry that endpoint's number of values; a missing or an extra
  value is answered with a message naming both, where the framework would fail without saying why.
  Trailing parameters with defaults may be left out, and their defaults are filled in, so that a
  client written before a parameter was added keeps working.
It knows nothing of Gradio beyond these paths: app.py puts it in front.
"""

from __future__ import annotations

import json
import re

CALL = re.compile(r"/call/([A-Za-z0-9_]+)$")


class RequestLimits:
    def __init__(self, app, max_body_bytes: int = 64 * 1024, arity: dict[str, tuple] | None = None,
                 refused_paths: tuple[str, ...] = ("/upload",)):  # fmt: skip
        self.app = app
        self.max_body_bytes = max_body_bytes
        # endpoint name -> (values every call carries, defaults of the trailing ones it may leave out)
        self.arity = arity or {}
        self.refused_paths = refused_paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if scope.get("method") == "POST" and path.endswith(self.refused_paths):
            return await _answer(send, 403, "This demo takes no file uploads.")
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            return await self._too_long(send)

        call = CALL.search(path) if scope.get("method") == "POST" else None
        if call and call.group(1) in self.arity:
            return await self._checked_call(scope, receive, send, call.group(1))

        received = 0
        too_long = False

        async def bounded_receive():
            nonlocal received, too_long
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_long = True
                    return {"type": "http.disconnect"}  # the app stops reading; the rest is never held
            return message

        started = False

        async def tracked_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, bounded_receive, tracked_send)
        if too_long and not started:
            await self._too_long(send)

    async def _too_long(self, send):
        await _answer(send, 413, f"Request bodies are limited to {self.max_body_bytes} bytes.")

    async def _checked_call(self, scope, receive, send, name: str):
        """Read the whole (bounded) body, check the number of values, fill in left-out defaults,
        then hand it on."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body_bytes:
                return await self._too_long(send)
            if not message.get("more_body", False):
                break
        problem, body = _checked_values(b"".join(chunks), name, *self.arity[name])
        if problem:
            return await _answer(send, *problem)
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _checked_values(body: bytes, name: str, required: int, defaults: tuple) -> tuple[tuple | None, bytes]:
    """(a problem to answer, or None; the body to hand on, with left-out defaults filled in)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        return (400, f"the request body is not UTF-8 text (byte {error.start} is not valid)"), body
    try:
        call = json.loads(text)
        data = call.get("data")
    except (ValueError, AttributeError):
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
