"""What every sales page shares: the page gate, rendering in the 销售 section, paging."""

from __future__ import annotations

import functools
from typing import Any

from django.utils.translation import gettext as _

from pearl.core.pages import page_view, render_page

ERROR_TEMPLATE = "sales/error.html"

# Login required; a missing / out-of-scope record is a 404 page, a denied action a 403 page.
page = page_view(error_template=ERROR_TEMPLATE)
render = functools.partial(render_page, nav="sales")


def count_text(count: int, capped: bool, exact: str) -> str:
    """``exact`` is the caller's ngettext (so the messages are extracted), used unless the count stopped."""
    if capped:
        return _("%(n)s+ found") % {"n": f"{count:,}"}
    return exact % {"n": f"{count:,}"}


def labelled(errors: dict[str, list[Any]], fields: dict[str, Any]) -> list[str]:
    return [
        f"{fields[key].label if key in fields else key}: {message}"
        for key, messages in errors.items()
        for message in messages
    ]
