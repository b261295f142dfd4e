"""The smallest keep-alive HTTP/1.1 server the counted-run tests need: the standard library only,
so that it starts in a second under valgrind, and a known amount of work per request (WORK loop
steps, or --work N), in a function of its own."""

import signal
import socket
import sys

WORK = 0


def work(steps: int) -> int:
    total = 0
    for step in range(steps):
        total += step
    return total


def main() -> None:
    port = int(sys.argv[sys.argv.index("--port") + 1])
    steps = int(sys.argv[sys.argv.index("--work") + 1]) if "--work" in sys.argv else WORK
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    while True:
        connection, _ = listener.accept()
        with connection:
            pending = b""
            while data := connection.recv(65536):
                pending += data
                while b"\r\n\r\n" in pending:
                    _, pending = pending.split(b"\r\n\r\n", 1)
                    work(steps)
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!")


if __name__ == "__main__":
    main()
