"""What a reader sees of a message body, folded for matching, with a map back to the body.

``view(body)`` drops markup (tags, comments, ``<style>``/``<script>`` blocks), decodes HTML
entities, removes invisible format characters (zero-width spaces, bidi controls, soft
hyphens: they hide words from a filter but not from a reader), collapses whitespace, and
keeps for every character the offset of the body character it came from, so a finding's
span points into the body the user wrote. ``folded`` is that text case- and accent-free
(``casefold`` then NFKD without combining marks: "Désinscrire" -> "desinscrire",
"Straße" -> "strasse"), typographic apostrophes and dashes made ASCII.

Work is linear in the body: callers cap it (``MAX_SCAN_CHARS``) before calling.

>>> v = view("<p>Jetzt&nbsp;<b>abmelden</b></p> \u200bHIER")
>>> v.plain, v.folded
('Jetzt abmelden\\nHIER', 'jetzt abmelden\\nhier')
>>> body = "<p>Jetzt&nbsp;<b>abmelden</b></p> \u200bHIER"
>>> s, e = v.span(6, 14); body[s:e]
'abmelden'
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

# Bodies are untrusted and may be huge. Markup is stripped from at most MAX_SCAN_CHARS of a
# body (HTML mail with inline styles is often 100 kB), and at most MAX_VISIBLE_CHARS of the
# visible text that leaves are reviewed: a reader's screenfuls, at bounded cost.
MAX_SCAN_CHARS = 300_000
MAX_VISIBLE_CHARS = 20_000

_OPENERS = re.compile(r"<!--|<(?:script|style)\b", re.I)
_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]{0,15})\b[^<>]{0,1000}>|<![^<>]{0,1000}>|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]{2,10});")
# Inline elements join the words around them ("un<b>subscribe</b>"); the others separate them.
_INLINE = {"a", "b", "i", "u", "s", "em", "strong", "span", "font", "small", "big", "sup", "sub", "mark", "abbr", "code", "wbr"}
_BLOCK_NL = {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "hr", "td", "th", "section", "header", "footer"}
_APOSTROPHES = "\u2019\u2018\u02bc\u0060\u00b4\u2032"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_FOLD_CACHE: dict[str, str] = {}


def fold_char(ch: str) -> str:
    """One character as matched: lower case, no accents, ASCII apostrophe and dash; '' for invisible ones."""
    out = _FOLD_CACHE.get(ch)
    if out is not None:
        return out
    if ch in _APOSTROPHES:
        out = "'"
    elif ch in _DASHES:
        out = "-"
    else:
        cat = unicodedata.category(ch)
        if cat == "Cf" or cat == "Mn":
            out = ""
        elif ch.isspace() or cat == "Cc":
            out = " "
        else:
            out = "".join(c for c in unicodedata.normalize("NFKD", ch.casefold()) if not unicodedata.combining(c))
    if len(_FOLD_CACHE) < 20_000:
        _FOLD_CACHE[ch] = out
    return out


def fold(text: str) -> str:
    """``text`` as phrase lists are matched: see ``fold_char``, whitespace runs as one space."""
    return _WHITESPACE.sub(" ", text.translate(_TABLE)).strip()


@dataclass(frozen=True, slots=True)
class View:
    plain: str            # visible text, case kept
    plain_at: list[int]   # body offset of each character of plain
    folded: str           # plain folded for matching
    folded_at: list[int]  # body offset of each character of folded

    def span(self, start: int, end: int, folded: bool = True) -> tuple[int, int]:
        """[start, end) in folded (or plain) text -> [start, end) in the body."""
        at = self.folded_at if folded else self.plain_at
        if not at or start >= end:
            return (0, 0)
        return (at[min(start, len(at) - 1)], at[min(end, len(at)) - 1] + 1)


def _pieces(body: str):
    """(body offset, text) runs of visible text, and separators for markup."""
    pos, n = 0, len(body)
    looks_html = "<" in body or "&" in body
    if not looks_html:
        yield 0, body
        return
    lower = None
    while pos < n:
        opener = _OPENERS.search(body, pos)
        stop = opener.start() if opener else n
        yield from _tags(body, pos, stop)
        if not opener:
            break
        if lower is None:
            lower = body.lower()
        closer = "-->" if opener.group().startswith("<!--") else "</" + opener.group()[1:].lower()
        end = lower.find(closer, opener.end())
        if end < 0:
            break  # an unclosed comment or script hides the rest, as in a browser
        close_gt = body.find(">", end)
        pos = n if close_gt < 0 else close_gt + 1
        yield opener.start(), "\n"


def _tags(body: str, start: int, stop: int):
    pos = start
    for m in _TAG.finditer(body, start, stop):
        if m.start() > pos:
            yield pos, body[pos:m.start()]
        token = m.group()
        if token.startswith("&"):
            yield m.start(), html.unescape(token)
        else:
            name = (m.group(1) or "").lower()
            yield m.start(), "" if name in _INLINE else ("\n" if name in _BLOCK_NL else " ")
        pos = m.end()
    if pos < stop:
        yield pos, body[pos:stop]


# Whitespace a view must rewrite: runs of two or more, any but a plain space, control characters.
_ODD_SPACE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]{2,}|[^\S ]|[\x00-\x1f\x7f-\x9f]")
_NEWLINES = re.compile(r"[\n\r\u2028\u2029\x0b\x0c\x85]")
_IRREGULAR: set[str] = set()  # characters whose folded form is not exactly one character


class _FoldTable(dict):
    """``str.translate`` table of ``fold_char``, filled as characters are met."""

    def __missing__(self, code: int) -> str:
        out = fold_char(chr(code))
        if len(out) != 1:
            _IRREGULAR.add(chr(code))
        if len(self) < 20_000:
            self[code] = out
        return out


_TABLE = _FoldTable()
_WHITESPACE = re.compile(r"\s+")


class _Builder:
    """Accumulates plain and folded text with their body offsets, whitespace collapsed."""

    def __init__(self, limit: int) -> None:
        self.plain: list[str] = []
        self.plain_at: list[int] = []
        self.folded: list[str] = []
        self.folded_at: list[int] = []
        self.size = 0
        self.limit = limit
        self.pending: tuple[int, bool] | None = None  # a whitespace run not yet written: (offset, has a newline)

    def space(self, at: int, newline: bool) -> None:
        self.pending = (at, newline) if self.pending is None else (self.pending[0], self.pending[1] or newline)

    def text(self, chunk: str, at: int, one_offset: bool = False) -> None:
        """Visible characters starting at body offset ``at`` (all at ``at`` for a decoded entity)."""
        if chunk.startswith(" "):
            self.space(at, False)
            chunk, at = chunk[1:], at + (0 if one_offset else 1)
        trailing = chunk.endswith(" ")
        if trailing:
            chunk = chunk[:-1]
        chunk = chunk[: max(0, self.limit - self.size)]
        if chunk:
            if self.pending is not None:
                if self.size:
                    sep = "\n" if self.pending[1] else " "
                    self.plain.append(sep)
                    self.plain_at.append(self.pending[0])
                    self.folded.append(sep)
                    self.folded_at.append(self.pending[0])
                    self.size += 1
                self.pending = None
            folded = chunk.translate(_TABLE)  # fills _IRREGULAR for this chunk's characters
            if not one_offset and _IRREGULAR.isdisjoint(chunk):  # the common case, at C speed
                where = range(at, at + len(chunk))
                self.plain.append(chunk)
                self.plain_at.extend(where)
                self.folded.append(folded)
                self.folded_at.extend(where)
                self.size += len(chunk)
            else:
                for i, ch in enumerate(chunk):
                    f = _TABLE[ord(ch)]
                    if not f:
                        continue
                    char_at = at if one_offset else at + i
                    self.plain.append(ch)
                    self.plain_at.append(char_at)
                    self.folded.append(f)
                    self.folded_at.extend([char_at] * len(f))
                    self.size += 1
        if trailing:
            self.space(at + len(chunk), False)


def view(body: str) -> View:
    """The visible, folded text of ``body`` (markup stripped from at most MAX_SCAN_CHARS, at most
    MAX_VISIBLE_CHARS kept) with offsets back into it."""
    body = body[:MAX_SCAN_CHARS]
    out = _Builder(MAX_VISIBLE_CHARS)
    for offset, text in _pieces(body):
        if out.size >= MAX_VISIBLE_CHARS:
            break
        entity = bool(text) and offset < len(body) and body[offset] == "&" and not body.startswith(text, offset)
        pos = 0
        for odd in _ODD_SPACE.finditer(text):
            if odd.start() > pos:
                out.text(text[pos:odd.start()], offset if entity else offset + pos, entity)
            out.space(offset if entity else offset + odd.start(), _NEWLINES.search(odd.group()) is not None)
            pos = odd.end()
            if out.size >= MAX_VISIBLE_CHARS:
                break
        if pos < len(text):
            out.text(text[pos:], offset if entity else offset + pos, entity)
    return View("".join(out.plain), out.plain_at, "".join(out.folded), out.folded_at)
