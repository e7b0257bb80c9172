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
    return re.sub(r"\s+", " ", "".join(fold_char(c) for c in text)).strip()


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


_RUNS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+|[^\s\x00-\x1f\x7f-\x9f]+")


def view(body: str) -> View:
    """The visible, folded text of ``body`` (capped at MAX_SCAN_CHARS) with offsets back into it."""
    body = body[:MAX_SCAN_CHARS]
    plain: list[str] = []
    plain_at: list[int] = []
    folded: list[str] = []
    folded_at: list[int] = []
    pending = None  # (offset, is_newline) of a whitespace run not yet written
    for offset, text in _pieces(body):
        if len(plain_at) > MAX_VISIBLE_CHARS:
            break
        is_entity = bool(text) and offset < len(body) and body[offset] == "&" and not body.startswith(text, offset)
        for run in _RUNS.finditer(text):
            room = MAX_VISIBLE_CHARS - len(plain_at)
            if room <= 0:
                break
            chunk = run.group()[:room]
            at = offset if is_entity else offset + run.start()
            if chunk[0].isspace() or chunk[0] <= "\x1f" or "\x7f" <= chunk[0] <= "\x9f":
                nl = any(c in chunk for c in "\n\r\u2028\u2029")
                pending = (at, nl) if pending is None else (pending[0], pending[1] or nl)
                continue
            if pending is not None:
                if plain:
                    sep = "\n" if pending[1] else " "
                    plain.append(sep)
                    plain_at.append(pending[0])
                    folded.append(sep)
                    folded_at.append(pending[0])
                pending = None
            if chunk.isascii():  # the common case, at C speed
                plain.append(chunk)
                folded.append(chunk.lower().replace("`", "'"))
                where = [at] * len(chunk) if is_entity else range(at, at + len(chunk))
                plain_at.extend(where)
                folded_at.extend(where)
                continue
            for i, ch in enumerate(chunk):
                f = fold_char(ch)
                if not f:
                    continue
                char_at = at if is_entity else at + i
                plain.append(ch)
                plain_at.append(char_at)
                folded.append(f)
                folded_at.extend([char_at] * len(f))
    return View("".join(plain), plain_at, "".join(folded), folded_at)
