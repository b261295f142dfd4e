"""Stage 4, protocol work: stage 3's I/O with llhttp, keep-alive, pipelining, gzip and a cache.

The roadmap's fourth step. Each optimization is a switch, on by default, so that the lab can
measure what each one buys by turning it off (`--no-keep-alive`, `--no-pipelining`,
`--no-gzip`, `--no-cache`, `--parser core`):
- parser: llhttp (C, via httptools) instead of the core's pure-Python parser;
- keep-alive: a connection serves many requests, idle ones close after `--keepalive-timeout`;
- pipelining: all answers to one read leave in one write, in request order;
- gzip: bodies of 1 KiB or more are compressed for clients that accept it;
- cache: encoded responses of cacheable routes are kept, with ETag / If-None-Match → 304.
"""

from __future__ import annotations

import argparse
import dataclasses
import socket
import sys
from collections.abc import Callable

from .core import ProtocolOptions
from .core.limits import KEEPALIVE_TIMEOUT_S, MAX_CONNECTIONS_STAGE_4
from .io.aio import add_loop_flag, run
from .io.flags import argument_parser, positive_float, positive_int, server_config
from .io.pooled import PooledServer
from .io.workers import serve_workers

NAME = "stage4_protocol"


def options(args: argparse.Namespace) -> ProtocolOptions:
    return ProtocolOptions(
        keep_alive=args.keep_alive,
        fast_parser=args.parser == "llhttp",
        gzip=args.gzip,
        cache=args.cache,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argument_parser(NAME, __doc__.splitlines()[0], MAX_CONNECTIONS_STAGE_4)
    add_loop_flag(parser)
    parser.add_argument("--parser", choices=("llhttp", "core"), default="llhttp",
                        help="request parser (default llhttp)")
    for switch, what in (("keep-alive", "reuse connections"), ("pipelining", "one write per read batch"),
                         ("gzip", "compress large bodies"), ("cache", "cache responses, ETag/304")):
        parser.add_argument(f"--{switch}", action=argparse.BooleanOptionalAction, default=True,
                            help=f"{what} (default on)")
    parser.add_argument("--keepalive-timeout", type=positive_float, default=KEEPALIVE_TIMEOUT_S,
                        help=f"seconds an idle keep-alive connection is kept (default {KEEPALIVE_TIMEOUT_S})")
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="processes sharing the port through SO_REUSEPORT (default 1)")
    args = parser.parse_args(argv)
    config = server_config(args)
    if args.workers == 1:
        server = PooledServer(NAME, config, options(args), args.keepalive_timeout, pipelining=args.pipelining)
        run(server.start, server.stats, args.loop)
        return

    def serve_one(port: int, on_listening: Callable[[socket.socket], object]) -> None:
        worker = PooledServer(NAME, dataclasses.replace(config, port=port), options(args), args.keepalive_timeout,
                              reuse_port=True, pipelining=args.pipelining)
        run(worker.start, worker.stats, args.loop, on_listening)

    sys.exit(serve_workers(args.workers, config.host, config.port, serve_one))


if __name__ == "__main__":
    main()
