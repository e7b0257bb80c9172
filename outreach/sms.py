"""SMS segments as a phone network counts them (3GPP TS 23.038, formerly GSM 03.38).

A text whose every character is in the GSM 7-bit default alphabet or its extension table
is sent in GSM-7: 160 septets in one message, else 153 per segment of a concatenated
message (the user data header takes 7); an extension character (``€ [ ] { } \\ ~ ^ |`` and
form feed) is an escape plus a character, two septets, and is never split across two
segments. Any other character (``’``, ``é`` outside the alphabet, an emoji...) makes the
whole text UCS-2: 70 UTF-16 code units in one message, else 67 per segment, a surrogate
pair (most emoji) never split.

>>> count("Your parcel is on its way.")
Segments(encoding='GSM-7', units=26, segments=1, first_non_gsm=None, overflow_at=None)
>>> count("Prix : 5 €" * 20).units
220
>>> count("It’s late").encoding
'UCS-2'
"""

from __future__ import annotations

import re
from typing import NamedTuple

GSM_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
             "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENSION = "\f^{}\\[~]|€"
_NOT_GSM = re.compile("[^" + re.escape(GSM_BASIC + GSM_EXTENSION) + "]")
_EXTENSION = re.compile("[" + re.escape(GSM_EXTENSION) + "]")
# Past this many characters segments are computed arithmetically (an escape or surrogate
# pair at a boundary can add at most one segment per segment, irrelevant to a limit of a few).
_EXACT_UP_TO = 5_000


class Segments(NamedTuple):
    encoding: str                # "GSM-7" or "UCS-2"
    units: int                   # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    first_non_gsm: int | None    # offset of the character that forced UCS-2
    overflow_at: int | None      # offset where segment ``limit + 1`` begins, when asked


def _pack(sizes, single: int, multi: int) -> tuple[int, list[int]]:
    """Segments of a text whose characters take ``sizes`` units each, and each segment's start."""
    if sum(sizes) <= single:
        return 1, [0]
    starts, used = [0], 0
    for i, size in enumerate(sizes):
        if used + size > multi:
            starts.append(i)
            used = 0
        used += size
    return len(starts), starts


def count(text: str, limit: int | None = None) -> Segments:
    """Encoding, units and segments of ``text``; with ``limit``, where the first segment past it starts."""
    bad = _NOT_GSM.search(text)
    if bad is None:
        units = 2 * len(text) - len(_EXTENSION.sub("", text))
        single, multi, enc = 160, 153, "GSM-7"
        size = lambda ch: 2 if ch in GSM_EXTENSION else 1  # noqa: E731
    else:
        units = len(text.encode("utf-16-le", "surrogatepass")) // 2
        single, multi, enc = 70, 67, "UCS-2"
        size = lambda ch: 2 if ord(ch) > 0xFFFF else 1  # noqa: E731
    if units == len(text) and (limit is None or limit >= 0):
        # every character one unit (the common case): segment k starts at character k * multi
        segments = 1 if units <= single else -(-units // multi)
        overflow = limit * multi if limit is not None and segments > limit else None
    elif len(text) <= _EXACT_UP_TO:
        segments, starts = _pack([size(c) for c in text], single, multi)
        overflow = starts[limit] if limit is not None and segments > limit else None
    else:
        segments = -(-units // multi)
        overflow = None
        if limit is not None and segments > limit:
            # characters before the overflow: exact packing of a prefix long enough to hold it
            _, starts = _pack([size(c) for c in text[: multi * (limit + 1)]], single, multi)
            overflow = starts[limit] if len(starts) > limit else multi * limit
    return Segments(enc, units, segments, None if bad is None else bad.start(), overflow)
