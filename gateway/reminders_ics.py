"""The caller's reminders as an iCalendar document (RFC 5545), written by hand: a ``VCALENDAR`` of
``VEVENT`` s, each with a ``VALARM`` (a display reminder), so that they land in the user's own
calendar ("设置下次联系时间并添加到自己的日程当中").

- lines end in CRLF and are folded at 75 octets (UTF-8), never inside a character; a continuation
  line starts with one space (RFC 5545 3.1);
- TEXT values escape backslash, semicolon, comma and newlines (3.3.11);
- times are UTC (``YYYYMMDDTHHMMSSZ``); a birthday is an all-day event (``VALUE=DATE``);
- each event's ``UID`` is stable for what it reminds of (a next contact time or a recycle warning
  per record, a birthday per person and year), so a calendar that fetches the feed again updates
  the event it has instead of adding another.
"""
from __future__ import annotations

import datetime as dt

UTC = dt.timezone.utc
PRODID = "-//CRM platform//Reminders//EN"
UID_DOMAIN = "reminders.crm"
LINE_OCTETS = 75
EVENT_MINUTES = 30                      # a timed reminder's length in the calendar
# each kind's alarm, relative to the event's start (a birthday starts at 00:00: 09:00 that day)
ALARMS = {"next_contact": "-PT15M", "recycle_warning": "-P1D", "birthday": "PT9H"}


def escape_text(value) -> str:
    """A TEXT property value (RFC 5545 3.3.11)."""
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def fold(line: str) -> str:
    """One content line, folded into lines of at most 75 octets, each but the last ending in CRLF
    and each continuation beginning with a space; a UTF-8 character is never split."""
    out, current, size = [], [], 0
    for char in line:
        octets = len(char.encode("utf-8"))
        if size + octets > LINE_OCTETS:
            out.append("".join(current))
            current, size = [" "], 1
        current.append(char)
        size += octets
    out.append("".join(current))
    return "\r\n".join(out)


def _utc(value) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _stamp(moment: dt.datetime) -> str:
    return _utc(moment).strftime("%Y%m%dT%H%M%SZ")


def _what(item: dict) -> tuple[str, str, str]:
    """(uid key, summary, description) of one reminder."""
    kind, source = item["kind"], item["source"]
    if source == "leads":
        name, ident, path = item.get("lead_name"), item["lead_id"], f"/api/v1/leads/{item['lead_id']}"
        company = f" ({item['company']})" if item.get("company") else ""
        record = f"lead {name}{company}"
    else:
        name, ident, path = item.get("customer_name"), item["customer_id"], f"/api/v1/customers/{item['customer_id']}"
        record = f"customer {name}"
    if kind == "next_contact":
        return (f"{source}-next-contact-{ident}", f"Contact {record}",
                f"The next contact time set on {record}.\n{path}")
    if kind == "recycle_warning":
        return (f"{source}-recycle-{ident}", f"Recycle: {record} goes back to its pool",
                f"Follow up on {record} before this time, or its pool takes it back.\n{path}")
    if kind == "birthday":
        person = item.get("contact_name") or name
        whose = f"{person} ({name})" if item.get("contact_id") else person
        key = f"{source}-birthday-{ident}-{item.get('contact_id') or '-'}-{_utc(item['due_at']).year}"
        return key, f"Birthday: {whose}", f"Send {person} a birthday greeting.\n{path}"
    return f"{source}-{kind}-{ident}", f"{kind.replace('_', ' ').capitalize()}: {record}", path


def event_lines(item: dict, stamp: dt.datetime) -> list[str]:
    """The content lines (unfolded) of one reminder's VEVENT."""
    key, summary, description = _what(item)
    start = _utc(item["due_at"])
    lines = ["BEGIN:VEVENT", f"UID:{key}@{UID_DOMAIN}", f"DTSTAMP:{_stamp(stamp)}"]
    if item["kind"] == "birthday":
        day = start.date()
        lines += [f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{day + dt.timedelta(days=1):%Y%m%d}",
                  "TRANSP:TRANSPARENT"]
    else:
        lines += [f"DTSTART:{_stamp(start)}", f"DTEND:{_stamp(start + dt.timedelta(minutes=EVENT_MINUTES))}"]
    lines += [f"SUMMARY:{escape_text(summary)}", f"DESCRIPTION:{escape_text(description)}",
              f"CATEGORIES:{escape_text(item['kind'])}",
              "BEGIN:VALARM", "ACTION:DISPLAY", f"TRIGGER:{ALARMS.get(item['kind'], '-PT15M')}",
              f"DESCRIPTION:{escape_text(summary)}", "END:VALARM", "END:VEVENT"]
    return lines


def calendar(items: list[dict], now: dt.datetime) -> str:
    """The VCALENDAR of ``items`` (the merged reminders, each with its ``source``)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{escape_text('CRM reminders')}", "X-PUBLISHED-TTL:PT1H",
             "REFRESH-INTERVAL;VALUE=DURATION:PT1H"]
    seen = set()
    for item in items:
        event = event_lines(item, now)
        if event[1] in seen:        # one event per UID (a calendar refuses two)
            continue
        seen.add(event[1])
        lines += event
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
