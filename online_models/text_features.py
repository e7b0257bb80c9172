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
* with web addresses and e-mail addresses folded to ``url`` / ``email`` (which one says
  nothing about the intent; that there is one may);
* as tokens: each word, each pair of adjacent words, and the character 3-, 4- and 5-grams of
  the words joined by single spaces, so across word boundaries (`` my p``, ``y par``). The
  n-grams make a typo (``refnud``), an inflection (``erstatten``/``erstattet``), a missing
  accent or a split or joined word (``hasnt arrived``/``has not arrived``) share most features
  with the word, in every language, with no word list or stop list; the words and pairs carry
  the exact phrases. Words every intent uses (greetings, ``my``, ``order``) are not removed
  by a list but weigh nothing in the complement naive Bayes that reads them
  (:mod:`online_models.intent`), because they are as common in every intent.

Tokens are counted once (presence), then hashed (River's :class:`FeatureHasher`,
MurmurHash3 with a fixed seed: the same buckets in every process and run) into
``N_FEATURES`` buckets, so the model's memory is bounded whatever the vocabulary.

>>> readable(None, "Où est ma commande 12345 ?")
'ou est ma commande 0 ?'
>>> sorted(tokens("ou est ma"))[:9]
[' es', ' est', ' est ', ' ma', ' ma ', ' ou', ' ou ', ' ou e', 'b:est ma']
>>> normalise("see https://shop.example/o?id=7 or mail me@x.org")
'see url or mail email'
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
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"[^\s@<>]+@[^\s@<>]+\.\w+")
NGRAMS = (3, 4, 5)
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
    """Lower case, no accents, no invisible characters, web and e-mail addresses as ``url`` and
    ``email``, digits as ``0``."""
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", _INVISIBLE.sub("", text)).lower())
    return _DIGITS.sub("0", _EMAIL.sub("email", _URL.sub("url", text)))


def readable(subject: str | None, body: str) -> str:
    """The bounded, normalised text the model reads of a message."""
    body = cut_quoted(body[:4 * MAX_CHARS])[:MAX_CHARS]
    return normalise(f"{subject}\n{body}" if subject else body)


def tokens(text: str) -> set[str]:
    """Words (``w:``), word pairs (``b:``) and character 3/4/5-grams across words of :func:`readable` text."""
    words = _WORD.findall(text)
    out = {"w:" + w for w in words}
    out.update(f"b:{a} {b}" for a, b in zip(words, words[1:]))
    joined = " " + " ".join(words) + " "
    for n in NGRAMS:
        out.update(joined[i:i + n] for i in range(len(joined) - n + 1))
    return out


def features(text: str) -> tuple[list[int], list[int]]:
    """The hashed presence features of already-:func:`readable` text (bucket numbers), and the
    buckets of its words and word pairs alone (to tell how much of the wording the model has
    seen before)."""
    toks = tokens(text)
    pairs = [t for t in toks if t[:2] in ("w:", "b:")]
    return list(_hasher.transform_one(dict.fromkeys(toks, 1))), list(_hasher.transform_one(dict.fromkeys(pairs, 1)))
