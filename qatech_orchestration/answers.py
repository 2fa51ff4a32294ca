"""Reading QA.tech's answers safely, whatever transport fetched them: bounded size, bounded depth, no
token in any text that comes out.

Shared by every transport (the ``requests`` client, and any async one): the transport only moves bytes;
decompression with a size cap, JSON parsing, error messages and redaction are done here, once.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

#: The deepest JSON an answer may hold (QA.tech's answers are 3 levels deep).
MAX_JSON_DEPTH = 64
#: How much of a server's error text an exception carries.
MAX_ERROR_TEXT = 300
#: What the client accepts (anything else would have to be decompressed by a library without a size cap).
ACCEPT_ENCODING = "gzip, deflate"


class AnswerTooLarge(Exception):
    """The answer (decompressed) is larger than the cap."""


class UnreadableAnswer(Exception):
    """The answer cannot be decoded (unsupported or corrupt Content-Encoding, not JSON, too deep)."""


class BodyReader:
    """Accumulates an answer's body chunk by chunk, decompressing it, and stops at ``limit`` bytes.

    Feed it the raw bytes as they arrive (``feed``), then ``finish``. Decompression never produces more
    than the limit allows, so a small compressed answer cannot inflate to gigabytes in memory.
    """

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        self.limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        encoding = (content_encoding or "identity").strip().lower()
        if encoding in ("", "identity"):
            self._decoder: Any = None
        elif encoding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._decoder = _DeflateDecoder()
        else:
            raise UnreadableAnswer(f"the answer uses Content-Encoding {encoding!r}, which was not asked for")

    def _add(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self.limit:
            raise AnswerTooLarge(f"the answer is larger than {self.limit} bytes (max_response_bytes)")
        self._parts.append(data)

    def feed(self, chunk: bytes) -> None:
        if self._decoder is None:
            self._add(chunk)
            return
        data = chunk
        try:
            while data:
                room = self.limit - self._size + 1  # one byte more than fits tells "too large"
                self._add(self._decoder.decompress(data, room))
                data = self._decoder.unconsumed_tail
        except zlib.error as exc:
            raise UnreadableAnswer(f"the answer's compressed body is corrupt ({exc})") from None

    def finish(self) -> bytes:
        if self._decoder is not None:
            try:
                self._add(self._decoder.flush())
            except zlib.error as exc:
                raise UnreadableAnswer(f"the answer's compressed body is corrupt ({exc})") from None
        return b"".join(self._parts)


class _DeflateDecoder:
    """``deflate`` is zlib-wrapped by the standard, raw in some servers: try the first, fall back."""

    def __init__(self) -> None:
        self._decoder: Any = zlib.decompressobj()
        self._first = True

    @property
    def unconsumed_tail(self) -> bytes:
        return bytes(self._decoder.unconsumed_tail)

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._first:
            self._first = False
            try:
                return bytes(self._decoder.decompress(data, max_length))
            except zlib.error:
                self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
        return bytes(self._decoder.decompress(data, max_length))

    def flush(self) -> bytes:
        return bytes(self._decoder.flush())


def parse_json(body: bytes) -> Any:
    """Parse an answer's JSON, refusing anything nested deeper than :data:`MAX_JSON_DEPTH`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableAnswer("the answer is not UTF-8 text") from None
    # Counting brackets is cheap; only an answer with enough of them can be too deep (rarely scanned).
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _nesting_depth(text) > MAX_JSON_DEPTH:
        raise UnreadableAnswer(f"the answer's JSON is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise UnreadableAnswer("the answer is not JSON") from None


_BRACKETS_OR_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _nesting_depth(text: str) -> int:
    """The deepest bracket nesting outside strings (a regex scan: fast enough for a few MB)."""
    depth = deepest = 0
    for match in _BRACKETS_OR_STRINGS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def error_text(body: bytes, content_type: str, reason: str) -> str:
    """The server's explanation of an error answer: its JSON ``message``, else the words of its body."""
    try:
        data = parse_json(body)
    except UnreadableAnswer:
        data = None
    if isinstance(data, Mapping):
        for key in ("message", "statusText", "error"):
            if isinstance(data.get(key), str) and data[key].strip():
                return str(data[key])
    text = body.decode("utf-8", "replace")
    if "html" in content_type.lower():
        text = re.sub(r"<[^>]+>", " ", text)  # an error page from a proxy: keep its words
    return " ".join(text.split()) or reason or "no message"


class Redactor:
    """Removes a secret from any text, in the forms it may come back in, *before* text is shortened."""

    def __init__(self, secret: str) -> None:
        forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
        # Longest first, so that a form containing another is replaced whole.
        self._forms = sorted((f for f in forms if f), key=len, reverse=True)

    def __call__(self, text: str, limit: int | None = None) -> str:
        for form in self._forms:
            text = text.replace(form, "***")
        if limit is not None and len(text) > limit:
            text = text[: limit - 3] + "..."
        return text
