"""Stage 3, memory work: pooled protocol objects that receive into preallocated buffers.

The roadmap's third step, on stage 2's event loop: no StreamReader, no task and no new bytes
per read. The strategy lives in servers/io/pooled.py (stage 4 runs on it too): one receive buffer
shared by all connections, protocol objects and their HttpConnection pooled across clients,
(head, body) writes, and one deadline sweep instead of a timer per request. Like stages 0-2 it
answers `Connection: close`: keep-alive is stage 4's step.
"""

from __future__ import annotations

from .core import STAGE_0_TO_3
from .io.aio import add_loop_flag, run
from .io.flags import argument_parser, server_config
from .io.pooled import PooledServer

NAME = "stage3_pooled"


def main(argv: list[str] | None = None) -> None:
    parser = argument_parser(NAME, __doc__.splitlines()[0])
    add_loop_flag(parser)
    args = parser.parse_args(argv)
    server = PooledServer(NAME, server_config(args), STAGE_0_TO_3)
    run(server.start, server.stats, args.loop)


if __name__ == "__main__":
    main()
