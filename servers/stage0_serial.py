"""Stage 0, the baseline: one blocking connection at a time, `Connection: close`.

While one client is served, every other waits in the listen backlog; a client that sends
slowly blocks the whole server. That is the roadmap's starting point (459 QPS), kept on purpose.
"""

from __future__ import annotations

import signal
import socket
from types import FrameType

from .core import STAGE_0_TO_3, App, DateHeader, HttpConnection, Stats
from .io.blocking import serve_connection
from .io.flags import announce, argument_parser, listening_errors, server_config

NAME = "stage0_serial"
# Connections the kernel queues while the one being served is busy.
LISTEN_BACKLOG = 1024


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # interrupts the blocking accept or recv at once


def main(argv: list[str] | None = None) -> None:
    args = argument_parser(NAME, __doc__.splitlines()[0]).parse_args(argv)
    config = server_config(args)
    stats = Stats(concurrency=1)
    app = App(stats, NAME)
    date = DateHeader()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with listening_errors(config.host, config.port):
        listener = socket.create_server((config.host, config.port), backlog=LISTEN_BACKLOG)
    with listener:
        announce(listener)
        while True:
            sock, _ = listener.accept()
            stats.connection_opened()
            serve_connection(sock, HttpConnection(app, STAGE_0_TO_3, date), stats, timeout=None)


if __name__ == "__main__":
    main()
