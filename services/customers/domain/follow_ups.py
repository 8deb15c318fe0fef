"""Follow-up activities (跟进记录) of a customer: their kinds, and what recording one does to the
customer (seed 004: "最后跟进时间: 根据客户跟进更新最后跟进时间"; the next contact time becomes the
owner's reminder, "设置下次联系时间并添加到自己的日程当中")."""
from __future__ import annotations

import datetime as dt

FOLLOW_UP_KINDS = ("call", "email", "visit", "sms", "meeting", "event", "other")


def followed_up(customer, now: dt.datetime, next_contact_at: dt.datetime | None) -> None:
    """A follow-up was recorded ``now``: it is the customer's last (it restarts the recycle rules'
    no-follow-up clock), and its next contact time replaces the one before (``None`` clears it: the
    contact that was due has happened)."""
    customer.last_followed_at = now
    customer.next_contact_at = next_contact_at
