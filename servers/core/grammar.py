"""HTTP/1.1's field and chunk grammar (RFC 9110 §5, RFC 9112 §7.1), read as llhttp reads it.

Shared by the core's request parser and the lab's response framer, so that the servers and the
load generator refuse the same bytes: what one side reads, the other does too.
"""

from __future__ import annotations

import re

from .limits import MAX_CHUNK_SIZE_DIGITS

TCHAR = rb"!#$%&'*+\-.^_`|~0-9A-Za-z"  # RFC 9110 §5.6.2, inside a character class
TOKEN = re.compile(rb"[" + TCHAR + rb"]+")
# Field values: visible ASCII, obs-text, space and tab; no other control byte (NUL, bare CR/LF).
BAD_VALUE_BYTE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# A chunk size with optional extensions (RFC 9112 §7.1.1), which are ignored, read exactly as
# llhttp reads them so that both parsers frame every body alike: quoted values may hold
# quoted-pairs; no whitespace anywhere (RFC 9112's BWS is refused, as llhttp does: lenient
# chunk-line parsing is a known smuggling vector); a ";" must not end the line. llhttp also lets
# an extension's name or value be empty, so this does too — they are discarded either way.
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x20-\x7e\x80-\xff])*"'
# llhttp lets '"' into an unquoted value after its first byte.
_EXTENSION_VALUE = rb"(?:" + _QUOTED + rb"|[" + TCHAR + rb"][" + TCHAR + rb'"]*)?'
_CHUNK_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]+)(?:;(?!\Z)[" + TCHAR + rb"]*(?:=" + _EXTENSION_VALUE + rb")?)*")


def chunk_size(line: bytes) -> int | None:
    """The size a chunk-size line (without its CRLF) gives, or None if the line is malformed.
    Leading zeros do not count towards MAX_CHUNK_SIZE_DIGITS: llhttp reads any number of them."""
    match = _CHUNK_SIZE_LINE.fullmatch(line)
    if match is None or len(match.group(1).lstrip(b"0")) > MAX_CHUNK_SIZE_DIGITS:
        return None
    return int(match.group(1), 16)
