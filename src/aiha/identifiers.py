"""Every identifier of the study, in every common written form: one place.

An :class:`IdentifierIndex` is built from the identifier columns of every site's
``patients.csv`` (record number, name, date of birth) and finds those identifiers
in free text however they are written:

- **record numbers** with or without their prefix, with any grouping of their
  digits (``AMC-4471823``, ``AMC 4471823``, ``4471823``, ``447 18 23``,
  ``0938127`` or ``938127``); every run of 5 or more of its digits counts;
- **dates of birth** in any order of day, month and year (ISO, European, US),
  any separator or none, padded or not, two- or four-digit year, month as a
  number or a name/abbreviation in English, Dutch, French, German, Italian or
  Spanish, ordinal suffixes (``1958-03-14``, ``14/03/1958``, ``14.3.58``,
  ``March 14th, 1958``, ``14 mars 1958``, ``19580314``), and with day and year
  in words in the site languages (``the fourteenth of March nineteen
  fifty-eight``, ``veertien maart negentienhonderdachtenvijftig``, ``quatorze mars
  mille neuf cent cinquante-huit``: :mod:`aiha.number_words`);
- **names**: the whole name and every part of 3 or more letters alone, case-,
  accent- and spacing-insensitive (``Lefèvre`` = ``LEFEVRE``); a shorter part
  (``de``, ``Li``) and initials (``J.``) are removed when they stand next to a
  matched part of the same person (``J. de Vries``, ``de Vries, J.``); a
  two-letter part that is not a name particle is also removed alone when written
  with a capital (``Li``).

Identifiers are compared as tokens (runs of letters, runs of digits; NFKD,
accents dropped, case-folded), so ``4471823`` never matches inside ``144718231``.
Text is first put in NFKC form (a name written decomposed, with a combining
accent, or in full-width letters reads as the same name), and invisible
characters (soft hyphen, zero-width space and joiners, bidirectional marks,
variation selectors: :func:`is_invisible`) are matched both as absent and as a
word break (``Vr\u00adies`` and ``de\u200bVries`` are both found); the scrubbed
text keeps its own form, without the invisible characters
(:meth:`IdentifierIndex.scrub`).

The cleaning activates the study's index (:func:`activate`); from then on
:class:`aiha.errors.InputError` hides any value that matches it (see
:func:`safe_value`), so no error message can print an identifier.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

REDACTED = "[redacted]"
# Columns whose values are direct identifiers, and how a message shows them.
IDENTIFIER_COLUMNS = {
    "record_number": "[record number]",
    "name": "[name]",
    "birth_date": "[date of birth]",
}
MIN_DIGITS = 5  # a run of fewer digits (a dose, a year) is not an identifier alone
MIN_NAME_PART = 3
# Name particles: removed only next to another part of the same name.
PARTICLES = frozenset(
    "de da di do du dos das del della der den des la le les lo van von ten ter te "
    "y e el al bin ibn ben mc mac st zu vom op in t".split()
)
ORDINAL_SUFFIXES = frozenset("st nd rd th er re e eme o a".split())
# Month names and abbreviations (en, nl, fr, de, it, es), accent-free and folded.
_MONTHS = {
    1: "january jan januari janvier janv janvier januar jaenner janner jan gennaio gen enero ene",
    2: "february feb febr februari fevrier fev fevr februar febbraio febrero",
    3: "march mar maart mars maerz marz marzo",
    4: "april apr avril avr aprile abril abr",
    5: "may mei mai maggio mag mayo",
    6: "june jun juni juin giugno giu junio",
    7: "july jul juli juillet juil luglio lug julio",
    8: "august aug augustus aout agosto ago",
    9: "september sep sept septembre settembre set septiembre",
    10: "october oct oktober okt octobre ottobre ott octubre",
    11: "november nov novembre novembre noviembre",
    12: "december dec dez dezember decembre dicembre dic diciembre",
}
MONTH_TOKENS = {name: f"{m:02d}" for m, names in _MONTHS.items() for name in names.split()}
# Formats tried when a date of birth is read from a column of unknown format.
DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d",
                "%Y%m%d", "%d%m%Y", "%d-%m-%y", "%d/%m/%y", "%d.%m.%y", "%d %B %Y", "%d %b %Y",
                "%B %d, %Y", "%b %d, %Y", "%d-%b-%Y")

_TOKEN = re.compile(r"[^\W\d_]+|\d+")
# What may stand between two tokens of one identifier: spaces and punctuation.
_GAP = re.compile(r"[\s\-‐‑‒–—./,'’:_#]{0,3}")


# Invisible characters that may sit inside a word: format characters (Cf: soft
# hyphen, zero-width space/joiners, word joiner, bidi marks, BOM), the combining
# grapheme joiner, variation selectors and the Hangul fillers.
_INVISIBLE_EXTRA = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0") | frozenset(
    chr(c) for c in (*range(0xFE00, 0xFE10), *range(0x180B, 0x1810)))


def is_invisible(char: str) -> bool:
    """A character that shows nothing (and may hide inside a name)."""
    return unicodedata.category(char) == "Cf" or char in _INVISIBLE_EXTRA


def normalise_text(text: str) -> str:
    """NFKC form without invisible characters (:func:`is_invisible`)."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKC", text) if not is_invisible(c))


def fold(text: str) -> str:
    """Accent-free, case-folded text (``Lefèvre`` -> ``lefevre``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True)
class Token:
    norm: str
    start: int
    end: int
    digit: bool
    text: str


def tokens(text: str) -> list[Token]:
    """Letter runs and digit runs of ``text`` (ordinal suffixes folded into their number)."""
    out: list[Token] = []
    for m in _TOKEN.finditer(text):
        raw = m.group()
        norm = fold(raw)
        digit = raw.isdigit()
        if digit:
            norm = str(int(raw)).zfill(len(raw)) if raw.isascii() else "".join(
                str(unicodedata.digit(c)) for c in raw)
        if (not digit and out and out[-1].digit and out[-1].end == m.start()
                and norm in ORDINAL_SUFFIXES):
            prev = out[-1]
            out[-1] = Token(prev.norm, prev.start, m.end(), True, prev.text + raw)
            continue
        out.append(Token(norm, m.start(), m.end(), digit, raw))
    return out


# Words that may stand between the parts of a date written out ("the 14th of March").
DATE_FILLERS = frozenset("the of on de le la du den der am il del di op".split())


@functools.lru_cache(maxsize=1)
def _number_words() -> tuple[dict[str, str], frozenset[str]]:
    from aiha.number_words import number_words

    words = number_words()
    prefixes = frozenset(w[:i] for w in words for i in range(1, len(w) + 1))
    return words, prefixes


def _numberised(text: str, toks: list[Token]) -> list[Token]:
    """``toks`` with each run of letter tokens that spells a number in words (the
    longest, ``nineteen fifty-eight``) replaced by one digit token."""
    words, prefixes = _number_words()
    out: list[Token] = []
    i = 0
    while i < len(toks):
        best = None
        s = ""
        for j in range(i, min(len(toks), i + 8)):
            t = toks[j]
            if t.digit or (j > i and not _gap_ok(text, toks[j - 1], t)):
                break
            s += t.norm
            if s not in prefixes:
                break
            if s in words:
                best = (j, words[s])
        if best is None:
            out.append(toks[i])
            i += 1
            continue
        j, digits = best
        out.append(Token(digits, toks[i].start, toks[j].end, True, text[toks[i].start:toks[j].end]))
        i = j + 1
    return out


def _gap_ok(text: str, a: Token, b: Token) -> bool:
    return _GAP.fullmatch(text, a.end, b.start) is not None


def date_digit_forms(d: date) -> set[str]:
    """Every digit string of a date written with any order, padding and year width."""
    days = {f"{d.day:02d}", str(d.day)}
    months = {f"{d.month:02d}", str(d.month)}
    years = {f"{d.year:04d}", f"{d.year % 100:02d}"}
    out = set()
    for dd in days:
        for mm in months:
            for yy in years:
                for order in ((dd, mm, yy), (mm, dd, yy), (yy, mm, dd), (yy, dd, mm)):
                    s = "".join(order)
                    if len(s) >= MIN_DIGITS:
                        out.add(s)
    return out


def parse_any_date(text: str, formats: Iterable[str] = ()) -> list[date]:
    """Every reading of ``text`` as a date (the site's format first, then common ones)."""
    found = []
    for fmt in (*formats, *DATE_FORMATS):
        try:
            found.append(datetime.strptime(text.strip(), fmt).date())
        except ValueError:
            continue
    return sorted(set(found))


def _digit_runs(digits: list[str]) -> set[str]:
    """Concatenations of every contiguous run of digit groups, and without leading zeros."""
    out = set()
    for a in range(len(digits)):
        for b in range(a + 1, len(digits) + 1):
            s = "".join(digits[a:b])
            for form in (s, s.lstrip("0")):
                if len(form) >= MIN_DIGITS:
                    out.add(form)
    return out


@dataclass
class IdentifierIndex:
    """Every identifier of the study; :meth:`spans` finds them in a text."""

    digits: set[str] = field(default_factory=set)
    # folded name part -> persons (ints) it belongs to
    parts: dict[str, set[int]] = field(default_factory=dict)
    # all folded parts of a person, any length, and their initials
    person_parts: list[set[str]] = field(default_factory=list)
    # whole identifiers that are not digits or name parts: tuples of folded tokens
    sequences: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)

    # ------------------------------------------------------------------ build
    def add_person(self, record_number: str = "", name: str = "", birth_date: str = "",
                   date_formats: Iterable[str] = ()) -> None:
        """Add one patient's identifiers, each read in every way it can be (a value
        in the wrong column is still found)."""
        person = len(self.person_parts)
        mine: set[str] = set()
        self.person_parts.append(mine)
        record_number, name, birth_date = (normalise_text(str(v or ""))
                                           for v in (record_number, name, birth_date))
        for value in (record_number, name, birth_date):
            value = value.strip()
            if not value:
                continue
            toks = tokens(value)
            if not toks:
                continue
            self._add_sequence(tuple(t.norm for t in toks))
            self.digits |= _digit_runs([t.norm for t in toks if t.digit])
            for d in parse_any_date(value, date_formats):
                self.digits |= date_digit_forms(d)
        for t in tokens(name or ""):
            if t.digit:
                continue
            mine.add(t.norm)
            if len(t.norm) >= MIN_NAME_PART or (len(t.norm) == 2 and t.norm not in PARTICLES):
                self.parts.setdefault(t.norm, set()).add(person)
        # a record number without digits (letters only) is a whole word to find
        rec_toks = tokens(record_number or "")
        if rec_toks and not any(t.digit for t in rec_toks) and len(record_number.strip()) >= 4:
            for t in rec_toks:
                self._add_sequence((t.norm,))

    def _add_sequence(self, seq: tuple[str, ...]) -> None:
        if len("".join(seq)) >= 4:
            self.sequences.setdefault(seq[0], set()).add(seq)

    def __bool__(self) -> bool:
        return bool(self.digits or self.parts or self.sequences)

    # ------------------------------------------------------------------ find
    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of ``text`` that are identifiers (merged, sorted)."""
        if not text:
            return []
        toks = tokens(text)
        hits: list[tuple[int, int]] = []
        hits += self._digit_spans(text, toks)
        hits += self._name_spans(text, toks)
        hits += self._sequence_spans(text, toks)
        return _merge(text, hits)

    def _digit_spans(self, text: str, toks: list[Token]) -> Iterator[tuple[int, int]]:
        # A run: digit tokens (numbers in words among them), month names and the
        # filler words of a written date, separated by gaps.
        if not text.isdigit() and any(not t.digit for t in toks):
            toks = _numberised(text, toks)

        def as_digits(t: Token) -> str | None:
            if t.digit:
                return t.norm
            return MONTH_TOKENS.get(t.norm, "" if t.norm in DATE_FILLERS else None)

        i = 0
        while i < len(toks):
            if as_digits(toks[i]) is None:
                i += 1
                continue
            j = i + 1
            while j < len(toks) and as_digits(toks[j]) is not None and _gap_ok(text, toks[j - 1], toks[j]):
                j += 1
            run = toks[i:j]
            for a in range(len(run)):
                s = ""
                for b in range(a, min(len(run), a + 8)):
                    s += as_digits(run[b]) or ""
                    if len(s) >= MIN_DIGITS and (s in self.digits or s.lstrip("0") in self.digits) \
                            and any(t.digit for t in run[a:b + 1]):
                        yield (run[a].start, run[b].end)
            i = j

    def _name_spans(self, text: str, toks: list[Token]) -> Iterator[tuple[int, int]]:
        for k, t in enumerate(toks):
            if t.digit or t.norm not in self.parts:
                continue
            if len(t.norm) < MIN_NAME_PART and not t.text[0].isupper():
                continue
            persons = self.parts[t.norm]
            mine = set().union(*(self.person_parts[p] for p in persons))
            initials = {p[0] for p in mine}
            lo = hi = k
            while lo > 0 and _gap_ok(text, toks[lo - 1], toks[lo]) and _belongs(toks[lo - 1], mine, initials):
                lo -= 1
            while hi + 1 < len(toks) and _gap_ok(text, toks[hi], toks[hi + 1]) \
                    and _belongs(toks[hi + 1], mine, initials):
                hi += 1
            end = toks[hi].end
            # the period of an initial ("J.") goes with it
            if len(toks[hi].norm) == 1 and text[end:end + 1] == ".":
                end += 1
            yield (toks[lo].start, end)

    def _sequence_spans(self, text: str, toks: list[Token]) -> Iterator[tuple[int, int]]:
        for k, t in enumerate(toks):
            for seq in self.sequences.get(t.norm, ()):
                n = len(seq)
                if k + n > len(toks):
                    continue
                window = toks[k:k + n]
                if all(w.norm == s for w, s in zip(window, seq)) and all(
                        _gap_ok(text, window[i], window[i + 1]) for i in range(n - 1)):
                    yield (window[0].start, window[-1].end)

    def normalised_spans(self, text: str) -> list[tuple[int, int]]:
        """Spans of identifiers in ``text`` (positions of ``text`` itself), found in
        its NFKC form with invisible characters removed and with them read as
        spaces. NFKC is taken per character with its combining marks, so each
        position of the normalised text maps back to a span of ``text``."""
        if text.isascii():
            return self.spans(text)
        chars: list[str] = []
        origin: list[tuple[int, int]] = []
        i = 0
        while i < len(text):
            j = i + 1
            while j < len(text) and unicodedata.combining(text[j]):
                j += 1
            for c in unicodedata.normalize("NFKC", text[i:j]):
                chars.append(c)
                origin.append((i, j))
            i = j
        t = "".join(chars)
        keep = [k for k, c in enumerate(t) if not is_invisible(c)]
        variants = [("".join(t[k] for k in keep), keep)]
        if len(keep) < len(t):
            variants.append(("".join(" " if is_invisible(c) else c for c in t), list(range(len(t)))))
        spans = [(origin[where[a]][0], origin[where[b - 1]][1])
                 for variant, where in variants for a, b in self.spans(variant) if b > a]
        return _merge(text, spans)

    def scrub(self, text: str) -> str:
        """``text`` with every identifier replaced by ``[redacted]`` (found however
        it is normalised, :meth:`normalised_spans`) and invisible characters
        removed."""
        spans = self.normalised_spans(text)
        out, pos = [], 0
        for a, b in spans:
            out.append(text[pos:a])
            out.append(REDACTED)
            pos = b
        out.append(text[pos:])
        result = "".join(out)
        return result if result.isascii() else "".join(c for c in result if not is_invisible(c))

    def matches(self, text: str) -> bool:
        return bool(self.normalised_spans(text))


def _belongs(t: Token, mine: set[str], initials: set[str]) -> bool:
    return not t.digit and (t.norm in mine or (len(t.norm) == 1 and t.norm in initials))


def _merge(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans, and spans separated only by a gap, become one."""
    out: list[list[int]] = []
    for a, b in sorted(spans):
        if out and (a <= out[-1][1] or _GAP.fullmatch(text, out[-1][1], a)):
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


# ---------------------------------------------------------------- shapes

# Shapes of a value that may be an identifier even when no index knows it: a run
# of 5+ digits (a record number), or two or more capitalised words (a name).
_LONG_DIGITS = re.compile(r"\d{5,}")
_NAME_SHAPE = re.compile(r"^\s*[^\W\d_][^\W\d_'’.-]*\.?(?:[\s,'’-]+[^\W\d_][^\W\d_'’.-]*\.?)+\s*$")


def looks_like_identifier(text: str) -> bool:
    """True for values shaped like a record number or a person's name."""
    if _LONG_DIGITS.search(text):
        return True
    if _NAME_SHAPE.match(text):
        words = [w for w in re.split(r"[\s,'’-]+", text.strip()) if w]
        letters = [w for w in words if w[0].isalpha()]
        if len(letters) >= 2 and all(w[0].isupper() and not (w.isupper() and len(w.rstrip(".")) > 1)
                                     for w in letters if fold(w.rstrip(".")) not in PARTICLES):
            return True
    return False


# ---------------------------------------------------------------- the active index

_ACTIVE: list[IdentifierIndex] = []


def activate(index: IdentifierIndex) -> None:
    """Make ``index`` the one every error message of this process is checked against."""
    _ACTIVE[:] = [index]


def active() -> IdentifierIndex | None:
    return _ACTIVE[0] if _ACTIVE else None


def scrub(text: str, index: IdentifierIndex | None = None) -> str:
    """``text`` with every identifier of ``index`` (default: the active one) redacted."""
    index = index if index is not None else active()
    return index.scrub(text) if index is not None and text else text


def safe_value(column: str | None, value: object) -> object:
    """What an error message may show of ``value`` found in ``column``."""
    if value is None:
        return None
    if column is not None and column in IDENTIFIER_COLUMNS:
        return IDENTIFIER_COLUMNS[column]
    text = str(value)
    index = active()
    if index is not None and index.matches(text):
        return "[identifier]"
    if looks_like_identifier(text):
        return "[not shown: may be an identifier]"
    return value
