"""The sans-IO HTTP/1.1 core every stage drives: no sockets, no clock, no threads of its own."""

from .app import App
from .cache import ResponseCache
from .connection import STAGE_0_TO_3, HttpConnection, ProtocolOptions, overloaded
from .errors import ProtocolError
from .request import Request
from .response import OVERLOADED, DateHeader, Reply, Response
from .stats import Stats, ThreadSafeStats

__all__ = [
    "OVERLOADED",
    "STAGE_0_TO_3",
    "App",
    "DateHeader",
    "HttpConnection",
    "ProtocolError",
    "ProtocolOptions",
    "Reply",
    "Request",
    "Response",
    "ResponseCache",
    "Stats",
    "ThreadSafeStats",
    "overloaded",
]
