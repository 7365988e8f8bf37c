"""What every customer page shares: the page gate, and paging from core."""

from __future__ import annotations

from pearl.core.pages import page_view
from pearl.core.paging import PAGE_SIZE, Pager, form_version, page_number, paginate, whole_number

HISTORY_PAGE_SIZE = 30
MAX_CONTACT_ROWS = 30
ERROR_TEMPLATE = "customers/error.html"

# Login required; a missing / out-of-scope record is a 404 page, a denied action a 403 page.
page = page_view(error_template=ERROR_TEMPLATE)

__all__ = ["PAGE_SIZE", "Pager", "form_version", "page", "page_number", "paginate", "whole_number"]
