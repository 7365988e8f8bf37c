"""The Chinese catalogue: no entry left fuzzy (gettext ignores those, and makemessages' fuzzy guesses
are often another word — 订单 “matched” to 排序) and none untranslated."""

from __future__ import annotations

import re
from pathlib import Path

PO = Path(__file__).resolve().parent.parent / "pearl" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _entries() -> list[str]:
    return PO.read_text(encoding="utf-8").split("\n\n")[1:]  # the first block is the header


def test_no_entry_is_fuzzy() -> None:
    fuzzy = [e for e in _entries() if re.search(r"^#,.*\bfuzzy\b", e, re.M)]
    assert not fuzzy, "fuzzy entries (translate them and drop the flag):\n" + "\n\n".join(fuzzy[:5])


def test_every_entry_is_translated() -> None:
    blank = re.compile(r'^msgstr(\[0\])? ""$(?!\n")', re.M)
    empty = [e for e in _entries() if not e.startswith("#~") and blank.search(e)]
    assert not empty, "untranslated entries:\n" + "\n\n".join(empty[:5])


def test_the_header_says_chinese_has_one_plural_form() -> None:
    """Without ``Plural-Forms: nplurals=1`` gettext picks msgstr[1] for "28 unread", which does not exist,
    and shows the English (a catalogue merge once dropped the header)."""
    header = PO.read_text(encoding="utf-8").split("\n\n")[0]
    assert '"Plural-Forms: nplurals=1; plural=0;\\n"' in header and '"Language: zh_Hans\\n"' in header


def test_a_plural_message_comes_out_in_chinese() -> None:
    from django.utils import translation
    from django.utils.translation import ngettext

    with translation.override("zh-hans"):
        assert ngettext("%(n)s unread", "%(n)s unread", 28) % {"n": 28} == "28 条未读"
