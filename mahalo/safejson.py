"""JSON from outside, bounded before it is parsed (issue 12).

Python's parser recurses once per `[` or `{`: twenty thousand of them raise RecursionError deep in a
request (a 500), and a large body is held whole in memory. Every JSON body the product reads (the REST
API's parser, the few plain views that take JSON, FHIR imports) goes through `loads`, which refuses a
body over MAX_BYTES or nested deeper than MAX_DEPTH with a clear ValueError before json sees it.
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32
# Structural characters and the ones that start or escape a string: everything the depth scan needs.
_TOKENS = re.compile(rb'[\[\]{}"\\]')


class JSONLimitError(ValueError):
    pass


def max_bytes() -> int:
    return getattr(settings, "API_JSON_MAX_BYTES", 1024 * 1024)


def check_depth(raw: bytes, limit: int = MAX_DEPTH) -> None:
    """Raise JSONLimitError when brackets outside strings nest deeper than `limit`."""
    depth, in_string, escaped = 0, False, False
    for match in _TOKENS.finditer(raw):
        char = match.group()
        if in_string:
            if escaped:
                escaped = False
            elif char == b"\\":
                # An escape consumes the next character only when it is adjacent.
                escaped = True
                continue
            elif char == b'"':
                in_string = False
            continue
        if char == b'"':
            in_string = True
        elif char in (b"[", b"{"):
            depth += 1
            if depth > limit:
                raise JSONLimitError(f"JSON nested deeper than {limit} levels.")
        elif char in (b"]", b"}"):
            depth -= 1


def loads(raw: bytes | str, *, limit_bytes: int | None = None):
    """json.loads with the size and nesting bounds; ValueError (JSONLimitError or JSONDecodeError)
    for anything refused."""
    data = raw.encode() if isinstance(raw, str) else raw
    cap = limit_bytes or max_bytes()
    if len(data) > cap:
        raise JSONLimitError(f"JSON body larger than {cap // 1024} KB.")
    check_depth(data)
    try:
        return json.loads(data)
    except RecursionError:  # belt and braces: the scan above should have refused it
        raise JSONLimitError(f"JSON nested deeper than {MAX_DEPTH} levels.") from None


def read_limited(stream, cap: int) -> bytes:
    """Read at most cap+1 bytes, so an oversized body is refused without being held whole."""
    raw = stream.read(cap + 1) if stream is not None else b""
    if len(raw) > cap:
        raise JSONLimitError(f"JSON body larger than {cap // 1024} KB.")
    return raw


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser behind the same bounds: a 400 with the reason instead of a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            raw = read_limited(stream, max_bytes())
            data = loads(raw.decode(encoding)) if raw else None
        except JSONLimitError as exc:
            raise ParseError(str(exc)) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        return data
