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

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

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
# Token frequencies are counted up to here; a driving token below it is "rare" (its postings are
# collected), above it "common" (the customer list is walked and probed).
FREQUENCY_CAP = 5_000


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _trigrams(text: str) -> set[str]:
    return {text[i : i + 3] for i in range(len(text) - 2)}


def document(
    names: Iterable[str],
    phones: Iterable[str],
    *,
    syllables: Callable[[str], list[str]] = pinyin_syllables,
) -> tuple[set[str], str, str]:
    """(tokens, search_blob, name pinyin) for a customer's names and contact numbers.

    The first name given is the full legal name; its pinyin is what list pages sort by.
    ``syllables`` must give what ``pinyin_syllables`` gives; bulk loaders pass a cached one.
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
            read = syllables(text)
            full, initials = "".join(read), pinyin_initials(read)
            parts += [full, initials]
            tokens.update("p" + s for s in read if len(s) > 1)
            tokens.update("j" + a + b for a, b in pairwise(read))
            tokens.update("i" + b for b in _bigrams(initials))
            tokens.update("k" + t for t in _trigrams(initials))
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
    readings: set[str] = set()
    for listed in pinyin_dict.values():
        readings.update(listed.split(","))
    # ~1,500 distinct toned readings: converting each once keeps this to a few milliseconds.
    found = {to_normal(reading).replace("ü", "v") for reading in readings}
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


@dataclass(frozen=True)
class Alternative:
    """One reading of a query: the tokens a match carries, and whether they alone prove the match."""

    tokens: tuple[str, ...]
    exact: bool


def _alternatives(q: str) -> list[Alternative]:
    digits = q.replace(" ", "").replace("-", "")
    if digits.isdigit():
        if len(digits) == 4:
            return [Alternative(("t" + digits,), True)]
        if len(digits) >= 7:
            try:
                return [Alternative(("m" + normalize_phone(digits),), True)]
            except ValidationFailed:
                pass
    text = search_normalize(q)
    if len(text) < 2:
        return []
    found = [Alternative(tuple("n" + b for b in sorted(_bigrams(text))), len(text) == 2)]
    if text.isascii() and text.isalpha():
        if len(text) == 2:
            found.append(Alternative(("i" + text,), True))
        else:
            found.append(Alternative(tuple("k" + t for t in sorted(_trigrams(text))), len(text) == 3))
        syllables = split_pinyin(text)
        if syllables and len(syllables) >= 2:
            pairs = tuple(sorted({"j" + a + b for a, b in pairwise(syllables)}))
            found.append(Alternative(pairs, len(syllables) == 2 and "".join(syllables) == text))
        elif syllables and len(syllables[0]) > 1:
            found.append(Alternative(("p" + syllables[0],), syllables[0] == text))
    return found


def query_token_sets(q: str) -> list[list[str]]:
    """Alternative token sets for a query; a customer matching all tokens of any set is a candidate."""
    return [list(alt.tokens) for alt in _alternatives(q)]


def _frequencies(tokens: Iterable[str], cap: int) -> dict[str, int]:
    """How many customers carry each token, counted no further than ``cap``: one cheap index read."""
    tokens = sorted(set(tokens))
    table = CustomerSearchToken._meta.db_table
    probe = f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE token = %s LIMIT {int(cap)}) AS f)"
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join([probe] * len(tokens)), tokens)
        row = cursor.fetchone()
    return dict(zip(tokens, (int(n) for n in row), strict=True))


def search_filter(q: str) -> Q:
    """A filter on Customer for the search text ``q`` (empty query: no filter)."""
    q = (q or "").strip()[:MAX_QUERY_LENGTH]
    if not q:
        return Q()
    alternatives = _alternatives(q)
    if not alternatives:
        # One character: too short for the index; a name prefix is still cheap and useful.
        return Q(name__startswith=q) | Q(short_name__startswith=q)
    freq = _frequencies((t for alt in alternatives for t in alt.tokens), FREQUENCY_CAP)
    drivers: list[str] = []
    exact = True
    for alt in alternatives:
        if min(freq[t] for t in alt.tokens) == 0:
            continue  # a token nobody has: this reading cannot match
        # The rarest token drives; the rest of the reading is checked on the search blob.
        drivers.append(min(alt.tokens, key=lambda t: (freq[t], -len(t))))
        exact = exact and alt.exact and len(alt.tokens) == 1
    if not drivers:
        return Q(pk__in=[])
    postings = CustomerSearchToken.objects.filter(token__in=drivers)
    if sum(freq[t] for t in drivers) < FREQUENCY_CAP:
        found = Q(pk__in=postings.values("customer_id"))
    else:
        # Common words: walk the customers in list order and probe the index for each one,
        # so the first page stops early instead of collecting every posting first.
        found = Q(Exists(postings.filter(customer_id=OuterRef("pk"))))
    if not exact:
        found &= Q(search_blob__contains=search_normalize(q))
    return found


def capped_count(qs: QuerySet[Customer], cap: int | None = None) -> tuple[int, bool]:
    """(count, more) where counting stops at ``cap`` so a common word cannot slow a page down."""
    cap = cap or settings.PEARL_SEARCH_COUNT_CAP
    n = qs.order_by()[: cap + 1].count()
    return min(n, cap), n > cap
