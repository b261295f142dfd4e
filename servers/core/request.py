"""A parsed request, and the framing rules both parsers share once a head is complete."""

from __future__ import annotations

from typing import NamedTuple, NoReturn

from .errors import ProtocolError
from .limits import MAX_BODY_BYTES

# Every method llhttp (stage 4's parser) reads: the IANA registry's, as llhttp lists them. Both
# parsers refuse any other token with 400, as llhttp cannot read one; the app answers a method
# here that it does not implement with 501, or 405 on one of its paths.
KNOWN_METHODS = frozenset(b"""
    ACL BIND CHECKOUT CONNECT COPY DELETE GET HEAD LINK LOCK M-SEARCH MERGE MKACTIVITY MKCALENDAR
    MKCOL MOVE NOTIFY OPTIONS PATCH POST PROPFIND PROPPATCH PURGE PUT QUERY REBIND REPORT SEARCH
    SOURCE SUBSCRIBE TRACE UNBIND UNLINK UNLOCK UNSUBSCRIBE
""".split())
SUPPORTED_VERSIONS = (b"1.1", b"1.0")
# A real version we do not speak gets 505; any other digits are a malformed request (400), as
# llhttp has it, which knows 0.9, 1.0, 1.1 and 2.0 only.
UNSUPPORTED_VERSIONS = (b"2.0",)
# Longest Content-Length value read as a number; 19 digits is the most a 64-bit integer holds.
_MAX_CONTENT_LENGTH_DIGITS = 19


class Request(NamedTuple):
    """One complete request. A tuple, not a dataclass: it is built once per request on the hot path."""

    method: bytes
    target: bytes
    version: bytes  # b"1.1" or b"1.0"
    headers: list[tuple[bytes, bytes]]  # names lower-cased, values stripped
    body: bytes
    keep_alive: bool

    @property
    def path(self) -> bytes:
        return self.target.partition(b"?")[0]

    def header(self, name: bytes) -> bytes | None:
        """The first value of header `name` (lower-case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


class Framing(NamedTuple):
    """How the body of a request is delimited, and whether the connection may be reused."""

    content_length: int  # 0 when the request has no body or is chunked
    chunked: bool
    keep_alive: bool
    expects_continue: bool  # `Expect: 100-continue` on an HTTP/1.1 request with a body to come


# The framings of requests without a body, shared: building a Framing per request was half of
# frame's time on a one-header GET.
_BODILESS_KEEP_ALIVE = Framing(0, False, True, False)
_BODILESS_CLOSING = Framing(0, False, False, False)
# The fields frame reads; any other is passed over with one set lookup.
_FRAMING_FIELDS = frozenset((b"host", b"content-length", b"transfer-encoding", b"connection", b"expect"))


class ContinueExpected:
    """Parser event: a head asked for `100 Continue` before sending its body (RFC 9110 §10.1.1);
    curl waits a second for it before sending a body over 1 KiB."""

    __slots__ = ()


CONTINUE_EXPECTED = ContinueExpected()


def check_version(version: bytes) -> None:
    if version not in SUPPORTED_VERSIONS:
        refuse_version(version)


def refuse_version(version: bytes) -> NoReturn:
    """505 for a real HTTP version we do not speak, 400 for anything else."""
    if version in UNSUPPORTED_VERSIONS:
        raise ProtocolError(505, "HTTP version not supported")
    raise ProtocolError(400, "malformed HTTP version")


def frame(method: bytes, version: bytes, headers: list[tuple[bytes, bytes]]) -> Framing:
    """Apply RFC 9112's message-framing rules to a complete head; raise ProtocolError if unsafe.

    Refusing every ambiguous combination (CL with TE, repeated CL, a coding other than chunked)
    is what keeps request smuggling out: no two parsers can disagree on where a body ends.
    """
    # Counters and last values rather than lists: this runs once per request on the hot path.
    hosts = lengths = codings = 0
    length = coding = connection = expect = b""
    for name, value in headers:
        if name not in _FRAMING_FIELDS:
            continue
        if name == b"host":
            hosts += 1
        elif name == b"content-length":
            lengths += 1
            length = value
        elif name == b"transfer-encoding":
            codings += 1
            coding = value
        elif name == b"connection":
            # Repeated fields are one comma-separated list (RFC 9110 §5.3), as llhttp reads them.
            connection = connection + b"," + value if connection else value
        elif name == b"expect":
            expect = value
    if method == b"CONNECT":
        # A tunnel, which no stage opens: 501, and the connection ends, since the bytes after
        # it would be the tunnel's (refused once the head is complete, as llhttp does).
        raise ProtocolError(501, "CONNECT is not supported")
    if hosts != 1:
        if hosts > 1:
            raise ProtocolError(400, "more than one Host header")
        if version == b"1.1":
            raise ProtocolError(400, "HTTP/1.1 requires exactly one Host header")
    content_length = 0
    chunked = False
    if codings or lengths:
        if codings and lengths:
            raise ProtocolError(400, "Content-Length together with Transfer-Encoding")
        if lengths > 1:
            raise ProtocolError(400, "repeated Content-Length")
        if codings:
            # Empty list elements before the coding are ignored (RFC 9110 §5.6.1), as llhttp
            # ignores them: ", chunked" is chunked. After it, both refuse: chunked must be last.
            if version != b"1.1" or codings > 1 or coding.lstrip(b" \t,").lower() != b"chunked":
                raise ProtocolError(400, "unsupported Transfer-Encoding")
            chunked = True
        else:
            if not length.isdigit() or len(length) > _MAX_CONTENT_LENGTH_DIGITS:
                raise ProtocolError(400, "invalid Content-Length")
            content_length = int(length)
            if content_length > MAX_BODY_BYTES:
                raise ProtocolError(413, "request body too large")
    has_body = content_length > 0 or chunked
    # An HTTP/1.0 client cannot have meant it (RFC 9110 §10.1.1); any other expectation is ignored.
    expects_continue = False
    if expect and version == b"1.1" and has_body:
        expects_continue = expect.lower() == b"100-continue"
    if not connection:
        keep_alive = version == b"1.1"
    else:
        keep_alive = _connection_keep_alive(connection, version, headers, has_body)
    if not has_body:
        return _BODILESS_KEEP_ALIVE if keep_alive else _BODILESS_CLOSING
    return Framing(content_length, chunked, keep_alive, expects_continue)


def _connection_keep_alive(connection: bytes, version: bytes, headers: list[tuple[bytes, bytes]],
                           has_body: bool) -> bool:
    """Whether the Connection field's options let the connection be reused after this request."""
    options = [token.strip() for token in connection.lower().split(b",")]
    # (Looked for only when Connection names it: no cost per field on the common path.)
    if b"upgrade" in options and any(name == b"upgrade" for name, _ in headers):
        # Answered without switching (RFC 9110 §7.8 lets a server ignore Upgrade), and the
        # connection ends: what follows is another protocol's bytes, never read as HTTP. A body
        # is refused: llhttp ends such a request at its head, a reader that does not upgrade
        # after it, so where the request ends would depend on the parser.
        if has_body:
            raise ProtocolError(400, "a body on an Upgrade request")
        return False
    return b"close" not in options if version == b"1.1" else b"keep-alive" in options
