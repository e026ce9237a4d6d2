"""What an MCP client gets back: every output of a tool, each image inline, and no server path.

Gradio's MCP server answers a tool whose event has several outputs (compare, find_digit, nearest,
train_live, ...) with the printed tuple of their file records: the server's folders, and no image.
A file it does show comes with a URL that holds the server's path (/gradio_api/file=/tmp/...).
Here each output becomes a part of its own: an image inline (base64, its own bytes, so that a GIF
keeps its frames) with a text naming the file, a table as JSON, and text as text.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from pathlib import Path
from typing import Any

import gradio as gr

IMAGE_TYPES = {".png": "image/png", ".gif": "image/gif", ".webp": "image/webp", ".jpg": "image/jpeg"}
FIGURE = re.compile(r"data:(image/[a-z+]+);base64,(.*)", re.DOTALL)  # a plot, drawn as a data URI


def mcp_answers_without_paths(demo: gr.Blocks):
    """A lifespan for the app: Gradio makes its MCP server as the app starts; this has it answer by
    mcp_content before the first call can come in."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        server = demo.mcp_server_obj
        if server is not None:
            server.postprocess_output_data = lambda data, root_url: mcp_content(data, server.types)
        yield

    return lifespan


def mcp_content(data: list[Any], types) -> list:
    """The MCP content parts for an event's outputs (one value per output, or the tuple that the
    queued path returns for several)."""
    outputs = list(data[0]) if len(data) == 1 and isinstance(data[0], tuple) else list(data)
    parts = []
    for value in outputs:
        parts.extend(parts_of(value, types))
    return parts


def parts_of(value: Any, types) -> list:
    if isinstance(value, dict) and isinstance(value.get("path"), str):  # a file Gradio serves
        path = Path(value["path"])
        name = value.get("orig_name") or path.name
        mime = IMAGE_TYPES.get(path.suffix.lower())
        if mime and path.is_file():
            data = base64.b64encode(path.read_bytes()).decode()
            return [types.ImageContent(type="image", data=data, mimeType=mime),
                    types.TextContent(type="text", text=f"image: {name}")]  # fmt: skip
        return [types.TextContent(type="text", text=f"file: {name}")]
    if isinstance(value, dict) and (figure := FIGURE.fullmatch(str(value.get("plot", "")))):
        return [types.ImageContent(type="image", data=figure[2], mimeType=figure[1])]
    if isinstance(value, (dict, list)):  # a table: its headers and rows
        return [types.TextContent(type="text", text=json.dumps(value, default=str))]
    return [types.TextContent(type="text", text=str(value))]
