"""What the intent model reads of a customer's message: bounded, normalised text, as hashed tokens.

A message is untrusted text of any length, in any of the store's languages, typed in a hurry.
Of it the model reads only:

* the subject and the first ``MAX_CHARS`` characters of the body (what a message is about
  comes first; a pasted log or a 40 kB signature adds nothing but cost), with the quoted
  reply chain cut off (``> ...`` lines, and everything after an "On ... wrote:" header in
  en/de/fr/es/pt) — the store's own earlier answer is not what the customer asks now;
* normalised: Unicode NFKC, lower case, accents stripped (``remboursé`` = ``rembourse``, as
  people type without them), zero-width and control characters dropped, digits folded to
  ``0`` (an order number says nothing about the intent);
* as tokens: each word, each pair of adjacent words, and the character 3- and 4-grams of each
  word inside ``<`` ``>`` boundaries (fastText-style). The n-grams make a typo (``refnud``)
  or an inflection (``erstatten``/``erstattet``) share most features with the word, in every
  language, with no word list; the words and pairs carry the exact phrases.

Tokens are counted once (presence), then hashed (River's :class:`FeatureHasher`,
MurmurHash3 with a fixed seed: the same buckets in every process and run) into
``N_FEATURES`` buckets, so the model's memory is bounded whatever the vocabulary.

>>> readable(None, "Où est ma commande 12345 ?")
'ou est ma commande 0 ?'
>>> sorted(tokens("ou est ma"))
['<es', '<est', '<ma', '<ma>', '<ou', '<ou>', 'b:est ma', 'b:ou est', 'est', 'est>', 'ma>', 'ou>', 'st>', 'w:est', 'w:ma', 'w:ou']
>>> cut_quoted("Still nothing.\\n\\nOn Mon, 3 Nov, Shop wrote:\\n> We shipped it")
'Still nothing.'
"""

from __future__ import annotations

import re
import unicodedata

from river import preprocessing

MAX_CHARS = 1000  # of the body read for the intent (flags read more: detectors/support_message.py)
N_FEATURES = 1 << 18
SEED = 11

# The start of a quoted earlier message: reply headers in the five languages, and Outlook's.
_REPLY_HEADER = re.compile(
    r"^\s*(?:on\b.{0,120}\bwrote|am\b.{0,120}\bschrieb|le\b.{0,120}\ba [ée]crit|el\b.{0,120}\bescribi[óo]"
    r"|em\b.{0,120}\bescreveu|-{2,}\s*(?:original message|urspr[üu]ngliche nachricht|message d'origine"
    r"|mensaje original|mensagem original)|from:\s.{0,200}\n\s*sent:)",
    re.IGNORECASE | re.MULTILINE)
_QUOTED_LINE = re.compile(r"^\s*>.*$\n?", re.MULTILINE)
_WORD = re.compile(r"[^\W_]+")
_DIGITS = re.compile(r"\d+")
# Zero-width, bidi and other format/control characters: invisible, and a way to split a word.
_INVISIBLE = re.compile("[" + "".join(chr(c) for c in range(0x10000) if unicodedata.category(chr(c)) in ("Cf", "Cc")
                                      and chr(c) not in "\n\t").replace("\\", "\\\\").replace("]", "\\]")
                        .replace("^", "\\^").replace("-", "\\-") + "]")
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

_hasher = preprocessing.FeatureHasher(n_features=N_FEATURES, seed=SEED, alternate_sign=False)


def cut_quoted(text: str) -> str:
    """The text without the quoted reply chain (``>`` lines, and all after a reply header)."""
    m = _REPLY_HEADER.search(text)
    if m is not None and m.start() > 0:
        text = text[:m.start()]
    return _QUOTED_LINE.sub("", text).strip()


def normalise(text: str) -> str:
    """Lower case, no accents, no invisible characters, digits as ``0``."""
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", _INVISIBLE.sub("", text)).lower())
    return _DIGITS.sub("0", text)


def readable(subject: str | None, body: str) -> str:
    """The bounded, normalised text the model reads of a message."""
    body = cut_quoted(body[:4 * MAX_CHARS])[:MAX_CHARS]
    return normalise(f"{subject}\n{body}" if subject else body)


def tokens(text: str) -> set[str]:
    """Words (``w:``), word pairs (``b:``) and in-word character 3/4-grams of :func:`readable` text."""
    words = _WORD.findall(text)
    out = {"w:" + w for w in words}
    out.update(f"b:{a} {b}" for a, b in zip(words, words[1:]))
    for w in words:
        padded = f"<{w}>"
        for n in (3, 4):
            out.update(padded[i:i + n] for i in range(len(padded) - n + 1))
    return out


def features(text: str) -> tuple[dict[int, int], list[int]]:
    """Hashed presence features of already-:func:`readable` text, ``{bucket: 1}``, and the
    buckets of its words alone (to tell how much of the wording the model has seen before)."""
    toks = tokens(text)
    words = [t for t in toks if t.startswith("w:")]
    return _hasher.transform_one(dict.fromkeys(toks, 1)), list(_hasher.transform_one(dict.fromkeys(words, 1)))
