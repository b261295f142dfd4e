"""socketify.py (uWebSockets in C++, one Python callback per request) serving the lab's routes.

Its native App API, not its ASGI bridge: the fastest way this server is used, and so the bar
stage 4 is read against in the ceiling table. Same bytes as servers.core.app for what the scenarios ask
(/plaintext, /json serialized per request, /health, /echo, /bytes/{n}, /delay/{ms}); uWebSockets adds the
Date and its `Server: uWebSockets_20` itself.
Needs the system's libuv (apt-get install libuv1): socketify loads it when imported, and
`--check` (the target file's check) says in one line what is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import re
import signal
import sys
from types import ModuleType
from typing import Any

from servers.core.app import HEALTH_BODY, NOT_FOUND, PAYLOAD, PLAINTEXT_BODY, json_body
from servers.core.limits import MAX_DELAY_MS, MAX_PAYLOAD_BYTES
from servers.core.response import JSON, OCTETS, REASONS, TEXT

# Status lines as socketify's one-call send takes them.
STATUS = {code: f"{code} {REASONS[code]}".encode() for code in (200, 404)}


def _answer(res: Any, status: int, content_type: bytes, body: bytes) -> None:
    # One C call for status, Content-Type and body: socketify's fastest path (its TechEmpower
    # entry's). Inside a handler uWebSockets corks the answer into one write by itself.
    res.send(body, content_type, STATUS[status])


def plaintext(res: Any, req: Any) -> None:
    _answer(res, 200, TEXT, PLAINTEXT_BODY)


def json(res: Any, req: Any) -> None:
    _answer(res, 200, JSON, json_body())


def health(res: Any, req: Any) -> None:
    _answer(res, 200, TEXT, HEALTH_BODY)


def payload(res: Any, req: Any) -> None:
    size = req.get_parameter(0)
    if size.isdigit() and int(size) <= MAX_PAYLOAD_BYTES:
        _answer(res, 200, TEXT, PAYLOAD[: int(size)])
    else:
        _answer(res, 404, NOT_FOUND.content_type, NOT_FOUND.body)


async def delay(res: Any, req: Any) -> None:
    ms = req.get_parameter(0)
    if not (ms.isdigit() and int(ms) <= MAX_DELAY_MS):
        _answer(res, 404, NOT_FOUND.content_type, NOT_FOUND.body)
        return
    await asyncio.sleep(int(ms) / 1000)
    res.cork(lambda res: _answer(res, 200, TEXT, PLAINTEXT_BODY))  # after the handler returned, as echo's


async def echo(res: Any, req: Any) -> None:
    body = (await res.get_data()).getvalue()
    # Answered after the handler returned: corked by hand, so it still leaves in one write.
    res.cork(lambda res: _answer(res, 200, OCTETS, body))


def missing(res: Any, req: Any) -> None:
    _answer(res, 404, NOT_FOUND.content_type, NOT_FOUND.body)


def load_socketify() -> ModuleType:
    """socketify, or an exit whose one line names what is missing (the package or libuv)."""
    try:
        return importlib.import_module("socketify")
    except ModuleNotFoundError:
        sys.exit("qpslab: socketify is not installed")
    except OSError as error:  # its native library did not load: cffi's message, the missing library in it
        missing = re.search(r"(\S+: cannot open shared object file)", str(error))
        sys.exit(f"qpslab: socketify's native library cannot load: {missing.group(1) if missing else error}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="socketify_app", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--check", action="store_true", help="exit 0 when socketify loads here, else say why")
    args = parser.parse_args(argv)
    socketify = load_socketify()
    if args.check:
        return
    app = socketify.App()
    app.get("/plaintext", plaintext)
    app.get("/json", json)
    app.get("/health", health)
    app.get("/bytes/:size", payload)
    app.get("/delay/:ms", delay)
    app.post("/echo", echo)
    app.any("/*", missing)
    app.listen(socketify.AppListenOptions(port=args.port, host=args.host),
               lambda config: print(f"listening on http://{args.host}:{args.port}", flush=True))
    signal.signal(signal.SIGTERM, lambda signum, frame: app.close())  # the lab stops servers with SIGTERM
    app.run()


if __name__ == "__main__":
    main()
