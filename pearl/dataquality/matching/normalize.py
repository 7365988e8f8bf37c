"""Chinese-aware normalisation of the values the matcher compares: names, people, phones, addresses.

Every function here is pure and cached where values repeat (region and trade vocabularies, pinyin
per character), because the batch scan runs them on a million records.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import NamedTuple

import opencc
from pypinyin import Style, lazy_pinyin

from pearl.core.errors import ValidationFailed
from pearl.core.phones import normalize_phone
from pearl.core.text import nfkc

from . import regions
from .regions import Region

_converter = opencc.OpenCC("t2s")
_DROP = re.compile(r"[\s·•・,，.。、;；:：'\"“”‘’!！?？/\\|_\-—~～&＆+＋*#@]+")
_OPEN = "([{【〔《「『<"
_CLOSE = ")]}】〕》」』>"
_BRACKETS = str.maketrans({**dict.fromkeys(_OPEN, "("), **dict.fromkeys(_CLOSE, ")")})
_ANY_BRACKET = re.compile("[" + re.escape(_OPEN + _CLOSE) + "]")
_GROUP = re.compile(r"\(([^()]*)\)")

# Legal forms and company-structure words, longest first so 有限责任公司 goes before 公司.
LEGAL_FORMS = (
    "股份有限公司", "有限责任公司", "集团有限公司", "集团股份有限公司", "有限公司", "股份公司", "集团公司",
    "总公司", "分公司", "公司", "集团", "股份", "有限合伙", "个体工商户", "个体户",
)  # fmt: skip
# Trade words: what the business does, not who it is. 广州鑫海海鲜酒楼有限公司 and 鑫海酒楼 share the
# core 鑫海 once these are taken off the end. Each maps to a category; different categories are
# evidence against (鑫海酒楼 vs 鑫海超市), generic words (贸易, 商行) to none.
TRADE_WORDS: dict[str, str] = {
    word: category
    for category, words in (
        ("food", "海鲜酒楼 酒楼 酒家 大酒店 酒店 饭店 餐厅 餐馆 饭馆 食府 大排档 排档 茶餐厅 茶楼 火锅店 火锅 "
                 "餐饮管理 餐饮 烧腊 快餐 面馆 小吃 饮品店 奶茶店"),
        ("seafood", "海鲜 水产品 水产 海产品 海产 冻品 渔业 鱼档 鲜鱼档 海鲜档口 档口 海味 干货 水产品加工 "
                    "冷冻食品 冷冻 生鲜"),
        ("retail", "超市 连锁超市 生鲜超市 生鲜店 水果店 便利店 百货 商场 购物中心 购物广场 小卖部 士多 杂货店 零售"),
        ("fmcg", "食品 食品店 副食品 用品 日化用品 食品加工厂 食品加工 粮油 副食 饮料 酒水 烟酒 调味品 日用品 "
                 "日化 快消品"),
        ("electronics", "电子 电器 数码 设备 通讯设备 电子设备 通讯 通信 手机 电脑 科技 信息技术 网络科技 电子科技 "
                        "家电 电子商务 电商 元器件"),
        ("", "贸易 商贸 商行 实业 批发部 经营部 门市部 批发 商店 工作室 服务部 发展 投资 控股 加工厂 加工 店 厂 行 部"),
    )
    for word in words.split(" ")
}  # fmt: skip
# Spellings of one legal form, and the forms that mark a registered company name.
_LEGAL_SAME = {"有限责任公司": "有限公司", "股份公司": "股份有限公司", "集团有限公司": "有限公司"}
_REGISTERED = frozenset({"有限公司", "股份有限公司", "集团股份有限公司"})
_TRADE_SET = frozenset(TRADE_WORDS)
_TRADE_LENGTHS = tuple(sorted({len(w) for w in TRADE_WORDS}, reverse=True))
_LEGAL_SET = frozenset(LEGAL_FORMS)


def _lengths_by_last(words: frozenset[str]) -> dict[str, tuple[int, ...]]:
    """Last character -> lengths of the words ending in it, longest first (one look-up rules most out)."""
    out: dict[str, set[int]] = {}
    for word in words:
        out.setdefault(word[-1], set()).add(len(word))
    return {last: tuple(sorted(lengths, reverse=True)) for last, lengths in out.items()}


_TRADE_TAILS = _lengths_by_last(_TRADE_SET)
_LEGAL_TAILS = _lengths_by_last(_LEGAL_SET)
_SHOP_SUFFIX = tuple(w for w in TRADE_WORDS if w.endswith("店") and w != "店")
_COMPOUND = "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 端木 南宫 西门 独孤"
COMPOUND_SURNAMES = frozenset(_COMPOUND.split(" "))
MIN_CORE = 2


@cache
def _traditional() -> re.Pattern[str]:
    """Characters opencc changes on their own: text without any is already simplified."""
    chars = [chr(c) for c in range(0x3400, 0xA000)]
    converted = _converter.convert("".join(chars))
    if len(converted) != len(chars):  # a multi-character mapping: fall back to converting everything
        return re.compile(r"[\u3400-\u9fff]")
    # A character class is searched ~2× faster than a set is tested for intersection.
    return re.compile("[" + "".join(a for a, b in zip(chars, converted, strict=True) if a != b) + "]")


def t2s(text: str) -> str:
    """Traditional characters become simplified (廣州鑫海海鮮酒樓 → 广州鑫海海鲜酒楼)."""
    # Most names are already simplified; skipping opencc for them saves most of its cost.
    if not text or not _traditional().search(text):
        return text
    return _converter.convert(text)


def clean(text: str) -> str:
    """Half-width, simplified, lower-case, without spaces or punctuation; brackets become ( )."""
    text = t2s(nfkc(text)).lower()
    # str.translate looks every character up in a dict: only worth it when there is a bracket.
    if _ANY_BRACKET.search(text):
        text = text.translate(_BRACKETS)
    return _DROP.sub("", text)


@cache
def _char_pinyin(char: str) -> str:
    return lazy_pinyin(char, style=Style.NORMAL)[0].lower()


def pinyin(text: str) -> str:
    """Toneless pinyin, one syllable per character, concatenated: 鑫海 and 新海 both give xinhai.

    Per character (not pypinyin's phrase reading, as pearl.core.text.pinyin_syllables does) so a
    homophone typo reads the same whatever its neighbours, and because a cached character look-up is
    ~100× faster than phrase segmentation on a million names.
    """
    return "".join(_char_pinyin(c) if "\u3400" <= c <= "\u9fff" else c for c in text)


# --- company names -------------------------------------------------------------------------


class CompanyName(NamedTuple):  # a NamedTuple: built ~5× faster than a frozen dataclass, a million times
    full: str  # without region, legal form and branch, with trade words: 鑫海海鲜酒楼
    core: str  # the distinctive part: 鑫海
    branch: str  # 五一 for 永辉超市（五一店）
    trades: tuple[str, ...]  # categories of the trade words taken off: ("food", "seafood")
    region: Region  # region named in the name: 广州 → 广东省/广州市
    legal_name: str  # full + legal form when the name is a registered one: 鑫海海鲜酒楼有限公司


def _longest_suffix(text: str, words: frozenset[str], tails: dict[str, tuple[int, ...]]) -> str:
    """The longest word of ``words`` that ends ``text`` leaving at least MIN_CORE characters."""
    size = len(text)
    for length in tails.get(text[-1:], ()):
        if size - length >= MIN_CORE and text[size - length :] in words:
            return text[size - length :]
    return ""


def _strip_legal(text: str) -> tuple[str, str]:
    form = _longest_suffix(text, _LEGAL_SET, _LEGAL_TAILS)
    return (text[: -len(form)], form) if form else (text, "")


def _split_branch(text: str) -> tuple[str, str]:
    """``永辉超市五一店`` → (永辉超市, 五一); shop-type words such as 便利店 are not branches."""
    if text.endswith("分店"):
        head = text[:-2]
    elif text.endswith("店") and not text.endswith(_SHOP_SUFFIX):
        head = text[:-1]
    else:
        return text, ""
    # The branch is what follows the last trade word (超市 in 永辉超市五一); without one it is ambiguous.
    best = -1
    for end in range(len(head), MIN_CORE + 1, -1):
        if any(head[end - length : end] in _TRADE_SET for length in _TRADE_LENGTHS if 2 <= length <= end - MIN_CORE):
            best = end
            break
    if 0 < best < len(head):
        # 钱大妈生鲜店五一店: the shop word's own 店 is not part of the branch name.
        return head[:best], head[best:].lstrip("店")
    return text, ""


def _bracket(content: str) -> tuple[str, str, Region]:
    """Classify bracketed text: a region (（广州）), a trade (（海鲜）) or a branch (（五一店）)."""
    content = _strip_legal(content)[0] if len(content) > 2 else content
    hit = regions.lookup(content)
    if hit is not None:
        return "region", "", hit
    if content in TRADE_WORDS:
        return "trade", content, Region()
    for suffix in ("分店", "店", "分部", "分公司"):
        if content.endswith(suffix) and len(content) > len(suffix):
            content = content[: -len(suffix)]
            break
    if content in LEGAL_FORMS:
        return "legal", "", Region()
    return "branch", content, Region()


@lru_cache(maxsize=200_000)
def parse_company_name(name: str) -> CompanyName:
    text = clean(name)
    region = regions.NOWHERE
    branch = ""
    trade_words: list[str] = []
    if "(" in text or ")" in text:
        for content in _GROUP.findall(text):
            kind, value, hit = _bracket(content)
            if kind == "region":
                region = region.merged(hit)
            elif kind == "trade":
                trade_words.append(value)
            elif kind == "branch" and value:
                branch = value
        text = _GROUP.sub("", text).replace("(", "").replace(")", "")
    # Trailing legal forms, branch markers and region names, until nothing changes
    # (鑫海集团广州分公司 → 鑫海集团广州 → 鑫海集团 → 鑫海).
    legal = ""
    while True:
        before = text
        text, form = _strip_legal(text)
        legal = legal or _LEGAL_SAME.get(form, form)
        text, tail = regions.strip_suffix(text, MIN_CORE)
        region = region.merged(tail)
        if not branch:
            text, branch = _split_branch(text)
        if text == before:
            break
    text, head = regions.strip_prefix(text, MIN_CORE)
    region = region.merged(head)
    full = text
    while True:
        word = _longest_suffix(text, _TRADE_SET, _TRADE_TAILS)
        if not word:
            break
        text = text[: -len(word)]
        trade_words.append(word)
    trades = _categories(tuple(trade_words)) if trade_words else ()
    # The registered name (with its legal form) is unique within its registration region.
    return CompanyName(full, text, branch, trades, region, f"{full}{legal}" if legal in _REGISTERED else "")


@lru_cache(maxsize=4096)
def _categories(trade_words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({TRADE_WORDS[w] for w in trade_words} - {""}))


# --- people ---------------------------------------------------------------------------------


def person_name(name: str) -> str:
    return _GROUP.sub("", clean(name)).replace("(", "").replace(")", "")


def surname(name: str) -> str:
    if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
        return name[:2]
    return name[:1] if name and "\u3400" <= name[0] <= "\u9fff" else ""


# --- phones, emails, WeChat -----------------------------------------------------------------

_MOBILE = re.compile(r"(?:\+?0{0,2}86)?(1[3-9]\d{9})")
_SCIENTIFIC = re.compile(r"^\d(?:\.\d+)?[eE]\+?\d+$")
_PHONE_JUNK = re.compile(r"[\s\-()（）.]+")


@lru_cache(maxsize=100_000)
def phone(raw: str) -> str:
    """Digits of a phone in any format; "" when it is not a phone (bad input counts as missing).

    The common shapes of a mobile (+86 138-0013-8000, 138 0013 8000) are read by a regular
    expression; Excel's 1.38001380000E10 is read as the number it is; anything else goes to
    pearl.core.phones.normalize_phone, the rule the rest of Pearl stores numbers under.
    """
    if raw and len(raw) == 11 and raw.isascii() and raw.isdigit():  # the usual case: 13800138000
        return raw if _MOBILE.fullmatch(raw) else normalize_phone_or_empty(raw)
    text = nfkc(raw).strip()
    if not text:
        return ""
    if _SCIENTIFIC.match(text):
        try:
            text = str(int(Decimal(text)))
        except (InvalidOperation, ValueError):
            return ""
    if text.endswith(".0"):
        text = text[:-2]
    match = _MOBILE.fullmatch(_PHONE_JUNK.sub("", text))
    if match:
        return match.group(1)
    return normalize_phone_or_empty(text)


def normalize_phone_or_empty(text: str) -> str:
    try:
        return normalize_phone(text)
    except ValidationFailed:
        return ""


def email(raw: str) -> str:
    text = nfkc(raw).strip().lower()
    return text if "@" in text and "." in text.rsplit("@", 1)[-1] else ""


def wechat(raw: str) -> str:
    return nfkc(raw).strip().lower().replace(" ", "")


# --- addresses -------------------------------------------------------------------------------

_SUBDISTRICT = re.compile(r"^[\u4e00-\u9fff]{2,6}?(?:街道办事处|街道|镇|乡)(?=.)")
_ROAD = re.compile(
    r"([\u4e00-\u9fffa-z0-9]{1,10}?(?:大道|大街|路|街|巷|道))(?:[东西南北中][段路]?|[一二三四五六七八九十]+[段巷])?"
    r"(\d+)(?:[-之]\d+)?号"
)
# 广州大道, 北京路, 中山路: a region name that starts a road name is part of the road.
_ROAD_WORD = re.compile(r"(?:[东西南北中]?(?:大道|大街|路|街|巷|道))")
_ADMIN_PREFIX = re.compile(r"^.*(?:区|县|镇|乡|街道)")
_ROAD_ONLY = re.compile(r"([\u4e00-\u9fffa-z0-9]{1,10}?(?:大道|大街|路|街|巷))")


class Address(NamedTuple):
    region: Region
    road: str  # 江南大道
    number: str  # 100
    rest: str  # the address after the region names, for a fuzzy comparison when no road is found


@lru_cache(maxsize=100_000)
def parse_address(raw: str) -> Address:
    text = clean(raw).replace("(", "").replace(")", "")
    text, region = regions.strip_prefix(text, 0, not_before=_ROAD_WORD)
    rest = text
    text = _SUBDISTRICT.sub("", text)
    match = _ROAD.search(text)
    if match:
        return Address(region, _road(match.group(1)), match.group(2), rest)
    match = _ROAD_ONLY.search(text)
    return Address(region, _road(match.group(1)) if match else "", "", rest)


def _road(text: str) -> str:
    """The road without a district or town the table did not know in front (莞城区友谊路 → 友谊路)."""
    stripped = _ADMIN_PREFIX.sub("", text)
    return stripped if len(stripped) >= 2 else text
