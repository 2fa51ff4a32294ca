"""Property tests of redaction: the token never survives in any form it may be echoed in, wherever a cut
falls (redaction happens before truncation)."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

from hypothesis import given, settings
from hypothesis import strategies as st

from qatech_orchestration.answers import Redactor

TOKENS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+/=.~!$&'()*,;:@",
                 min_size=12, max_size=64)  # fmt: skip
FILLER = st.text(alphabet=' \n\t<>#%{}[]|^`"?', max_size=400)  # shares no character with a token's forms' letters
FORMS = st.sampled_from(["plain", "percent", "plus", "json"])


def encode(token: str, form: str) -> str:
    return {"plain": token, "percent": quote(token, safe=""), "plus": quote_plus(token),
            "json": json.dumps(token)[1:-1]}[form]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(token=TOKENS, form=FORMS, before=FILLER, after=FILLER, limit=st.integers(min_value=10, max_value=500))
def test_no_piece_of_the_token_survives_redaction_and_truncation(
    token: str, form: str, before: str, after: str, limit: int
) -> None:
    shown = Redactor(token)(before + encode(token, form) + after, limit)
    assert len(shown) <= limit
    letters = "".join(ch for ch in token if ch.isalnum())
    for size in range(min(6, len(letters)), len(letters) + 1):  # no run of 6 of its letters and digits
        for i in range(len(letters) - size + 1):
            assert letters[i : i + size] not in "".join(ch for ch in shown if ch.isalnum())


@given(token=TOKENS, text=st.text(max_size=200))
def test_text_without_the_token_is_only_shortened(token: str, text: str) -> None:
    if any(encode(token, form) in text for form in ("plain", "percent", "plus", "json")):
        return
    assert Redactor(token)(text) == text
