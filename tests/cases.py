"""Bad requests and the status every stage must answer them with (parsers and servers alike)."""

from __future__ import annotations

from servers.core.limits import MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_HEADER_COUNT, MAX_REQUEST_LINE_BYTES

H = b"Host: t\r\n"
POST = b"POST /echo HTTP/1.1\r\n" + H
# A request asking to switch protocols: answered as plain HTTP, then the connection ends.
UPGRADE = b"GET /plaintext HTTP/1.1\r\n" + H + b"Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n"

BAD_REQUESTS: dict[str, tuple[bytes, int]] = {
    "request line without version": (b"GET /\r\n\r\n", 400),
    "request line with extra part": (b"GET / x HTTP/1.1\r\n" + H + b"\r\n", 400),
    "invalid method characters": (b"G@T / HTTP/1.1\r\n" + H + b"\r\n", 400),
    "unknown method": (b"BREW /plaintext HTTP/1.1\r\n" + H + b"\r\n", 400),
    "garbage version": (b"GET / HTTP/x\r\n" + H + b"\r\n", 400),
    "unsupported version": (b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505),
    "missing host on 1.1": (b"GET /plaintext HTTP/1.1\r\n\r\n", 400),
    "two host headers": (b"GET /plaintext HTTP/1.1\r\n" + H + H + b"\r\n", 400),
    "URI too long": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
    "header section too large": (b"GET / HTTP/1.1\r\n" + H + b"X-Big: " + b"b" * 16384 + b"\r\n\r\n", 431),
    "too many headers": (b"GET / HTTP/1.1\r\n" + H + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n", 431),
    "body too large": (POST + b"Content-Length: 2000000\r\n\r\n", 413),
    "CL with TE": (POST + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    "repeated CL": (POST + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
    "conflicting CL": (POST + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    "negative CL": (POST + b"Content-Length: -3\r\n\r\nabc", 400),
    "non-numeric CL": (POST + b"Content-Length: 3x\r\n\r\nabc", 400),
    "bad chunk size": (POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400),
    "chunk without CRLF": (POST + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400),
    "unknown transfer coding": (POST + b"Transfer-Encoding: gzip\r\n\r\n", 400),
    "a list element after chunked": (POST + b"Transfer-Encoding: chunked,\r\n\r\n0\r\n\r\n", 400),
    "NUL in header value": (b"GET / HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", 400),
    "space before colon": (b"GET / HTTP/1.1\r\n" + H + b"X-A : b\r\n\r\n", 400),
    "obsolete line folding": (b"GET / HTTP/1.1\r\n" + H + b"X-A: a\r\n b\r\n\r\n", 400),
    "bare LF line ends": (b"GET /plaintext HTTP/1.1\nHost: t\n\n", 400),
    "control byte in target": (b"GET /a\x01b HTTP/1.1\r\n" + H + b"\r\n", 400),
}


def _request_line(length: int) -> bytes:
    """A GET whose request line (without CRLF) is `length` bytes."""
    frame = len(b"GET / HTTP/1.1")
    return b"GET /" + b"a" * (length - frame) + b" HTTP/1.1\r\n"


def _header_section(size: int) -> bytes:
    """Host plus one padding field: `size` bytes of header lines, CRLFs included."""
    pad = size - len(H) - len(b"X-Pad: \r\n")
    return H + b"X-Pad: " + b"p" * pad + b"\r\n"


def _fields(count: int) -> bytes:
    return H + b"".join(b"X-%d: 1\r\n" % i for i in range(count - 1))


def _sized_body(size: int) -> bytes:
    return POST + b"Content-Length: %d\r\n\r\n" % size + b"b" * size


def _chunked_body(size: int) -> bytes:
    chunk = 64 * 1024
    sizes = [chunk] * (size // chunk) + ([size % chunk] if size % chunk else [])
    return (POST + b"Transfer-Encoding: chunked\r\n\r\n"
            + b"".join(b"%x\r\n" % n + b"c" * n + b"\r\n" for n in sizes) + b"0\r\n\r\n")


# Each request-size limit: a request exactly at it (answered), one a byte or field past it, and
# the status that refuses the second. Parsers and every stage must draw the line at the same byte.
LIMITS: dict[str, tuple[bytes, bytes, int]] = {
    "request line": (_request_line(MAX_REQUEST_LINE_BYTES) + H + b"\r\n",
                     _request_line(MAX_REQUEST_LINE_BYTES + 1) + H + b"\r\n", 414),
    "header section": (b"GET /plaintext HTTP/1.1\r\n" + _header_section(MAX_HEADER_BYTES) + b"\r\n",
                       b"GET /plaintext HTTP/1.1\r\n" + _header_section(MAX_HEADER_BYTES + 1) + b"\r\n", 431),
    "header count": (b"GET /plaintext HTTP/1.1\r\n" + _fields(MAX_HEADER_COUNT) + b"\r\n",
                     b"GET /plaintext HTTP/1.1\r\n" + _fields(MAX_HEADER_COUNT + 1) + b"\r\n", 431),
    "Content-Length body": (_sized_body(MAX_BODY_BYTES), _sized_body(MAX_BODY_BYTES + 1), 413),
    "chunked body": (_chunked_body(MAX_BODY_BYTES), _chunked_body(MAX_BODY_BYTES + 1), 413),
}
BAD_REQUESTS.update({
    "CONNECT": (b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501),
    "chunk extension ending in ;": (POST + b"Transfer-Encoding: chunked\r\n\r\n2;\r\nab\r\n0\r\n\r\n", 400),
    "empty chunk extensions": (POST + b"Transfer-Encoding: chunked\r\n\r\n2;;\r\nab\r\n0\r\n\r\n", 400),
    "space in chunk extension": (POST + b"Transfer-Encoding: chunked\r\n\r\n2; a=b\r\nab\r\n0\r\n\r\n", 400),
})
