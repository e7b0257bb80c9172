"""The review's shortcuts change no finding: each is compared with the full walk it skips, over
generated texts (capitals, acronyms, digits, markup, accents, scripts without case, long runs).
`forewarn lint` uses the same Checker on texts nobody has seen, so "the same on our drafts" is
not enough: the shortcut must be right for any text."""

from __future__ import annotations

import random

from outreach.compliance import MAX_FINDINGS_PER_CODE, Checker, Message, _upper_words, caps_runs
from outreach.text import view

WORDS = ["FREE", "NOW", "CALL", "URGENT", "DHL", "UPS", "EU", "ID", "O-17", "ORD-ABCD", "A", "I", "OK",
         "ÉTÉ", "STRASSE", "straße", "ΑΘΗΝΑ", "A日本", "日本", "hello", "Order", "parcel", "late", "x",
         "2026", "50%", "'TIS", "DON'T", "WE’RE", "-", "RE-SEND", "İSTANBUL", "ǅ", "ᾼ"]
SEPARATORS = [" ", " ", " ", ", ", ". ", "! ", "? ", "\n", "  ", " — ", " <b>", "</b> ", "&amp; ", " 12345 ",
              "                ", "...", "!!!"]


def texts(seed: int, count: int):
    rnd = random.Random(seed)
    for _ in range(count):
        parts = []
        for _ in range(rnd.randint(0, 40)):
            parts.append(rnd.choice(WORDS))
            parts.append(rnd.choice(SEPARATORS))
        yield "".join(parts)


def test_a_text_with_fewer_than_three_words_in_capitals_has_no_run_of_them():
    runs_seen = 0
    for text in texts(seed=14, count=20_000):
        runs = caps_runs(text)
        runs_seen += bool(runs)
        if _upper_words(text) < 3:
            assert runs == [], text
    assert runs_seen > 1_000  # the generator does make shouting texts


def test_the_review_reports_every_run_it_would_find_walking_every_word():
    checker = Checker()
    for text in texts(seed=3, count=3_000):
        plain = view(text).plain
        expected = [f"{n} words in capitals in a row" for _, _, n in caps_runs(plain)][:MAX_FINDINGS_PER_CODE]
        found = [f.detail.split(":")[0] for f in checker.review(Message("email", text))
                 if f.code == "shouting" and "in capitals" in f.detail]
        assert found == expected, text


def test_exactly_three_words_in_capitals_still_shout():
    text = "Please read: CALL THEM NOW about the parcel."
    assert _upper_words(text) == 3
    assert caps_runs(text) == [(13, 26, 3)]
    findings = [f for f in Checker().review(Message("email", text)) if f.code == "shouting"]
    assert [(f.detail, f.span) for f in findings] == [('3 words in capitals in a row: "CALL THEM NOW"', (13, 26))]
