"""What the databases say was done, against what the client was told; and the "Show" table.

Per fault: requests sent (HTTP attempts), answers by status, records *lost* (answered as done,
not in the database), records *applied twice* (one request, more than one record), the worst
answer time. The numbers are counted in the services' own databases.
"""
from __future__ import annotations

import collections
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.faults.load import Ledger, key_in_progress
from tests.faults.settings import ANSWER_LIMIT, DEADLINE
from tests.faults.topology import Topology

FORBIDDEN_LOG_LINES = ("committed without recording its reply",)   # as tests/integration/harness.py
UNEXPECTED_LOG_LINES = ("unhandled error in",)                         # what a caller sees as a 500


@dataclass
class Counts:
    lost: list[str] = field(default_factory=list)
    twice: list[str] = field(default_factory=list)
    done_after_503: list[str] = field(default_factory=list)     # answered only 5xx, yet carried out
    own_conflicts: list[str] = field(default_factory=list)      # a create answered 409 (all phones are unique)
    converted: list[str] = field(default_factory=list)          # lead ids converted in the leads database

    def add(self, other: "Counts") -> "Counts":
        for name in ("lost", "twice", "done_after_503", "own_conflicts", "converted"):
            getattr(self, name).extend(getattr(other, name))
        return self


def count_creates(topo: Topology, ledger: Ledger, conflicts_expected: bool = False) -> Counts:
    """``conflicts_expected``: the test sends duplicates on purpose (a 409 is not noted)."""
    counts = Counts()
    rows = topo.rows("leads", "SELECT id, name, status FROM leads WHERE name LIKE :p", p=f"F{ledger.tag} %")
    by_name = collections.defaultdict(list)
    for row in rows:
        by_name[row.name].append(row.id)
        if row.status == "converted":
            counts.converted.append(row.id)
    for op in ledger.creates():
        ids = by_name.get(op.name, [])
        answered = op.done_ids()
        if len(ids) > 1 or len(answered) > 1:
            counts.twice.append(f"{op.name}: {len(ids)} leads {ids}, answered {sorted(answered)}")
        if answered and not set(answered) <= set(ids):
            counts.lost.append(f"{op.name}: answered 201 {sorted(answered)}, database has {ids}")
        if ids and not answered and all(isinstance(a.status, int) and a.status >= 500 or not isinstance(a.status, int)
                                        for a in op.attempts):
            counts.done_after_503.append(f"{op.name}: answered {[a.status for a in op.attempts]}, exists {ids}")
        for attempt in op.attempts:
            if attempt.status == 409 and not conflicts_expected and not key_in_progress(attempt):
                detail = json.dumps(attempt.body)[:300] if attempt.body else ""
                own = " (its own lead)" if any(i in detail for i in ids) else ""
                counts.own_conflicts.append(f"{op.name}: 409{own} {detail}")
    converted = set(counts.converted)
    for op in ledger.converts():
        statuses = [a.status for a in op.attempts]
        if 200 in statuses and op.name not in converted:
            counts.lost.append(f"conversion of {op.name}: answered 200, lead not converted")
        if 200 not in statuses and op.name in converted and statuses[0] not in (409,):
            counts.done_after_503.append(f"conversion of {op.name}: answered {statuses}, lead converted")
    return counts


def count_customers(topo: Topology, lead_ids: list[str], timeout: float = 60) -> Counts:
    """Every converted lead gets exactly one customer with exactly one contact, and shows it: waits
    up to ``timeout`` for the events to get through."""
    counts = Counts()
    if not lead_ids:
        return counts

    def pending() -> set[str]:
        have = {r.source_lead_id for r in topo.rows(
            "customers", "SELECT DISTINCT source_lead_id FROM customers WHERE source_lead_id = ANY(:ids)",
            ids=lead_ids)}
        linked = {r.id for r in topo.rows(
            "leads", "SELECT id FROM leads WHERE id = ANY(:ids) AND customer_id IS NOT NULL AND contact_id IS NOT NULL",
            ids=lead_ids)}
        return set(lead_ids) - (have & linked)

    deadline = time.monotonic() + timeout
    missing = pending()
    while missing and time.monotonic() < deadline:
        time.sleep(0.5)
        missing = pending()
    for lead_id in sorted(missing):
        counts.lost.append(f"converted lead {lead_id}: no customer (or not linked) after {timeout:.0f}s")
    customers = collections.Counter(r.source_lead_id for r in topo.rows(
        "customers", "SELECT source_lead_id FROM customers WHERE source_lead_id = ANY(:ids)", ids=lead_ids))
    contacts = collections.Counter(r.source_lead_id for r in topo.rows(
        "customers", "SELECT c.source_lead_id FROM contacts ct JOIN customers c ON c.id = ct.customer_id "
        "WHERE c.source_lead_id = ANY(:ids)", ids=lead_ids))
    for lead_id in lead_ids:
        if customers[lead_id] > 1 or contacts[lead_id] > 1:
            counts.twice.append(f"lead {lead_id}: {customers[lead_id]} customers, {contacts[lead_id]} contacts")
    return counts


def statuses_of(op) -> str:
    """An op's answers in order, long runs shortened: ``503, 201, 201`` or ``503 x61, 201``."""
    runs: list[list] = []
    for attempt in op.attempts:
        if runs and runs[-1][0] == attempt.status:
            runs[-1][1] += 1
        else:
            runs.append([attempt.status, 1])
    return ", ".join(f"{s} x{n}" if n > 2 else ", ".join([str(s)] * n) for s, n in runs)


def unpublished_outbox(topo: Topology, services=("leads", "customers")) -> dict[str, int]:
    return {s: topo.rows(s, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")[0].n for s in services}


def log_lines(topo: Topology, mark: dict, needles=FORBIDDEN_LOG_LINES) -> list[str]:
    """Lines logged since ``mark`` (:meth:`Topology.log_mark`) that contain one of ``needles``."""
    return [f"{name}: {line[:300]}" for name, line in topo.logs_since(mark)
            if any(text in line for text in needles)]


# --------------------------------------------------------------------------
# the Show table
# --------------------------------------------------------------------------
@dataclass
class Row:
    fault: str
    requests: int = 0
    statuses: dict = field(default_factory=dict)
    lost: int = 0
    twice: int = 0
    worst: float = 0.0
    notes: str = ""
    outcome: str = "?"          # passed / failed, set at the end of the test

    def status_text(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items(), key=lambda kv: str(kv[0]))) or "-"


class Report:
    def __init__(self):
        self.rows: list[Row] = []
        self.paths: list[Path] = []
        self.details: list[tuple[str, str]] = []     # (fault, example of what went wrong)

    def record(self, fault: str, ledger: Ledger | None, counts: Counts, notes: str = "") -> Row:
        statuses = collections.Counter(ledger.statuses()) if ledger else collections.Counter()
        row = Row(fault, requests=len(ledger.attempts()) if ledger else 0,
                  statuses=dict(statuses), lost=len(counts.lost), twice=len(counts.twice),
                  worst=round(ledger.worst(), 2) if ledger else 0.0, notes=notes)
        details = counts.lost[:3] + counts.twice[:3] + counts.done_after_503[:3] + counts.own_conflicts[:3]
        if counts.done_after_503:
            row.notes += f"; {len(counts.done_after_503)} request(s) answered only 5xx yet carried out"
        if counts.own_conflicts:
            row.notes += f"; {len(counts.own_conflicts)} create(s) answered 409"
        held = sum(1 for op in (ledger.ops if ledger else []) for a in op.attempts if key_in_progress(a))
        if held:
            row.notes += f"; {held} retry(ies) told 409 in progress (key held by an attempt the fault cut off)"
        if row.worst > ANSWER_LIMIT:
            row.notes += f"; worst answer over {ANSWER_LIMIT:.1f}s"
        row.notes = row.notes.strip("; ")
        self.details += [(fault, item) for item in details]
        self.rows.append(row)
        return row

    def markdown(self) -> str:
        lines = [
            "| fault | requests | answers by status | lost | applied twice | worst answer (s) | result | notes |",
            "|---|---:|---|---:|---:|---:|---|---|",
        ]
        for r in self.rows:
            lines.append(f"| {r.fault} | {r.requests} | {r.status_text()} | {r.lost} | {r.twice} | {r.worst:.2f} | "
                         f"{r.outcome} | {r.notes.replace('|', '/')} |")
        lines.append("")
        lines.append(f"RPC deadline (RPC_TIMEOUT_SECONDS) {DEADLINE:g} s; an answer counts as in time up to "
                     f"{ANSWER_LIMIT:g} s.")
        if self.details:
            lines += ["", "Examples (what went wrong, or was told 5xx yet done):", ""]
            lines += [f"- {fault}: {item}" for fault, item in self.details]
        return "\n".join(lines) + "\n"

    def write(self, *paths: Path) -> list[Path]:
        written = []
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.with_suffix(".md").write_text("# Fault suite\n\n" + self.markdown())
            path.with_suffix(".json").write_text(json.dumps([asdict(r) for r in self.rows], indent=2, default=str))
            written.append(path.with_suffix(".md"))
        self.paths = written
        return written
