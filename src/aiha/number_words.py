"""Numbers written in words (en, nl, fr, de, it): days 1-31 (cardinal and
ordinal), numbers 1-99 and years 1900-2030, folded (accent-free, lower case) and
without spaces or hyphens, each mapped to its digits."""

from __future__ import annotations

import unicodedata


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold() \
        .replace(" ", "").replace("-", "")


# ---- English
_EN_U = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_EN_T = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_EN_ORD = {1: "first", 2: "second", 3: "third", 5: "fifth", 8: "eighth", 9: "ninth", 12: "twelfth"}


def _en(n: int) -> str:
    return _EN_U[n] if n < 20 else _EN_T[n // 10] + (_EN_U[n % 10] if n % 10 else "")


def _en_ord(n: int) -> str:
    if n in _EN_ORD:
        return _EN_ORD[n]
    if n >= 20 and n % 10:
        return _EN_T[n // 10] + _en_ord(n % 10)
    w = _en(n)
    return w[:-1] + "ieth" if w.endswith("y") else w + "th"


def _en_years(y: int) -> set[str]:
    hi, lo = divmod(y, 100)
    out = {f"{_en(hi)}{_en(lo) if lo >= 10 else 'oh' + _en(lo) if lo else 'hundred'}"}
    thousands = f"{_en(y // 1000)}thousand"
    rest = y % 1000
    h, r = divmod(rest, 100)
    parts = thousands + (f"{_en(h)}hundred" if h else "")
    out |= {parts + (_en(r) if r else ""), parts + ("and" + _en(r) if r else "")}
    return out


# ---- Dutch
_NL_U = ("nul een twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien "
         "vijftien zestien zeventien achttien negentien").split()
_NL_T = "_ _ twintig dertig veertig vijftig zestig zeventig tachtig negentig".split()


def _nl(n: int) -> str:
    if n < 20:
        return _NL_U[n]
    u = n % 10
    return (_NL_U[u] + ("en" if _NL_U[u][-1] != "e" else "en") + _NL_T[n // 10]) if u else _NL_T[n // 10]


def _nl_ord(n: int) -> str:
    special = {1: "eerste", 3: "derde", 8: "achtste"}
    if n in special:
        return special[n]
    w = _nl(n)
    return w + ("ste" if n >= 20 else "de")


def _nl_years(y: int) -> set[str]:
    hi, lo = divmod(y, 100)
    out = {_nl(hi) + "honderd" + (_nl(lo) if lo else "")}
    if y >= 2000:
        out.add("tweeduizend" + (_nl(y - 2000) if y > 2000 else ""))
    return out


# ---- German
_DE_U = ("null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn "
         "vierzehn fünfzehn sechzehn siebzehn achtzehn neunzehn").split()
_DE_T = "_ _ zwanzig dreißig vierzig fünfzig sechzig siebzig achtzig neunzig".split()


def _de(n: int) -> str:
    if n < 20:
        return _DE_U[n]
    u = n % 10
    return (("ein" if u == 1 else _DE_U[u]) + "und" + _DE_T[n // 10]) if u else _DE_T[n // 10]


def _de_ord(n: int) -> set[str]:
    special = {1: "erste", 3: "dritte", 7: "siebte", 8: "achte"}
    base = special.get(n) or (_de(n) + ("ste" if n >= 20 else "te"))
    return {base, base + "r", base + "n"}


def _de_years(y: int) -> set[str]:
    hi, lo = divmod(y, 100)
    out = {_de(hi) + "hundert" + (_de(lo) if lo else "")}
    if y >= 2000:
        out.add("zweitausend" + (_de(y - 2000) if y > 2000 else ""))
    return out


# ---- French
_FR_U = ("zéro un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze "
         "quinze seize dixsept dixhuit dixneuf").split()
_FR_T = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}


def _fr(n: int) -> set[str]:
    if n < 20:
        return {_FR_U[n]}
    t, u = divmod(n, 10)
    if t in (7, 9):
        base = "soixante" if t == 7 else "quatrevingt"
        rest = _FR_U[10 + u]
        out = {base + rest}
        if t == 7 and u == 1:
            out.add("soixanteetonze")
        return out
    if t == 8:
        return {"quatrevingts" if not u else "quatrevingt" + _FR_U[u]}
    if u == 0:
        return {_FR_T[t]}
    if u == 1:
        return {_FR_T[t] + "etun", _FR_T[t] + "un"}
    return {_FR_T[t] + _FR_U[u]}


def _fr_years(y: int) -> set[str]:
    hi, lo = divmod(y, 100)
    tail = set().union(*(_fr(lo) for _ in [0])) if lo else {""}
    out = set()
    if y < 2000:
        for t in tail:
            out |= {"milleneufcent" + t, "milneufcent" + t, "dixneufcent" + t}
    else:
        rest = y - 2000
        for t in (_fr(rest) if rest else {""}):
            out.add("deuxmille" + t)
    return out


# ---- Italian
_IT_U = ("zero uno due tre quattro cinque sei sette otto nove dieci undici dodici tredici "
         "quattordici quindici sedici diciassette diciotto diciannove").split()
_IT_T = "_ _ venti trenta quaranta cinquanta sessanta settanta ottanta novanta".split()


def _it(n: int) -> str:
    if n < 20:
        return _IT_U[n]
    t, u = divmod(n, 10)
    tens = _IT_T[t]
    if u in (1, 8):
        tens = tens[:-1]
    return tens + (_IT_U[u] if u else "")


def _it_years(y: int) -> set[str]:
    lo = y % 100
    if y < 2000:
        return {"millenovecento" + (_it(lo) if lo else "")}
    return {"duemila" + (_it(y - 2000) if y > 2000 else "")}


def number_words() -> dict[str, str]:
    """Folded word form -> digits (days 1-31 two-digit, other numbers as written)."""
    out: dict[str, str] = {}

    def add(words, value: str) -> None:
        for w in ([words] if isinstance(words, str) else words):
            out.setdefault(_fold(w), value)

    for n in range(1, 100):
        v = f"{n:02d}" if n < 10 else str(n)
        add(_en(n), v), add(_nl(n), v), add(_de(n), v), add(_fr(n), v), add(_it(n), v)
        if n == 1:
            add("ein", v)
    for n in range(1, 32):
        v = f"{n:02d}"
        add(_en_ord(n), v), add(_nl_ord(n), v), add(_de_ord(n), v)
    add(["premier", "primo"], "01")
    for y in range(1900, 2031):
        add(_en_years(y) | _nl_years(y) | _de_years(y) | _fr_years(y) | _it_years(y), str(y))
    return out
