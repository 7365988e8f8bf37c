"""Channel events: resolve the customer through identities (and the duplicate matcher), record the
event on the timeline, create a customer when nobody matches; idempotent on (channel, event id).

Resolution, per event:

1. a replay — the channel and event id were recorded before (or earlier in the batch) — writes
   nothing and answers the customer of the first time;
2. the identifiers, normalised as the customer services store identities (mobile digits, email
   lower-case, WeChat id trimmed, external id as ``<channel>:<id>``), looked up all at once; when
   they name different customers the first in the order external_id > mobile > wechat > email
   wins and the others are reported as ``conflicts``;
3. an event naming a company (payload ``company``) lands on the company of that legal name;
4. the duplicate matcher, asked with what the payload says (name, company, identifiers), when the
   event names someone: a match in its duplicate band is landed on;
5. otherwise a new customer (a prospect owned by the caller): unmatched events of one batch sharing
   an identifier become one customer; except when every one of them is a ``lead`` event (someone
   asking to buy): then they land on the open lead of the same mobile, email or WeChat id, or become
   one new lead, assigned by the assignment rules, and each message is kept on it as an inquiry.

An event that landed on an existing customer gives it the identifiers nobody held yet (identity
stitching): a channel's external id always, a mobile, email or WeChat id only into that empty field
of the contact the event is about, never overwriting. Later events of the same batch carrying one of
them land there too, before any new customer is considered.

Resolution is global (identities are unique system-wide); the answer names a customer outside the
caller's scope by its id only.
"""

from pearl.integrations.services.clean import PAYLOAD_LIMIT, PRECEDENCE
from pearl.integrations.services.ingest import MAX_BATCH, EventResult, event_record, event_record_many

__all__ = ["MAX_BATCH", "PAYLOAD_LIMIT", "PRECEDENCE", "EventResult", "event_record", "event_record_many"]
