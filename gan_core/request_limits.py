"""An ASGI middleware that keeps a public demo's resources bounded and its API calls clear.

- The demo has no upload component, so any upload is refused.
- Every request body is cut off past a limit, whether or not it declares its length, so a visitor
  cannot make the server hold megabytes per request.
- A call to /call/<endpoint> must carry exactly that endpoint's number of values; a missing or an
  extra value is answered with a message naming both, where the framework would run the function
  with what it got.
It knows nothing of Gradio beyond these paths: app.py puts it in front.
"""

from __future__ import annotations

import json
import re

CALL = re.compile(r"/call/([A-Za-z0-9_]+)$")


class RequestLimits:
    def __init__(self, app, max_body_bytes: int = 64 * 1024, arity: dict[str, int] | None = None,
                 refused_paths: tuple[str, ...] = ("/upload",)):  # fmt: skip
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.arity = arity or {}  # endpoint name -> how many values a call carries
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
        """Read the whole (bounded) body, check the number of values, then hand it on unchanged."""
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
        body = b"".join(chunks)
        problem = _call_problem(body, name, self.arity[name])
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


def _call_problem(body: bytes, name: str, expected: int) -> tuple[int, str] | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        return 400, f"the request body is not UTF-8 text (byte {error.start} is not valid)"
    try:
        data = json.loads(text).get("data")
    except (ValueError, AttributeError):
        return None  # not JSON, or not an object: the framework's own message names that
    if isinstance(data, list) and len(data) != expected:
        return 422, f'/{name} takes {expected} values in "data", got {len(data)}'
    return None


async def _answer(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
