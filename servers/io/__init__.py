"""The stages' I/O strategies: how bytes reach servers.core (blocking sockets, asyncio streams,
pooled protocols, pre-forked workers) and the command line every stage shares."""
