"""Customer search: an inverted index of short tokens kept by the services, read with one query.

Tokens (prefix + text) per customer, over the normalised name, short name and contact names:
  ``n`` + every two-character window (so any part of a name of two or more characters is found);
  ``k`` + every three-letter window of the pinyin initials followed by ``_`` (``hxjl`` → 海鲜酒楼
        through khxj, kxjl; the padded last window ``kjl_`` makes every two-letter window the
        start of some token, so ``hx`` is the key range ``khx…``);
  ``j`` + each pair of neighbouring syllables, and the last syllable + ``_`` (``haixian`` →
        jhaixian; one syllable ``hai`` is the key range ``jhai…``);
  ``t`` + the last four digits of each contact number, ``m`` + the whole number.
A query is read as the terms it must contain — a token, or a key range written ``prefix*`` —;
the rarest one drives and, unless it proves the match alone, the candidates are checked against
``Customer.search_blob`` so the order of the characters counts too. Works the same on SQLite and
PostgreSQL, through the (token, customer) primary key and the (customer, token) index. Two-letter
and one-syllable readings are key ranges rather than tokens of their own because such tokens
would be carried by most customers (there are ~400 syllables): ranges over the longer tokens
keep the index ~35% smaller and a million-customer load correspondingly faster.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Exists, Expression, F, Lookup, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan
from django.db.models.sql.where import AND, WhereNode
from pypinyin.contrib.tone_convert import to_normal
from pypinyin.pinyin_dict import pinyin_dict
from pypinyin.seg.simpleseg import seg as pypinyin_seg

from pearl.core.errors import ValidationFailed
from pearl.core.phones import normalize_phone
from pearl.core.text import has_cjk, pinyin_initials, pinyin_syllables, search_normalize
from pearl.customers.models import Customer, CustomerSearchToken

SEPARATOR = "|"
END = "_"  # closes the syllable pairs and initials windows of a name (sorts before the letters)
PREFIX = "*"  # a query term ending in it is a key range: every token that starts with the rest
_PHONE_PUNCT = re.compile(r"[\s\-().+]")
MAX_QUERY_LENGTH = 64
# Token frequencies are counted up to here; a driving token below it is "rare" (its postings are
# collected), above it "common" (the customer list is walked and probed).
FREQUENCY_CAP = 5_000
RANKING_CAP = 50_000
# PostgreSQL: below this many postings an id array (sorted after fetching) is cheapest.
PG_ARRAY_BELOW = 1_000
# An inexact reading with at most this many candidates is checked on the spot.
SMALL = 200
# Two common tokens shared by fewer customers than this are collected together (a page walk would
# pass ~25 × 1M / matches customers); counting the shared ones stops here, so a dense pair costs
# little (measured at 1M on PostgreSQL: with 5,000 here, dense pairs cost 10–35 ms more).
PAIR_BELOW = 1_000


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _trigrams(text: str) -> set[str]:
    return {text[i : i + 3] for i in range(len(text) - 2)}


@dataclass(frozen=True)
class NameTerms:
    """What one name contributes to a customer's document: its tokens, blob parts and pinyin."""

    tokens: frozenset[str]
    parts: tuple[str, ...]
    pinyin: str


def name_terms(raw: str, syllables: Callable[[str], list[str]] = pinyin_syllables) -> NameTerms:
    """A name's share of the document; it depends on that name alone, so bulk loaders cache it."""
    text = search_normalize(raw)
    if not text:
        return NameTerms(frozenset(), (), "")
    tokens = {"n" + b for b in _bigrams(text)}
    if not has_cjk(text):
        return NameTerms(frozenset(tokens), (text,), text)
    read = syllables(text)
    full, initials = "".join(read), pinyin_initials(read)
    tokens.update("j" + a + b for a, b in pairwise([*read, END]))
    tokens.update("k" + t for t in _trigrams(initials + END))
    return NameTerms(frozenset(tokens), (text, full, initials), full)


@lru_cache(maxsize=100_000)
def _word_syllables(word: str) -> tuple[str, ...]:
    return tuple(pinyin_syllables(word))


@lru_cache(maxsize=200_000)
def _text_syllables(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for word in pypinyin_seg(text):
        out.extend(_word_syllables(word))
    return tuple(out)


def fast_syllables(text: str) -> list[str]:
    """Exactly ``pinyin_syllables(text)`` for normalised text, many times faster on names.

    pypinyin cuts text into dictionary words and reads each word on its own, so cutting with
    its own segmenter and caching each word's reading gives the same syllables; the slow part
    (reading a word) is then done once per distinct word instead of once per name.
    """
    return list(_text_syllables(text))


@lru_cache(maxsize=262_144)
def cached_name_terms(raw: str) -> NameTerms:
    """``name_terms`` once per distinct name, for bulk writers: contact and short names repeat."""
    return name_terms(raw, fast_syllables)


def document(
    names: Iterable[str],
    phones: Iterable[str],
    *,
    terms: Callable[[str], NameTerms] = name_terms,
) -> tuple[set[str], str, str]:
    """(tokens, search_blob, name pinyin) for a customer's names and contact numbers.

    The first name given is the full legal name; its pinyin is what list pages sort by.
    ``terms`` must give what ``name_terms`` gives; bulk loaders pass a cached one.
    """
    tokens: set[str] = set()
    parts: list[str] = []
    first_pinyin = ""
    for raw in names:
        found = terms(raw)
        tokens |= found.tokens
        parts += found.parts
        first_pinyin = first_pinyin or found.pinyin
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
    digits = _PHONE_PUNCT.sub("", q)
    if digits.isdigit():
        if len(digits) == 4:
            return [Alternative(("t" + digits,), True)]
        if len(digits) >= 7:
            try:
                return [Alternative(("m" + normalize_phone(q),), True)]
            except ValidationFailed:
                pass
    text = search_normalize(q)
    if len(text) < 2:
        return []
    found = [Alternative(tuple("n" + b for b in sorted(_bigrams(text))), len(text) == 2)]
    if text.isascii() and text.isalpha():
        if len(text) == 2:
            # Initials that contain these two letters: the windows starting with them.
            found.append(Alternative(("k" + text + PREFIX,), True))
        else:
            found.append(Alternative(tuple("k" + t for t in sorted(_trigrams(text))), len(text) == 3))
        syllables = split_pinyin(text)
        if syllables and len(syllables) >= 2:
            pairs = tuple(sorted({"j" + a + b for a, b in pairwise(syllables)}))
            found.append(Alternative(pairs, len(syllables) == 2 and "".join(syllables) == text))
        elif syllables and len(syllables[0]) > 1:
            # One syllable: the pairs it starts. ``xian`` also reaches xiang…; that is what the
            # name's pinyin contains, so the blob would agree and no check is needed.
            found.append(Alternative(("j" + syllables[0] + PREFIX,), True))
    return found


def _is_range(term: str) -> bool:
    return term.endswith(PREFIX)


def _bounds(term: str) -> tuple[str, str]:
    """Key range of a ``prefix*`` term. Tokens continue with ASCII letters or ``_``, all below ``~``;
    PostgreSQL compares the column with the C collation so this holds there too."""
    prefix = term[:-1]
    return prefix, prefix + "~"


def _terms_q(terms: Iterable[str]) -> Q:
    """Rows of the token table carrying any of ``terms`` (tokens or key ranges)."""
    terms = list(terms)
    exact = [t for t in terms if not _is_range(t)]
    parts = [Q(token__in=exact)] if exact else []
    parts += [Q(token__gte=low, token__lt=high) for low, high in (_bounds(t) for t in terms if _is_range(t))]
    q = parts[0]
    for part in parts[1:]:
        q |= part
    return q


def _terms_sql(table: str, terms: Sequence[str]) -> tuple[str, list[str]]:
    """The same condition as ``_terms_q`` as SQL on ``table``, for the counting join."""
    parts: list[str] = []
    params: list[str] = []
    exact = [t for t in terms if not _is_range(t)]
    if exact:
        parts.append(f"{table}.token IN ({', '.join(['%s'] * len(exact))})")
        params += exact
    for term in terms:
        if _is_range(term):
            parts.append(f"({table}.token >= %s AND {table}.token < %s)")
            params += list(_bounds(term))
    return "(" + " OR ".join(parts) + ")", params


def query_token_sets(q: str) -> list[list[str]]:
    """Alternative token sets for a query; a customer matching all tokens of any set is a candidate."""
    return [list(alt.tokens) for alt in _alternatives(q)]


# Counts of common tokens (the expensive ones to count, and the steadiest) are kept a while per
# process. They only steer which token drives, never which customers match, so a stale entry
# can cost time but not a wrong answer; rare tokens are always counted afresh.
_common: dict[str, tuple[int, int, float]] = {}  # token -> (count, counted up to, when)
COMMON_TTL = 600.0


def _frequencies(tokens: Iterable[str], cap: int) -> dict[str, int]:
    """How many postings each term has (a customer may have several in a key range), counted no
    further than ``cap``: one cheap index read."""
    now = time.monotonic()
    tokens = set(tokens)
    out: dict[str, int] = {}
    for token in tokens:
        known = _common.get(token)
        if known and now - known[2] < COMMON_TTL and known[1] >= cap:
            out[token] = min(known[0], cap)
    todo = sorted(tokens - set(out))
    if todo:
        table = CustomerSearchToken._meta.db_table
        probes: list[str] = []
        params: list[str] = []
        for token in todo:
            if _is_range(token):
                where = "token >= %s AND token < %s"
                params += list(_bounds(token))
            else:
                where = "token = %s"
                params.append(token)
            probes.append(f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {where} LIMIT {int(cap)}) AS f)")
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(probes), params)
            row = cursor.fetchone()
        for token, n in zip(todo, row, strict=True):
            out[token] = int(n)
            if n >= FREQUENCY_CAP:
                if len(_common) >= 20_000:
                    _common.clear()
                _common[token] = (int(n), cap, now)
    return out


class _Probe(Exists):
    """``EXISTS (a driving token for this customer)``: for common tokens, so a page walks the
    customers in list order and stops after a page instead of collecting every posting."""

    def __init__(self, drivers: Sequence[str]) -> None:
        self.drivers = tuple(drivers)
        super().__init__(CustomerSearchToken.objects.filter(_terms_q(self.drivers), customer_id=OuterRef("pk")))

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        # OFFSET 0 keeps PostgreSQL from turning the probe into a semi-join: it stays a cheap
        # per-row check on the id-ordered walk, and the planner does not have to fit one more
        # relation into the page's joins (that alone cost 10 ms of planning per page).
        sql, params = self.as_sql(compiler, connection, **extra)
        if sql.endswith("LIMIT 1)"):
            sql = sql[:-1] + " OFFSET 0)"
        return sql, params


class _AmongPostings(Expression):
    """``id IN (customers carrying a rare driving token)``: few postings, collected once
    (``postings``: the customer ids, see ``_postings``).

    On PostgreSQL written ``id = ANY(ARRAY(…))``, an array computed once (an InitPlan) rather
    than a semi-join: the same rows, and the planner does not weigh one more relation against
    the page's joins.
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, postings: QuerySet[CustomerSearchToken]) -> None:
        super().__init__()
        self.column: Any = F("pk")
        self.postings: Any = Subquery(postings)

    def get_source_expressions(self) -> list[Any]:
        return [self.column, self.postings]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.column, self.postings = exprs

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        column, column_params = compiler.compile(self.column)
        postings, postings_params = compiler.compile(self.postings)  # "(SELECT …)"
        return f"{column} IN {postings}", (*column_params, *postings_params)

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        column, column_params = compiler.compile(self.column)
        postings, postings_params = compiler.compile(self.postings)
        return f"{column} = ANY(ARRAY{postings})", (*column_params, *postings_params)


def search_filter(q: str) -> Q:
    """A filter on Customer for the search text ``q`` (empty query: no filter).

    The rarest token of each reading of the query drives (frequencies are read from the index,
    capped, in one query); when that token alone does not prove a match, the candidates are
    checked against the search blob. ``capped_count`` recognises the filter and counts along
    the index instead of walking the customers.
    """
    q = (q or "").strip()[:MAX_QUERY_LENGTH]
    if not q:
        return Q()
    alternatives = _alternatives(q)
    if not alternatives:
        # One character: too short for the index; a name prefix is still cheap and useful.
        return Q(name__startswith=q) | Q(short_name__startswith=q)
    freq = _frequencies((t for alt in alternatives for t in alt.tokens), FREQUENCY_CAP)
    tied = [t for alt in alternatives if len(alt.tokens) > 1 and min(freq[x] for x in alt.tokens) >= FREQUENCY_CAP
            for t in alt.tokens]
    if tied:
        # Several common tokens: which one is rarest decides how many rows a count walks
        # (鲜酒 is seven times rarer than 海鲜), so count a little further to tell them apart.
        freq.update(_frequencies(tied, RANKING_CAP))
    needle = search_normalize(q)
    drivers: list[Driver] = []
    postings = 0
    exact = True
    for alt in alternatives:
        if min(freq[t] for t in alt.tokens) == 0:
            continue  # a token nobody has: this reading cannot match
        ranked = sorted(alt.tokens, key=lambda t: (freq[t], -len(t)))
        driver: Driver = (ranked[0],)
        found_here = freq[ranked[0]]
        alt_exact = alt.exact and len(alt.tokens) == 1
        if not alt_exact and found_here <= SMALL and not _any_match(ranked[0], needle):
            # A reading that matches nobody (``zhang`` read as initials): checking its few
            # candidates now keeps the blob check off the readings that do match.
            continue
        if len(ranked) > 1 and found_here >= FREQUENCY_CAP and _may_be_rare_together(ranked[:2], freq):
            # Two common tokens (kjhg, kxjh for ``xjhg``) are often rare together: then collect
            # the customers carrying both instead of walking the list until a page of them
            # turns up (a few hundred matches in a million meant walking ~40,000 customers).
            shared = _shared_count(ranked[0], ranked[1], PAIR_BELOW)
            if shared == 0:
                continue
            if shared < PAIR_BELOW:
                driver, found_here = (ranked[0], ranked[1]), shared
        drivers.append(driver)
        postings += found_here
        exact = exact and alt_exact
    if not drivers:
        return Q(pk__in=[])
    found = _driven_by(drivers, postings)
    if not exact:
        found &= _blob_has(needle)
    return found


Driver = tuple[str, ...]  # the tokens a driving set of customers carries: one, or two rare together


_span: tuple[int, float] | None = None  # (highest customer id, when read)


def _may_be_rare_together(tokens: Sequence[str], freq: dict[str, int]) -> bool:
    """Whether two tokens could be shared by fewer than PAIR_BELOW customers, judged as if they
    were independent (neighbouring windows are not, so this only rules out the clear cases, e.g.
    广州 and 州市, which would cost a count of a thousand shared customers for nothing)."""
    global _span
    now = time.monotonic()
    if _span is None or now - _span[1] > COMMON_TTL:
        _span = (Customer.objects.aggregate(top=Max("pk"))["top"] or 1, now)
    first, second = tokens
    return freq[first] * freq[second] / max(_span[0], 1) < PAIR_BELOW / 2


def _shared_count(first: str, second: str, cap: int) -> int:
    """How many customers carry both terms, counted no further than ``cap``."""
    return _postings([first], second)[:cap].count()


def _postings(first: Iterable[str], *others: str) -> QuerySet[Any, Any]:
    """Ids of the customers carrying any of the ``first`` terms and each of the ``others`` (the
    first terms' postings, confirmed through the ``(customer, token)`` index)."""
    postings = CustomerSearchToken.objects.filter(_terms_q(first))
    for term in others:
        postings = postings.filter(
            Exists(CustomerSearchToken.objects.filter(_terms_q([term]), customer_id=OuterRef("customer_id")))
        )
    return postings.values("customer_id")


def _driven_by(drivers: list[Driver], postings: int) -> Q:
    """The customers carrying a driver, in the shape that reads fewest rows for a page.

    Common tokens: walk the customers in list order and probe the index (a page stops early).
    Rare ones (or pairs rare together): collect the few postings first. On PostgreSQL the middle
    band is left to the planner as a semi-join (postings read backwards in id order, 25 rows
    fetched), which costs a fixed ~15 ms of planning next to the page's joins but beats both
    other shapes there.
    """
    if postings >= FREQUENCY_CAP:
        # A pair's first token alone finds a superset; the blob check that follows every
        # inexact reading (a pair is one) keeps the result exact.
        return Q(_Probe([driver[0] for driver in drivers]))
    singles = [driver[0] for driver in drivers if len(driver) == 1]
    groups = ([_postings(singles)] if singles else []) + [
        _postings([driver[0]], *driver[1:]) for driver in drivers if len(driver) > 1
    ]
    found = Q()
    for group in groups:
        if connection.vendor == "postgresql" and postings >= PG_ARRAY_BELOW:
            found |= Q(pk__in=group)
        else:
            found |= Q(_AmongPostings(group))
    return found


def _blob_has(needle: str) -> Q:
    # INSTR/STRPOS: a plain substring test, cheaper than LIKE on Chinese text.
    return Q(GreaterThan(StrIndex("search_blob", Value(needle)), 0))


def _any_match(token: str, needle: str) -> bool:
    postings = CustomerSearchToken.objects.filter(_terms_q([token])).values("customer_id")
    return Customer.objects.filter(_blob_has(needle), pk__in=postings).exists()


def _take_probe(node: Any) -> tuple[str, ...] | None:
    """Remove a common-word search probe ANDed into a (cloned) WHERE tree; its driving tokens."""
    if node.connector != AND or node.negated:
        return None
    for child in node.children:
        if isinstance(child, WhereNode):
            found = _take_probe(child)
            if found:
                return found
        elif isinstance(child, Lookup) and isinstance(child.lhs, _Probe):  # filter(Exists) is Exact(…, True)
            node.children.remove(child)
            return child.lhs.drivers
    return None


def _may_repeat(drivers: Sequence[str]) -> bool:
    """A customer may carry more than one driving token (several drivers, or a key range)."""
    return len(drivers) > 1 or any(_is_range(t) for t in drivers)


def _empty(node: Any) -> bool:
    return all(isinstance(child, WhereNode) and _empty(child) for child in node.children)


def capped_count(qs: QuerySet[Customer], cap: int | None = None) -> tuple[int, bool]:
    """(count, more) where counting stops at ``cap`` so a common word cannot slow a page down.

    A common-word search is counted along its driving tokens' postings instead of walking the
    customers: joined to the customers when other conditions (scope, filters, the blob check)
    apply, straight from the index when none do.
    """
    cap = cap or settings.PEARL_SEARCH_COUNT_CAP
    counted = qs.order_by().values("pk")
    drivers = _take_probe(counted.query.where)  # the join below replaces the probe
    if drivers and _empty(counted.query.where) and counted.query.alias_refcount.get(
        Customer._meta.db_table, 0
    ) <= 1 and len([a for a, n in counted.query.alias_refcount.items() if n]) <= 1:
        postings = CustomerSearchToken.objects.filter(_terms_q(drivers)).values("customer_id")
        n = (postings.distinct() if _may_repeat(drivers) else postings)[: cap + 1].count()
        return min(n, cap), n > cap
    if drivers:
        table = CustomerSearchToken._meta.db_table
        condition, params = _terms_sql(table, drivers)
        counted = counted.extra(
            tables=[table],
            where=[f"{table}.customer_id = {Customer._meta.db_table}.id", condition],
            params=params,
        )
        if _may_repeat(drivers):
            counted = counted.distinct()
    n = counted[: cap + 1].count()
    return min(n, cap), n > cap
