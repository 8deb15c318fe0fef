"""The data of ``python -m bench.support`` (``bench/support.py`` says what and why): the tickets loaded
in one SQL statement, the articles of a mixed Chinese and English vocabulary with a Zipf-like skew
indexed with the kit's terms, and the queries."""
from __future__ import annotations

import datetime as dt
import json
import random
import time

from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

GROUPS, AGENTS = 20, 200

_CN_CHARS = ("打印机网络连接失败无法登录密码错误重置系统更新版本安装软件硬件故障维修更换配件发票退款订单物流"
             "快递延迟投诉建议咨询服务质量满意度客户账号权限设置数据备份恢复导出报表性能缓慢卡顿崩溃闪退"
             "屏幕显示异常声音蓝牙无线信号电池充电开机重启升级固件驱动程序扫描复印传真纸张墨盒硒鼓卡纸")


def _vocabulary(rng: random.Random) -> tuple[list[str], list[str]]:
    chinese = sorted({"".join(rng.choice(_CN_CHARS) for _ in range(rng.choice((2, 2, 2, 3, 4))))
                      for _ in range(900)})[:600]
    syll = ["pri", "nt", "er", "log", "in", "net", "work", "sys", "tem", "up", "date", "pass", "word", "re",
            "set", "in", "voice", "ship", "ment", "de", "lay", "scan", "tone", "dri", "ver", "blue", "tooth",
            "bat", "ter", "y", "crash", "slow", "ex", "port", "back", "up"]
    english = sorted({"".join(rng.choice(syll) for _ in range(rng.choice((2, 2, 3)))) for _ in range(600)})[:300]
    return chinese, english


def _zipf(rng: random.Random, words: list[str]) -> str:
    # rank r with weight ~ 1/(r+1): a few words everywhere, most rare
    return words[min(int(len(words) ** rng.random()) - 1, len(words) - 1)]


def _text(rng, chinese, english, n: int) -> str:
    out = []
    for _ in range(n):
        out.append(_zipf(rng, chinese) if rng.random() < 0.7 else _zipf(rng, english))
    # Chinese runs as they are written: no spaces between Chinese words, spaces around English ones
    return "".join(w if '\u4e00' <= w[0] <= '\u9fff' else f" {w} " for w in out).strip()


_TICKETS_SQL = """
INSERT INTO tickets (id, number, customer_id, customer_level, contact_id, product_id, order_id, channel, category,
                     priority, onsite, subject, description, group_id, assignee_id, owner_id, department_id,
                     created_by, status, opened_at, assigned_at, first_response_at, arrived_at, resolved_at,
                     closed_at, resolution, reopen_count, sla_policy, sla_calendar, next_sla_check_at, version,
                     created_at, updated_at)
SELECT {id}, 'TK-2026-' || {pad_i}, 'c' || (i % 50000), NULL, NULL, 'p' || (i % 40), NULL,
  CASE i % 5 WHEN 0 THEN 'phone' WHEN 1 THEN 'email' WHEN 2 THEN 'web' WHEN 3 THEN 'chat' ELSE 'portal' END,
  CASE WHEN i % 10 < 6 THEN 'fault' WHEN i % 10 < 8 THEN 'consultation' WHEN i % 10 < 9 THEN 'complaint'
       ELSE 'suggestion' END,
  CASE WHEN i % 20 < 3 THEN 'low' WHEN i % 20 < 15 THEN 'normal' WHEN i % 20 < 19 THEN 'high' ELSE 'urgent' END,
  {false}, 'Ticket ' || i, NULL, 'g' || (i % {groups}), 'a' || (i % {agents}), 'a' || (i % {agents}),
  'd' || (i % 10), 'u1',
  CASE WHEN b < 72 THEN 'closed' WHEN b < 80 THEN 'resolved' WHEN b < 84 THEN 'waiting_on_customer'
       WHEN b < 86 THEN 'new' WHEN b < 90 THEN 'assigned' ELSE 'in_progress' END,
  {opened}, {opened}, NULL, NULL, NULL, NULL, NULL, 0, {policy}, {calendar},
  CASE WHEN b >= 84 THEN {check} END, 1, {opened}, {opened}
FROM ({series}) s
"""


def load_tickets(engine, n: int, as_of: dt.datetime) -> dict:
    """``n`` tickets in one statement; returns timings. The template's SLA JSON is copied to every row."""
    from crm_kit.context import Principal
    from crm_kit.runtime.uow import UnitOfWork
    from services.support.application import tickets
    from services.support.models import Base, Ticket

    factory = sessionmaker(engine, expire_on_commit=False)
    template = tickets.create_ticket(UnitOfWork(factory, "support", Base.metadata), Principal("u1", "admin"),
                                     {"subject": "template", "channel": "phone", "category": "fault"})
    with factory() as s:
        row = s.get(Ticket, template["id"])
        policy, calendar = json.dumps(row.sla_policy), json.dumps(row.sla_calendar)
        s.delete(row)
        s.commit()
    start = as_of - dt.timedelta(days=365)
    t0 = time.perf_counter()
    with engine.begin() as c:
        if engine.dialect.name == "sqlite":
            series = (f"WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n}) "
                      "SELECT i, (i * 7919) % 100 AS b, (i * 104729) % 1000000 AS r FROM g")
            secs = f"{int(start.timestamp())} + i * {365 * 86400 // n}"
            sql = _TICKETS_SQL.format(
                id="printf('%08x-%04x-7%03x-8%03x-%012x', " + secs + " / 65536, (" + secs + ") % 65536, i % 4096, "
                   "(i * 7) % 4096, i)",
                pad_i="printf('%07d', i)", false="0", groups=GROUPS, agents=AGENTS,
                opened=f"strftime('%Y-%m-%d %H:%M:%f', {secs}, 'unixepoch')",
                policy=f"'{policy}'", calendar=f"'{calendar}'",
                check=(f"strftime('%Y-%m-%d %H:%M:%f', {int(as_of.timestamp())} - 86400 + r * 864 / 1000.0, "
                       "'unixepoch')"),
                series=series)
        else:
            series = (f"SELECT i, (i::bigint * 7919) % 100 AS b, (i::bigint * 104729) % 1000000 AS r FROM "
                      f"generate_series(1, {n}) AS i")
            secs = f"{int(start.timestamp())}::bigint + i::bigint * {365 * 86400 // n}"
            sql = _TICKETS_SQL.format(
                id=("lpad(to_hex((" + secs + ") / 65536), 8, '0') || '-' || lpad(to_hex((" + secs + ") % 65536), 4, "
                    "'0') || '-7' || lpad(to_hex(i % 4096), 3, '0') || '-8' || lpad(to_hex((i * 7) % 4096), 3, '0') "
                    "|| '-' || lpad(to_hex(i), 12, '0')"),
                pad_i="lpad(i::text, 7, '0')", false="false", groups=GROUPS, agents=AGENTS,
                opened=f"to_timestamp({secs})", policy=f"'{policy}'::json", calendar=f"'{calendar}'::json",
                check=f"to_timestamp({int(as_of.timestamp())} - 86400 + r * 864 / 1000.0)", series=series)
            c.execute(text("SET LOCAL synchronous_commit = off"))
        c.execute(text(sql))
    loaded = time.perf_counter() - t0
    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE tickets"))
    return {"load_s": round(loaded, 1), "analyze_s": round(time.perf_counter() - t0, 1)}


# -- articles ---------------------------------------------------------------------------------------

def load_articles(engine, n: int) -> tuple[dict, list[str], list[str]]:
    from crm_kit.ids import new_id
    from crm_kit.records.fulltext import terms
    from services.support.models import ARTICLE_SEARCH

    rng = random.Random(14)
    chinese, english = _vocabulary(rng)
    now = dt.datetime.now(dt.timezone.utc)
    rows, fts = [], []
    t0 = time.perf_counter()
    for i in range(1, n + 1):
        title = _text(rng, chinese, english, rng.randint(3, 8))
        body = _text(rng, chinese, english, rng.randint(30, 150))
        rows.append({"id": new_id(), "title": title, "body": body,
                     "category": ("fault", "consultation", "complaint", "suggestion")[i % 4],
                     "product_id": f"p{i % 40}", "status": "published" if i % 10 else "draft",
                     "search_rowid": i if engine.dialect.name == "sqlite" else None,
                     "published_at": now if i % 10 else None, "version": 1, "created_at": now, "updated_at": now})
        fts.append({"rowid": i, "id": rows[-1]["id"], "title": " ".join(terms(title)), "body": " ".join(terms(body))})
    generated = time.perf_counter() - t0
    t0 = time.perf_counter()
    from services.support.models import KbArticle
    with engine.begin() as c:
        c.execute(KbArticle.__table__.insert(), rows)
        if engine.dialect.name == "sqlite":
            c.execute(text(f"INSERT INTO {ARTICLE_SEARCH.fts} (rowid, title, body) VALUES (:rowid, :title, :body)"),
                      fts)
        else:
            c.execute(text("CREATE TEMP TABLE kb_terms (id text PRIMARY KEY, title text, body text) ON COMMIT DROP"))
            c.execute(text("INSERT INTO kb_terms (id, title, body) VALUES (:id, :title, :body)"), fts)
            side = ARTICLE_SEARCH.side.name        # the narrow table of the vectors (FullTextIndex covering)
            c.execute(text(f"INSERT INTO {side} (id, status, category, product_id, search_vector) "
                           "SELECT a.id, a.status, a.category, a.product_id, "
                           "setweight(to_tsvector('simple', t.title), 'A') "
                           "|| setweight(to_tsvector('simple', t.body), 'B') "
                           "FROM kb_terms t JOIN kb_articles a ON a.id = t.id"))
    loaded = time.perf_counter() - t0
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE kb_articles"))
        if engine.dialect.name != "sqlite":
            c.execute(text(f"VACUUM ANALYZE {ARTICLE_SEARCH.side.name}"))
    return {"generate_s": round(generated, 1), "load_and_index_s": round(loaded, 1)}, chinese, english


def make_queries(chinese, english, n: int) -> list[str]:
    rng = random.Random(41)
    out = []
    for _ in range(n):
        k = rng.choice((1, 1, 2, 2, 3))
        words = [rng.choice(chinese) if rng.random() < 0.7 else rng.choice(english) for _ in range(k)]
        out.append(" ".join(words))
    return out
