"""Phrase lists: a small pattern language over folded text, loaded from TOML, matched in linear time.

A list entry is words separated by spaces, matched on word boundaries against text folded by
``outreach.text.fold`` (so case, accents and typographic apostrophes do not matter, and any
run of up to four spaces or punctuation other than ``. ! ?`` joins two words: "money back"
also finds "money-back" and "money - back"):

- ``refund*``: a word starting with ``refund`` (refunds, refunded, refunding);
- ``(will|'ll|shall)``: one of the alternatives, each itself a sequence; ``(...)?`` optional;
- ``#``: a number (``20``, ``4.99``, ``1,000``);
- ``~2``: up to two words of any kind;
- anything else is a literal word or symbol (``%``, ``€``, ``we'll``).

Every entry must begin with a word, number or symbol (possibly in an optional group before
another), because entries are found by their first word: the text is split into tokens once
and each token looks up the entries that can start there (exact words in a dict, ``word*``
prefixes by their stem), so the cost grows with the text, not with the number of entries.

>>> lst = PhraseList.compile(["(we will|we'll) refund* you", "# % off"], source="example")
>>> [(m.text, m.start) for m in lst.find(fold("Don’t worry: WE’LL refund you. 20% OFF!"))]
[("we'll refund you", 13), ('20% off', 31)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from outreach.text import fold

_TOKEN = re.compile(r"\w+|[^\w\s]")
# Tokens of a text looked up in the lists: words and the symbols entries may start with.
_TEXT_TOKEN = re.compile(r"\w+|[€$£%'\-+]")
_ENTRY_TOKEN = re.compile(r"\(|\)\??|\||~[1-9]|[^\s()|]+")
JOIN = r"[^\w.!?]{0,4}"
_NUMBER = r"\d+(?:[.,]\d+)*"
_WORD = r"\w+(?:'\w+)*"


class PhraseError(ValueError):
    """An entry that cannot be compiled; the message names the source and the entry."""


@dataclass(frozen=True, slots=True)
class Match:
    start: int  # [start, end) in the folded text
    end: int
    text: str
    group: str  # which list of a code it came from ("phrases", "nominal", ...)
    has_gap: bool
    literals: frozenset = frozenset()  # the entry's own words (a negation check skips them: "at no extra cost")
    lang: str = ""  # the language of the list it came from ("" when not told)


@dataclass(slots=True)
class _Entry:
    rx: re.Pattern
    group: str
    has_gap: bool
    table: str = ""
    literals: frozenset = frozenset()
    lang: str = ""


def _parse(tokens: list[str], pos: int, source: str, entry: str):
    """Parse a sequence until ')' or '|' or the end: returns (items, pos). An item is
    ('w', text) | ('p', stem) | ('n',) | ('g', n) | ('alt', [seq...], optional)."""
    items = []
    while pos < len(tokens):
        t = tokens[pos]
        if t == "(":
            alts = []
            pos += 1
            while True:
                seq, pos = _parse(tokens, pos, source, entry)
                alts.append(seq)
                if pos >= len(tokens):
                    raise PhraseError(f"{source}: {entry!r}: '(' is never closed")
                if tokens[pos] == "|":
                    pos += 1
                    continue
                break
            close = tokens[pos]
            items.append(("alt", alts, close == ")?"))
            pos += 1
        elif t in (")", ")?", "|"):
            return items, pos
        elif t.startswith("~"):
            items.append(("g", int(t[1:])))
            pos += 1
        elif t == "#":
            items.append(("n",))
            pos += 1
        else:
            word = fold(t)
            if word.endswith("*") and len(word) > 1:
                stem = word[:-1]
                if len(stem) < 3 or not re.fullmatch(r"\w+(?:'\w+)*", stem):
                    raise PhraseError(f"{source}: {entry!r}: a prefix needs 3 or more letters before '*'")
                items.append(("p", stem))
            elif word:
                items.append(("w", word))
            pos += 1
    return items, pos


def _rx(items: list) -> str:
    parts = []
    for item in items:
        kind = item[0]
        if kind == "w":
            w = re.escape(item[1])
            parts.append(w + (r"\b" if item[1][-1].isalnum() or item[1][-1] == "_" else ""))
        elif kind == "p":
            parts.append(re.escape(item[1]) + r"\w*")
        elif kind == "n":
            parts.append(_NUMBER + r"\b")
        elif kind == "g":
            parts.append(f"(?:{_WORD}{JOIN}){{0,{item[1]}}}")
            continue  # a gap carries its own joiner
        else:
            body = "|".join(_rx(seq) for seq in item[1])
            parts.append(f"(?:{body})" + ("?" if item[2] else ""))
            if item[2]:
                parts.append(None)  # an optional item: its joiner is optional too
                continue
        parts.append(JOIN)
    out, i = [], 0
    while i < len(parts):
        p = parts[i]
        if p is None:
            out[-1] = f"(?:{out[-1]}{JOIN})?"
        else:
            out.append(p)
        i += 1
    text = "".join(out)
    return text[: -len(JOIN)] if text.endswith(JOIN) else text


def _firsts(items: list) -> tuple[set[str], set[str], bool]:
    """The exact words and prefixes an entry can start with, and whether it can start with a number."""
    words, stems, number = set(), set(), False
    for item in items:
        kind = item[0]
        if kind == "w":
            words.add(item[1] if item[1][0].isalnum() else item[1][0])
            return words, stems, number
        if kind == "p":
            stems.add(item[1])
            return words, stems, number
        if kind == "n":
            return words, stems, True
        if kind == "g":
            raise PhraseError("an entry cannot begin with a gap")
        for seq in item[1]:
            w, s, n = _firsts(seq)
            words |= w
            stems |= s
            number |= n
        if not item[2]:
            return words, stems, number
    return words, stems, number


def _literals(items: list) -> set[str]:
    out = set()
    for item in items:
        if item[0] == "w":
            out.update(_TOKEN.findall(item[1]))
        elif item[0] == "alt":
            for seq in item[1]:
                out |= _literals(seq)
    return out


def _first_token(word: str) -> str:
    m = _TOKEN.match(word)
    return m.group() if m else word


@dataclass
class PhraseList:
    """Entries of one or more groups, indexed by how they can start."""

    exact: dict[str, list[_Entry]] = field(default_factory=dict)
    stems: dict[str, list[_Entry]] = field(default_factory=dict)
    numbers: list[_Entry] = field(default_factory=list)
    stem_lengths: set[int] = field(default_factory=set)
    _cache: dict[str, tuple[list[_Entry], re.Pattern | None]] = field(default_factory=dict, repr=False)
    _any: dict[tuple[str, ...], re.Pattern] = field(default_factory=dict, repr=False)

    @classmethod
    def compile(cls, entries, source: str, group: str = "phrases") -> "PhraseList":
        out = cls()
        out.add(entries, source, group)
        return out

    def add(self, entries, source: str, group: str = "phrases", lang: str = "") -> None:
        self._cache.clear()
        if isinstance(entries, str) or not isinstance(entries, list):
            raise PhraseError(f"{source}: expected a list of strings, got {type(entries).__name__}")
        for entry in entries:
            if not isinstance(entry, str) or not entry.strip():
                raise PhraseError(f"{source}: {entry!r}: an entry is a non-empty string")
            tokens = _ENTRY_TOKEN.findall(entry.strip())
            try:
                items, pos = _parse(tokens, 0, source, entry)
                if pos != len(tokens):
                    raise PhraseError(f"{source}: {entry!r}: unbalanced ')' or '|'")
                words, stems, number = _firsts(items)
                table, _, name = group.rpartition(":")
                compiled = _Entry(re.compile(_rx(items)), name, any(i[0] == "g" for i in items), table,
                                  frozenset(_literals(items)), lang)
            except (re.error, PhraseError) as exc:
                raise PhraseError(f"{source}: {entry!r}: {exc}") from None
            for w in words:
                self.exact.setdefault(_first_token(w), []).append(compiled)
            for s in stems:
                self.stems.setdefault(s, []).append(compiled)
                self.stem_lengths.add(len(s))
            if number:
                self.numbers.append(compiled)

    def extend(self, other: "PhraseList") -> None:
        self._cache.clear()
        for k, v in other.exact.items():
            self.exact.setdefault(k, []).extend(v)
        for k, v in other.stems.items():
            self.stems.setdefault(k, []).extend(v)
        self.numbers.extend(other.numbers)
        self.stem_lengths |= other.stem_lengths

    def __bool__(self) -> bool:
        return bool(self.exact or self.stems or self.numbers)

    def candidates(self, word: str) -> list[_Entry]:
        """The entries that can start at a token (cached: text repeats its words)."""
        return self._candidates(word)[0]

    def _candidates(self, word: str) -> tuple[list[_Entry], re.Pattern | None]:
        """The entries that can start at a token, and one pattern that matches where any of them
        does (None for no entry): most tokens that start an entry start none of them here, and
        one call to that pattern tells so, where each entry's own would take a call each."""
        cache = self._cache
        found = cache.get(word)
        if found is None:
            entries = list(self.exact.get(word, ()))
            if word[0].isdigit():
                entries += self.numbers
            for n in sorted(self.stem_lengths):
                if n > len(word):
                    break
                entries += self.stems.get(word[:n], ())
            any_rx = None
            if entries:  # one pattern per set of entries (every number token shares one)
                patterns = tuple(dict.fromkeys(e.rx.pattern for e in entries))
                any_rx = self._any.get(patterns)
                if any_rx is None and len(patterns) == 1:
                    # one pattern matches where it matches: the entry's own, not a copy compiled
                    # again (9 in 10 sets are one pattern; a compile costs ~1 ms)
                    any_rx = self._any[patterns] = entries[0].rx
                elif any_rx is None:
                    any_rx = self._any[patterns] = re.compile("|".join(f"(?:{p})" for p in patterns))
            found = (entries, any_rx)
            if len(cache) < 50_000:
                cache[word] = found
        return found

    def find(self, folded: str, limit: int = 50) -> list[Match]:
        """Non-overlapping matches, leftmost first (the longest entry wins at a start), at most ``limit``."""
        return self.find_all(folded, limit).get("", [])

    def find_all(self, folded: str, limit: int = 50) -> dict[str, list[Match]]:
        """One pass over the text for every table at once: groups named ``table:list`` are
        reported under ``table`` (matches of one table never overlap; of two tables may)."""
        out: dict[str, list[Match]] = {}
        taken: dict[str, int] = {}
        cache = self._cache
        for tok in _TEXT_TOKEN.finditer(folded):
            word = tok.group()
            cands, any_rx = cache.get(word) or self._candidates(word)
            if any_rx is None:
                continue
            start = tok.start()
            if not any_rx.match(folded, start):
                continue  # no entry matches here
            best: dict[str, tuple] = {}
            for entry in cands:
                if taken.get(entry.table, 0) > start:
                    continue
                m = entry.rx.match(folded, start)
                if m and m.end() > start:
                    held = best.get(entry.table)
                    if held is None or m.end() > held[0].end():
                        best[entry.table] = (m, entry)
            for table, (m, entry) in best.items():
                found = out.setdefault(table, [])
                if len(found) < limit:
                    found.append(Match(start, m.end(), m.group(), entry.group, entry.has_gap, entry.literals, entry.lang))
                taken[table] = m.end()
        return out
