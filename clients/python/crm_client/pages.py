"""Keyset pages as one iterator: a list operation answers ``{"items": [...], "next_cursor": ...}``
and the next page is asked for with ``cursor=<next_cursor>`` (the same filters, the same limit),
until ``next_cursor`` is null. Page 1000 costs what page 1 costs, so iterating a long list is fine.

    for lead in client.leads.list(status="pending"):   # every pending lead, page by page
        ...
    first_ten = client.leads.list(limit=10).first_page()["items"]
"""
from __future__ import annotations

from typing import Any, Callable, Generic, Iterator, TypeVar

T = TypeVar("T")
Fetch = Callable[[dict[str, Any]], dict[str, Any]]


class CursorLoop(RuntimeError):
    """The server gave back the cursor it was sent: following it would never end."""


class Pages(Generic[T]):
    """The items of a list operation, across its pages, fetched lazily as they are consumed.

    Iterating again starts again from the first page (a new request). ``limit`` is the page size
    (at most 200); ``cursor`` starts from a page a previous listing stopped at."""

    def __init__(self, fetch: Fetch, params: dict[str, Any]):
        self._fetch = fetch
        self._params = {k: v for k, v in params.items() if v is not None}
        self.next_cursor: str | None = None  # after iterating: where the last page fetched said to go on

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.get("items") or []

    def pages(self) -> Iterator[dict[str, Any]]:
        """Each page as the API answered it (``items``, ``next_cursor``)."""
        params = dict(self._params)
        seen: set[str] = set()
        while True:
            page = self._fetch(dict(params))
            yield page
            cursor = page.get("next_cursor")
            self.next_cursor = cursor
            if not cursor:
                return
            if cursor in seen or cursor == params.get("cursor"):
                raise CursorLoop(f"the server answered a cursor already followed: {cursor!r}")
            seen.add(cursor)
            params["cursor"] = cursor

    def first_page(self) -> dict[str, Any]:
        """One request: the first page only."""
        return self._fetch(dict(self._params))

    def all(self) -> list[T]:
        """Every item of every page, in a list (mind the size of what you ask for)."""
        return list(self)
