"""Chinese-aware text normalisation shared by validation, search and (later) duplicate matching."""

from __future__ import annotations

import re
import unicodedata

from pypinyin import Style, lazy_pinyin

_SPACES = re.compile(r"\s+")
_BRACKETS = re.compile(r"[()\[\]{}<>（）【】〔〕《》「」『』]")
_PUNCT = re.compile(r"[\s·•・,，.。、;；:：'\"“”‘’!！?？/\\|_\-—~～&＆+＋*#@]+")
# Legal-form variants that mean the same company: 有限责任公司 is the long form of 有限公司.
_LEGAL_FORM_VARIANTS = (("有限责任公司", "有限公司"),)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_control(text: str) -> str:
    """Drop control characters (NUL cannot even be stored by PostgreSQL); keep tabs and newlines."""
    return _CONTROL.sub("", text)


def nfkc(text: str) -> str:
    """Full-width letters, digits and brackets become half-width; compatibility forms fold."""
    return unicodedata.normalize("NFKC", strip_control(text or ""))


def fold_width(text: str) -> str:
    """Full-width letters and digits become ASCII; Chinese punctuation such as （） stays as typed."""
    return "".join(
        chr(ord(c) - 0xFEE0)
        if "\uff10" <= c <= "\uff19" or "\uff21" <= c <= "\uff3a" or "\uff41" <= c <= "\uff5a"
        else c
        for c in text
    )


def clean_spaces(text: str) -> str:
    """Collapse any run of spaces (incl. the ideographic space) and fold full-width letters/digits."""
    return _SPACES.sub(" ", fold_width(strip_control(text or "")).replace("\u3000", " ")).strip()


def normalize_company_name(name: str) -> str:
    """The key under which two spellings of one legal name are the same.

    ``广州鑫海（海鲜）有限责任公司`` and ``广州 鑫海(海鲜)有限公司`` give the same key.
    """
    text = nfkc(name).lower()
    text = _SPACES.sub("", text)
    text = _BRACKETS.sub("", text)
    for long, short in _LEGAL_FORM_VARIANTS:
        text = text.replace(long, short)
    return text


def search_normalize(text: str) -> str:
    """Lower-case, half-width, with spaces and punctuation removed: the form search compares."""
    return _PUNCT.sub("", _BRACKETS.sub("", nfkc(text).lower()))


def is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def has_cjk(text: str) -> bool:
    return any(is_cjk(c) for c in text)


def _split_foreign(text: str) -> list[str]:
    return list(text)


def pinyin_syllables(text: str) -> list[str]:
    """Toneless pinyin per Chinese character; runs of letters/digits stay as one word.

    pypinyin reads whole phrases so polyphones follow their word (重庆 → chong qing).
    """
    text = search_normalize(text)
    if not text:
        return []
    # Non-Chinese characters come back one per item, so "ABC店" → a, b, c, dian.
    return [s.lower() for s in lazy_pinyin(text, style=Style.NORMAL, errors=_split_foreign)]  # type: ignore[arg-type]  # a list is allowed at run time


def pinyin_initials(syllables: list[str]) -> str:
    return "".join(s[0] for s in syllables if s)
