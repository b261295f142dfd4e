"""The lab's routes as a bare ASGI app (no framework), for uvicorn and granian to serve.

Only what the comparison scenarios use: /plaintext, /json, /echo, /bytes/{n}, /delay/{ms}, /health. The
bytes match servers.core.app, so a peer is judged on the same answers as the stages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from servers.core.app import HEALTH_BODY, NOT_FOUND, PAYLOAD, PLAINTEXT_BODY, json_body
from servers.core.limits import MAX_DELAY_MS, MAX_PAYLOAD_BYTES
from servers.core.response import JSON, OCTETS

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path, method = scope["path"], scope["method"]
    status, content_type, body = 404, NOT_FOUND.content_type, NOT_FOUND.body
    if path == "/plaintext" and method == "GET":
        status, body = 200, PLAINTEXT_BODY
    elif path == "/json" and method == "GET":
        status, content_type = 200, JSON
        body = json_body()
    elif path == "/health" and method == "GET":
        status, body = 200, HEALTH_BODY
    elif path == "/echo" and method == "POST":
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        status, content_type, body = 200, OCTETS, b"".join(chunks)
    elif path.startswith("/bytes/") and path[7:].isdigit() and int(path[7:]) <= MAX_PAYLOAD_BYTES:
        status, body = 200, PAYLOAD[: int(path[7:])]
    elif path.startswith("/delay/") and path[7:].isdigit() and int(path[7:]) <= MAX_DELAY_MS and method == "GET":
        await asyncio.sleep(int(path[7:]) / 1000)
        status, body = 200, PLAINTEXT_BODY
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
