"""The fault suite's fixtures: its own servers, one ``make up`` topology for the session, and the
"Show" table (``var/faults/report.md``, a copy under the pytest tmp dir, and printed at the end).
Knobs: ``tests/faults/settings.py``."""
from __future__ import annotations

import atexit
import collections
import signal
from pathlib import Path

import pytest

from tests.faults import checks
from tests.faults.checks import Counts, Report, log_lines
from tests.faults.load import Ledger
from tests.faults.servers import Servers, missing_tools
from tests.faults.settings import ANSWER_LIMIT, ROUNDS
from tests.faults.topology import Topology

REPO = Path(__file__).resolve().parents[2]
REPORT = Report()
_TMP: list[Path] = []


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")    # so that the fixtures' finalizers stop the servers


@pytest.fixture(scope="session")
def servers():
    why = missing_tools()
    if why:
        pytest.skip(f"fault suite: {why}")
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)
    started = Servers()
    atexit.register(started.close)          # pytest dying on an exception still cleans up
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(scope="session")
def topology(servers, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("faults")
    _TMP.append(workdir)
    topo = Topology(servers, workdir)
    try:
        topo.up()
        yield topo
    finally:
        topo.down()


class FaultCase:
    """One test's fault: the topology healed before it, and its row of the Show table."""

    def __init__(self, topo: Topology, item):
        self.topo = topo
        self.item = item
        self.mark = topo.log_mark()
        self.rows = []

    def ledger(self) -> Ledger:
        return Ledger(self.topo)

    def record(self, fault: str, ledger: Ledger | None, counts: Counts, notes: str = ""):
        forbidden = log_lines(self.topo, self.mark)
        counts.twice.extend(f"logged: {line}" for line in forbidden)
        unexpected = log_lines(self.topo, self.mark, checks.UNEXPECTED_LOG_LINES)
        if unexpected:
            notes = f"{notes}; {len(unexpected)} unhandled error(s) logged".strip("; ")
        callspec = getattr(self.item, "callspec", None)
        if callspec is not None and "round_" in callspec.params and ROUNDS > 1:
            fault = f"{fault} (round {callspec.params['round_'] + 1})"
        row = REPORT.record(fault, ledger, counts, notes)
        self.rows.append(row)
        return row

    def assert_clean(self, ledger: Ledger | None, counts: Counts, allowed=(200, 201, 204, 503),
                     limit: float = ANSWER_LIMIT) -> None:
        """The goal: 0 lost, 0 applied twice, no 500 (nor any status not in ``allowed``), no hang,
        every answer within its deadline."""
        problems = []
        if counts.lost:
            problems.append(f"{len(counts.lost)} lost: {counts.lost[:5]}")
        if counts.twice:
            problems.append(f"{len(counts.twice)} applied twice: {counts.twice[:5]}")
        if ledger is not None:
            bad = ledger.unexpected(allowed)
            if bad:
                by_status = collections.Counter(a.status for a in bad)
                examples = [f"{a.status} {str(a.body)[:200]}" for a in bad][:5]
                problems.append(f"answers outside {sorted(allowed)}: {dict(by_status)}; e.g. {examples}")
            slow = sorted((a.elapsed for a in ledger.attempts()), reverse=True)
            if slow and slow[0] > limit:
                problems.append(f"{sum(1 for s in slow if s > limit)} answer(s) slower than {limit:.1f}s "
                                f"(worst {slow[0]:.2f}s)")
            unframed = [a for a in ledger.attempts() if a.status == 503 and a.path.startswith("/api/") and
                        (not a.content_type.startswith("application/problem+json") or not a.retry_after)]
            if unframed:
                examples = [f"{a.path} {a.content_type} Retry-After={a.retry_after} {str(a.body)[:150]}"
                            for a in unframed[:3]]
                problems.append(f"{len(unframed)} 503(s) without problem+json and Retry-After: {examples}")
        assert not problems, "\n".join(problems)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" or (rep.when == "setup" and rep.failed):
        item._fault_outcome = "passed" if rep.passed else ("failed" if rep.failed else rep.outcome)


@pytest.fixture
def fault(topology, request):
    topology.heal()
    case = FaultCase(topology, request.node)
    yield case
    outcome = getattr(request.node, "_fault_outcome", "?")
    if not case.rows:
        REPORT.record(request.node.name, None, Counts(), notes="no counts: the test stopped before counting")
        REPORT.rows[-1].outcome = outcome
    for row in case.rows:
        row.outcome = outcome


def pytest_sessionfinish(session, exitstatus):
    if not REPORT.rows:
        return
    paths = [REPO / "var" / "faults" / "report"] + [tmp / "report" for tmp in _TMP]
    REPORT.write(*paths)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not REPORT.rows:
        return
    terminalreporter.section("fault suite: the Show table")
    terminalreporter.write(REPORT.markdown())
    for path in REPORT.paths:
        terminalreporter.write_line(f"written to {path}")
