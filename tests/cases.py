"""Bad requests and the status every stage must answer them with (parsers and servers alike)."""

from __future__ import annotations

H = b"Host: t\r\n"
POST = b"POST /echo HTTP/1.1\r\n" + H

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
    "NUL in header value": (b"GET / HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", 400),
    "space before colon": (b"GET / HTTP/1.1\r\n" + H + b"X-A : b\r\n\r\n", 400),
    "obsolete line folding": (b"GET / HTTP/1.1\r\n" + H + b"X-A: a\r\n b\r\n\r\n", 400),
    "bare LF line ends": (b"GET /plaintext HTTP/1.1\nHost: t\n\n", 400),
    "control byte in target": (b"GET /a\x01b HTTP/1.1\r\n" + H + b"\r\n", 400),
}
