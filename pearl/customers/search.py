"""Customer search: an inverted index of short tokens kept by the services, read with one query.

Tokens (prefix + text) per customer:
  ``n`` + every two-character window of the normalised name, short name and contact names
        (so any part of a name of two or more characters is found);
  ``i`` + every two-letter window of the pinyin initials of those names (``hxjl`` → 海鲜酒楼);
  ``p`` + each pinyin syllable (``haixian`` → hai + xian);
  ``t`` + the last four digits of each contact number, ``m`` + the whole number.
A query is turned into the tokens it must contain; the candidates are then checked against
``Customer.search_blob`` so the order of characters counts too. Works the same on SQLite and
PostgreSQL, through the (token, customer) primary key.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from pypinyin.contrib.tone_convert import to_normal
from pypinyin.pinyin_dict import pinyin_dict

from pearl.core.errors import ValidationFailed
from pearl.core.phones import normalize_phone
from pearl.core.text import has_cjk, pinyin_initials, pinyin_syllables, search_normalize
from pearl.customers.models import Customer, CustomerSearchToken

SEPARATOR = "|"
MAX_QUERY_LENGTH = 64


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def document(names: Iterable[str], phones: Iterable[str]) -> tuple[set[str], str, str]:
    """(tokens, search_blob, name pinyin) for a customer's names and contact numbers.

    The first name given is the full legal name; its pinyin is what list pages sort by.
    """
    tokens: set[str] = set()
    parts: list[str] = []
    first_pinyin = ""
    for raw in names:
        text = search_normalize(raw)
        if not text:
            continue
        parts.append(text)
        tokens.update("n" + b for b in _bigrams(text))
        if has_cjk(text):
            syllables = pinyin_syllables(text)
            full, initials = "".join(syllables), pinyin_initials(syllables)
            parts += [full, initials]
            tokens.update("p" + s for s in syllables if len(s) > 1)
            tokens.update("i" + b for b in _bigrams(initials))
            first_pinyin = first_pinyin or full
        else:
            first_pinyin = first_pinyin or text
    for phone in phones:
        if phone:
            tokens.add("t" + phone[-4:])
            tokens.add("m" + phone)
    return tokens, SEPARATOR + SEPARATOR.join(parts) + SEPARATOR, first_pinyin[:400]


def customer_document(customer: Customer) -> tuple[set[str], str, str]:
    contacts = list(customer.contacts.all()) if customer.pk else []
    names = [customer.name, customer.short_name] + [c.name for c in contacts]
    return document(names, [c.mobile for c in contacts])


@lru_cache(maxsize=1)
def _syllables() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin knows (about 410), for splitting typed pinyin."""
    found: set[str] = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            found.add(to_normal(reading).replace("ü", "v"))
    return frozenset(s for s in found if s.isalpha())


@lru_cache(maxsize=1)
def _syllable_prefixes() -> frozenset[str]:
    return frozenset(s[:i] for s in _syllables() for i in range(1, len(s) + 1))


def split_pinyin(text: str) -> list[str] | None:
    """Whole syllables of typed pinyin (``haixianj`` → [hai, xian]); None if it is not pinyin.

    The last syllable may be unfinished, so it is only checked as a prefix and not returned.
    Prefers the longest syllable at each step and backtracks when that strands the rest.
    """
    syllables, prefixes = _syllables(), _syllable_prefixes()

    def walk(start: int) -> list[str] | None:
        if start == len(text):
            return []
        for end in range(min(len(text), start + 6), start, -1):
            piece = text[start:end]
            if piece in syllables:
                rest = walk(end)
                if rest is not None:
                    return [piece, *rest]
            if end == len(text) and piece in prefixes:
                return []  # an unfinished last syllable: checked by the blob, not the index
        return None

    return walk(0)


def query_token_sets(q: str) -> list[list[str]]:
    """Alternative token sets for a query; a customer matching all tokens of any set is a candidate."""
    digits = q.replace(" ", "").replace("-", "")
    if digits.isdigit():
        if len(digits) == 4:
            return [["t" + digits]]
        if len(digits) >= 7:
            try:
                return [["m" + normalize_phone(digits)]]
            except ValidationFailed:
                pass
    text = search_normalize(q)
    if len(text) < 2:
        return []
    alternatives = [["n" + b for b in sorted(_bigrams(text))]]
    if text.isascii() and text.isalpha():
        alternatives.append(["i" + b for b in sorted(_bigrams(text))])
        syllables = split_pinyin(text)
        if syllables:
            alternatives.append(sorted({"p" + s for s in syllables if len(s) > 1}))
    return [alt for alt in alternatives if alt]


def _token_frequency(token: str, cap: int = 20_000) -> int:
    """How many customers carry a token, counted no further than ``cap`` (cheap on the index)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {CustomerSearchToken._meta.db_table} "
            "WHERE token = %s LIMIT %s) AS t",
            [token, cap],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def search_filter(q: str) -> Q:
    """A filter on Customer for the search text ``q`` (empty query: no filter)."""
    q = (q or "").strip()[:MAX_QUERY_LENGTH]
    if not q:
        return Q()
    alternatives = query_token_sets(q)
    if not alternatives:
        # One character: too short for the index; a name prefix is still cheap and useful.
        return Q(name__startswith=q) | Q(short_name__startswith=q)
    digits = q.replace(" ", "").replace("-", "")
    checks_blob = not digits.isdigit()
    needle = search_normalize(q)
    combined = Q(pk__in=[])
    for tokens in alternatives:
        present = [t for t in tokens if _token_frequency(t, 1) > 0]
        if len(present) < len(tokens):
            continue  # a token nobody has: this alternative cannot match
        ordered = sorted(tokens, key=_token_frequency)
        ids = CustomerSearchToken.objects.filter(token=ordered[0])
        for token in ordered[1:]:
            ids = ids.filter(
                Exists(CustomerSearchToken.objects.filter(token=token, customer_id=OuterRef("customer_id")))
            )
        combined |= Q(pk__in=ids.values("customer_id"))
    if checks_blob:
        combined &= Q(search_blob__contains=needle)
    return combined


def capped_count(qs: QuerySet[Customer], cap: int | None = None) -> tuple[int, bool]:
    """(count, more) where counting stops at ``cap`` so a common word cannot slow a page down."""
    cap = cap or settings.PEARL_SEARCH_COUNT_CAP
    n = qs.order_by()[: cap + 1].count()
    return min(n, cap), n > cap
