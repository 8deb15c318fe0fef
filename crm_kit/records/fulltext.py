"""Full-text search on a table, one interface with two backends chosen by dialect: an FTS5 virtual
table on SQLite (the embedded default), a ``tsvector`` column with a GIN index on PostgreSQL.

**Terms.** Both backends index the same terms, cut here (:func:`terms`), so a query finds on one what
it finds on the other: text is NFKC-normalised (full-width letters and digits become ASCII) and
case-folded; a run of letters or digits is one term (``printer``, ``e1001``, ``v2``); a run of CJK
characters (Han, kana, Hangul) is cut into overlapping **bigrams** (``打印机卡纸`` -> ``打印 印机 机卡
卡纸``), a lone character being its own term. Neither database segments Chinese by itself: FTS5's
``unicode61`` takes a whole run of Han as one token (``打印机卡纸`` would only match itself), and its
``trigram`` tokenizer cannot match a two-character word (``打印``, ``网络``: most Chinese words);
PostgreSQL's parsers do the same as ``unicode61``. Bigrams find every word of two characters or
more, in any backend. A query of one CJK character matches as a prefix (``网`` finds ``网络``).
No stemming (``printers`` does not find ``printer``): the ``simple`` configuration, as on SQLite.

**Backends.** :class:`FullTextIndex` (declared beside the model, after the table):

- SQLite: the virtual table ``<table>_fts`` (``fts5``, tokenizer ``unicode61``: the terms are cut
  already, it splits them at the spaces), one row per indexed record, whose rowid the record keeps
  in its ``search_rowid`` column (an explicit column: SQLite may renumber a table's implicit rowids
  on ``VACUUM``); ranking by ``bm25`` with the columns' weights;
- PostgreSQL: the column ``<table>.search_vector`` (``setweight(to_tsvector('simple', ...), 'A')``
  per column) with the GIN index ``ix_<table>_search_vector``; ranking by ``ts_rank``. An index
  declared ``covering`` (the columns a search filters on) keeps the vector in a narrow table of its
  own instead, ``<table>_search`` (``id``, copies of those columns, ``search_vector``; the GIN index
  ``ix_<table>_search_vector``): a search's matches, filters and cap read its narrow rows only, not
  the records' (a wide row -- an article's body -- read for each of 10,000 matches was most of a
  search's time; the narrow table stays in shared buffers). The application keeps the copies too:
  :meth:`FullTextIndex.put` writes them with the vector, :meth:`FullTextIndex.refile` when only
  they change (an article published).

The application keeps the index in the same transaction as the record (:meth:`FullTextIndex.put`
after the record's flush, :meth:`FullTextIndex.remove`): no trigger, so what is indexed is decided
by the use case (a published article, a resolved ticket). The objects only one dialect has are
created with the table (``metadata.create_all``) and by a migration (:meth:`FullTextIndex.create`),
and named in ``metadata.info["dialect_objects"]`` so that Alembic's comparison leaves them alone
(``crm_kit.ops.migrations.include_object``).

:meth:`FullTextIndex.match` answers where to select from, the condition and the rank (higher is
better on both backends: ``-bm25`` on SQLite, ``ts_rank`` on PostgreSQL), to which a use case adds its
filters (scopes, status); :func:`ranked_page` pages the answer best first with a keyset cursor
(rank, id), as every list is paged.

**Bounded work.** Ranking costs per match (``bm25``: about 1 µs a row on SQLite, more with the join to
the table; ``ts_rank`` reads each match's vector on PostgreSQL): a query of a very common word (two
thirds of 100,000 articles) cost half a second. :meth:`FullTextIndex.ranked` ranks at most
:data:`RANKED_AT_MOST` matches, the newest (a query that wide is a browse: its words tell the matches
little apart -- ``bm25``'s weight of a word in more than half the records is nil), and selects their
ids and ranks only; :func:`search_page` loads the page's records after. A narrower query (most: below
the cap) is ranked exactly as :meth:`FullTextIndex.match` ranks.

**Finding the newest matches (PostgreSQL, a covering index).** PostgreSQL's planner takes the newest
matches one of two ways: walking the primary key backwards and testing each record's vector (cheap
when most records match: the cap is reached early; but it decompresses the vector of every record
walked -- 20,000 of them, 60 ms, for a word in 8 % of the articles), or the GIN index's matches, each
visited once in the heap without reading its vector, then sorted (cheap when few match). It cannot
tell the two cases apart well (the vector's decompression is not in its costs), so
:meth:`FullTextIndex.ranked` asks for both in one statement: first the matches among the newest
:data:`WINDOW_FACTOR` times ``cap`` records (a walk of a bounded length); if the cap is reached there,
those are the newest ``cap`` matches of all; otherwise (the words are in fewer than half the newest
records) every match from the GIN index, sorted by id in byte order (``COLLATE "C"``: the order of
the time-ordered ids, the same as the column's; an order the primary key cannot give, so the planner
takes the GIN index). The answer is the same either way: the newest ``cap`` matches.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Double,
    Float,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    column,
    event,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.visitors import replacement_traverse

from crm_kit.errors import ValidationFailed
from crm_kit.records.pagination import cursor_state, encode_cursor

DIALECT_OBJECTS = "dialect_objects"    # metadata.info key: names Alembic's comparison must ignore
MAX_QUERY_TERMS = 32
RANKED_AT_MOST = 2_000      # FullTextIndex.ranked: the newest matches of a query ranked, at most
WINDOW_FACTOR = 4           # FullTextIndex.ranked (PostgreSQL, covering): the newest cap * this records walked first
WEIGHTS = {"A": 1.0, "B": 0.4, "C": 0.2, "D": 0.1}     # PostgreSQL's ts_rank defaults; bm25 takes the same

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003134f"
_RUN = re.compile(r"[^\W_]+")                                  # letters and digits (any script)
_PARTS = re.compile(f"([{_CJK}]+)|([^{_CJK}]+)")


@dataclass(frozen=True)
class Term:
    text: str
    prefix: bool = False       # a lone CJK character of a query: matches the bigrams it starts


def terms(value: str | None) -> list[str]:
    """The terms of a text, in order (repeats kept: they count in the ranking)."""
    out: list[str] = []
    if not value:
        return out
    for run in _RUN.findall(unicodedata.normalize("NFKC", value).casefold()):
        for cjk, other in _PARTS.findall(run):
            if other:
                out.append(other)
            elif len(cjk) == 1:
                out.append(cjk)
            else:
                out.extend(cjk[i:i + 2] for i in range(len(cjk) - 1))
    return out


def query_terms(q: str | None, limit: int = MAX_QUERY_TERMS) -> list[Term]:
    """The distinct terms of a query, in order, at most ``limit``; a lone CJK character is a prefix."""
    seen: dict[str, Term] = {}
    for term in terms(q):
        if term not in seen:
            seen[term] = Term(term, prefix=len(term) == 1 and bool(_PARTS.match(term)[1]))
        if len(seen) == limit:
            break
    return list(seen.values())


def fts5_expression(found: list[Term], mode: str = "all") -> str:
    """An FTS5 MATCH expression: every term (``all``) or any (``any``), each quoted."""
    joiner = " AND " if mode == "all" else " OR "
    return joiner.join(f'"{t.text}"' + ("*" if t.prefix else "") for t in found)


def tsquery_expression(found: list[Term], mode: str = "all") -> str:
    """A ``to_tsquery('simple', ...)`` text: every term (``&``) or any (``|``), each quoted."""
    joiner = " & " if mode == "all" else " | "
    return joiner.join(f"'{t.text}'" + (":*" if t.prefix else "") for t in found)


class FullTextIndex:
    """The full-text index of ``table`` over ``columns`` (name -> weight ``A``..``D``), keyed by
    ``table.c.id``; on SQLite the table needs an integer ``search_rowid`` column (unique where set).
    ``covering``: the columns a search filters on, copied beside the vector in the narrow table
    ``<table>_search`` on PostgreSQL (see the module's doc); without, the vector is a column of the table."""

    def __init__(self, table: Table, columns: dict[str, str], rowid: str = "search_rowid",
                 covering: tuple[str, ...] | None = None):
        if not columns or set(columns.values()) - set(WEIGHTS):
            raise ValueError("columns: name -> weight A, B, C or D")
        self.table, self.columns, self.rowid = table, dict(columns), rowid
        self.fts = f"{table.name}_fts"
        self.vector = "search_vector"
        self.gin = f"ix_{table.name}_search_vector"
        self.covering = tuple(covering) if covering is not None else None
        self.side = None
        ignored = table.metadata.info.setdefault(DIALECT_OBJECTS, set())
        ignored.update({self.fts, f"{self.fts}_data", f"{self.fts}_idx", f"{self.fts}_content",
                        f"{self.fts}_docsize", f"{self.fts}_config", f"{table.name}.{self.vector}", self.gin})
        if self.covering is not None:
            name = f"{table.name}_search"
            self.side = Table(name, MetaData(), Column("id", table.c.id.type, primary_key=True),
                              *(Column(c, table.c[c].type) for c in self.covering),
                              Column(self.vector, TSVECTOR), PrimaryKeyConstraint("id", name=f"pk_{name}"))
            ignored.update({name, f"pk_{name}"})
        event.listen(table, "after_create", lambda target, connection, **kw: self.create(connection))
        event.listen(table, "before_drop", lambda target, connection, **kw: self.drop(connection))

    # -- DDL (create_all, and the migration that brings the index) --------------------------------
    def create(self, connection) -> None:
        if connection.dialect.name == "postgresql" and self.side is not None:
            self.side.create(connection)
            connection.exec_driver_sql(f"CREATE INDEX {self.gin} ON {self.side.name} USING gin ({self.vector})")
        elif connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"ALTER TABLE {self.table.name} ADD COLUMN {self.vector} tsvector")
            connection.exec_driver_sql(f"CREATE INDEX {self.gin} ON {self.table.name} USING gin ({self.vector})")
        else:
            connection.exec_driver_sql(
                f"CREATE VIRTUAL TABLE {self.fts} USING fts5({', '.join(self.columns)}, tokenize = 'unicode61')")

    def drop(self, connection) -> None:
        if connection.dialect.name == "postgresql" and self.side is not None:
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {self.side.name}")
        elif connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"DROP INDEX IF EXISTS {self.gin}")
            connection.exec_driver_sql(f"ALTER TABLE {self.table.name} DROP COLUMN IF EXISTS {self.vector}")
        else:
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {self.fts}")

    # -- keeping it (in the record's transaction, after its flush) --------------------------------
    def put(self, session, record) -> None:
        """Index ``record`` (again): what its columns say now."""
        rowid = self.put_row(session, record.id, getattr(record, self.rowid),
                             {name: getattr(record, name) for name in self.columns}, self._covered(record))
        set_committed_value(record, self.rowid, rowid)

    def refile(self, session, record) -> None:
        """After a change of the ``covering`` columns only (an article published): their copies beside
        the vector (PostgreSQL; nothing to do otherwise, nor for a record not indexed)."""
        if self.side is not None and _dialect(session) == "postgresql":
            session.execute(self.side.update().where(self.side.c.id == record.id).values(self._covered(record)))

    def _covered(self, record) -> dict:
        return {name: getattr(record, name) for name in self.covering or ()}

    def remove(self, session, record) -> None:
        """Take ``record`` out of the index (found no more)."""
        self.remove_row(session, record.id, getattr(record, self.rowid))
        set_committed_value(record, self.rowid, None)

    def put_row(self, connection, key: str, rowid: int | None, texts: dict[str, str | None],
                covered: dict | None = None) -> int | None:
        """Index the row ``key`` (a session or a connection; a migration, a bulk load): its texts per
        column; ``rowid``: its ``search_rowid`` now; ``covered``: its ``covering`` columns' values.
        Answers its ``search_rowid`` (SQLite; else None)."""
        values = {name: " ".join(terms(texts.get(name))) for name in self.columns}
        if _dialect(connection) == "postgresql":
            vector = " || ".join(f"setweight(to_tsvector('simple', :{name}), '{weight}')"
                                 for name, weight in self.columns.items())
            if self.side is not None:
                covered = {f"cov_{name}": (covered or {}).get(name) for name in self.covering}
                names = ", ".join(("id", *self.covering, self.vector))
                params = ", ".join((":id", *(f":cov_{name}" for name in self.covering), vector))
                sets = ", ".join(f"{name} = excluded.{name}" for name in (*self.covering, self.vector))
                connection.execute(text(f"INSERT INTO {self.side.name} ({names}) VALUES ({params}) "
                                        f"ON CONFLICT (id) DO UPDATE SET {sets}"), {**values, **covered, "id": key})
                return None
            connection.execute(text(f"UPDATE {self.table.name} SET {self.vector} = {vector} WHERE id = :id"),
                               {**values, "id": key})
            return None
        names = ", ".join(self.columns)
        params = ", ".join(f":{name}" for name in self.columns)
        if rowid is not None:
            connection.execute(text(f"DELETE FROM {self.fts} WHERE rowid = :rowid"), {"rowid": rowid})
            connection.execute(text(f"INSERT INTO {self.fts} (rowid, {names}) VALUES (:rowid, {params})"),
                               {**values, "rowid": rowid})
            return rowid
        connection.execute(text(f"INSERT INTO {self.fts} ({names}) VALUES ({params})"), values)
        rowid = connection.execute(text("SELECT last_insert_rowid()")).scalar_one()
        connection.execute(text(f"UPDATE {self.table.name} SET {self.rowid} = :rowid WHERE id = :id"),
                           {"rowid": rowid, "id": key})
        return rowid

    def remove_row(self, connection, key: str, rowid: int | None) -> None:
        if _dialect(connection) == "postgresql" and self.side is not None:
            connection.execute(text(f"DELETE FROM {self.side.name} WHERE id = :id"), {"id": key})
        elif _dialect(connection) == "postgresql":
            connection.execute(text(f"UPDATE {self.table.name} SET {self.vector} = NULL WHERE id = :id"), {"id": key})
        elif rowid is not None:
            connection.execute(text(f"DELETE FROM {self.fts} WHERE rowid = :rowid"), {"rowid": rowid})
            connection.execute(text(f"UPDATE {self.table.name} SET {self.rowid} = NULL WHERE id = :id"), {"id": key})

    # -- searching --------------------------------------------------------------------------------
    def match(self, dialect: str, found: list[Term], mode: str = "all") -> "Match":
        """How to find the records matching every (``all``) or any (``any``) of the terms: select from
        ``match.from_`` (the table, joined to the index on SQLite) where ``match.where``, ranked by
        ``match.rank`` (higher is better). ``found`` must not be empty."""
        if not found:
            raise ValueError("no terms to search for")
        if mode not in ("all", "any"):
            raise ValueError(f"mode: all or any, not {mode!r}")
        t = self.table
        if dialect == "postgresql" and self.side is not None:
            query = _tsquery(found, mode)
            vector = self.side.c[self.vector]
            return Match(t.join(self.side, self.side.c.id == t.c.id), vector.op("@@")(query),
                         cast(func.ts_rank(vector, query), Double()))
        if dialect == "postgresql":
            query = _tsquery(found, mode)
            vector = literal_column(f"{t.name}.{self.vector}")
            # ts_rank is a real: as a double, the rank a cursor carries back compares exactly
            return Match(t, vector.op("@@")(query), cast(func.ts_rank(vector, query), Double()))
        fts = table(self.fts, column("rowid"))
        weights = ", ".join(str(WEIGHTS[w]) for w in self.columns.values())
        return Match(fts.join(t, t.c[self.rowid] == fts.c.rowid),
                     text(f"{self.fts} MATCH :fts_query").bindparams(
                         bindparam("fts_query", fts5_expression(found, mode), type_=String())),
                     literal_column(f"-bm25({self.fts}, {weights})", Float()))

    def matching(self, dialect: str, found: list[Term], mode: str = "all"):
        """``SELECT id, rank`` of the matching records (see :meth:`match`)."""
        m = self.match(dialect, found, mode)
        return select(self.table.c.id.label("id"), m.rank.label("rank")).select_from(m.from_).where(m.where)

    def ranked(self, dialect: str, found: list[Term], mode: str = "all", where=(), cap: int | None = None):
        """The subquery ``ranked (id, rank)`` of the records matching the terms and ``where`` (the use
        case's filters on the table), **at most** ``cap`` (default :data:`RANKED_AT_MOST`) of them: the
        newest -- on SQLite the last indexed (the index's rowids: a record keeps its row when indexed
        again), on PostgreSQL the greatest ids (time-ordered) --, each ranked as by :meth:`match`. The
        rank is computed for those only (``bm25`` or ``ts_rank`` of every match is what a query of a
        very common word costs: 70,000 matches out of 100,000 articles, half a second), and what is
        selected for them is the id and the rank: a page (:func:`ranked_page`) loads its records
        after. Below the cap, the ranking is exactly :meth:`match`'s."""
        cap = cap or RANKED_AT_MOST
        if dialect == "postgresql" and self.side is not None:
            return self._ranked_covered(found, mode, where, cap)
        m = self.match(dialect, found, mode)
        t = self.table
        if dialect == "postgresql":
            vector = literal_column(f"{t.name}.{self.vector}")
            newest = (select(t.c.id.label("id"), vector.label("vector")).select_from(t).where(m.where, *where)
                      .order_by(t.c.id.desc()).limit(cap).subquery("matched"))
            query = _tsquery(found, mode)       # a second bind of the same value (the subquery has its own)
            rank = cast(func.ts_rank(newest.c.vector, query), Double())
            return select(newest.c.id.label("id"), rank.label("rank")).subquery("ranked")
        return (select(t.c.id.label("id"), m.rank.label("rank")).select_from(m.from_).where(m.where, *where)
                .order_by(literal_column(f"{self.fts}.rowid").desc()).limit(cap).subquery("ranked"))

    def _ranked_covered(self, found, mode, where, cap):
        """PostgreSQL with the narrow table: the newest ``cap`` matches, found among the newest
        ``WINDOW_FACTOR * cap`` records if there are ``cap`` of them there, otherwise among every match
        (the module's doc says why), then ranked; one statement (the rows' ``ctid``: one snapshot)."""
        s = self.side
        tid = literal_column(f"{s.name}.ctid")
        matched = [s.c[self.vector].op("@@")(_tsquery(found, mode)), *(self._on_side(w) for w in where)]
        floor = (select(s.c.id).order_by(s.c.id.desc()).offset(int(WINDOW_FACTOR * cap)).limit(1)
                 .correlate(None).scalar_subquery())
        window = (select(tid.label("tid")).select_from(s).where(*matched, s.c.id >= floor).order_by(s.c.id.desc())
                  .limit(cap).cte(f"{s.name}_newest").prefix_with("MATERIALIZED"))
        every = select(tid).select_from(s).where(*matched).order_by(s.c.id.collate("C").desc()).limit(cap)
        newest = case((select(func.count()).select_from(window).scalar_subquery() == cap,
                       func.array(select(window.c.tid).scalar_subquery())),
                      else_=func.array(every.correlate(None).scalar_subquery()))
        rank = cast(func.ts_rank(s.c[self.vector], _tsquery(found, mode)), Double())
        return select(s.c.id.label("id"), rank.label("rank")).where(tid == func.any(newest)).subquery("ranked")

    def _on_side(self, clause):
        """A filter on the table's columns, on the narrow table's copies of them."""
        def copy(element):
            if isinstance(element, Column) and element.table is self.table:
                if element.name not in self.side.c:
                    raise ValueError(f"{self.table.name}.{element.name} is not covered by the search's table")
                return self.side.c[element.name]
            return None
        return replacement_traverse(clause, {}, copy)


@dataclass(frozen=True)
class Match:
    from_: object
    where: object
    rank: object


def ranked_page(session, stmt, id_column, rank, limit: int, cursor: str | None):
    """One page of a ranked search, best first (ties: newest first): ``(rows, next_cursor)``, keyset
    like every list (``crm_kit.records.pagination``): the cursor holds the last row's rank and id.
    ``stmt`` selects the records (or their ids) first and ``rank`` last."""
    if cursor:
        state = cursor_state(cursor)
        last = state.get("rank")
        if isinstance(last, bool) or not isinstance(last, (int, float)) or last != last:
            raise ValidationFailed.from_messages({"cursor": ["Invalid cursor."]})
        stmt = stmt.where(or_(rank < last, and_(rank == last, id_column < state["after"])))
    rows = session.execute(stmt.order_by(rank.desc(), id_column.desc()).limit(limit + 1)).all()
    next_cursor = None
    if len(rows) > limit:
        *_, last_rank = rows[limit - 1]
        record = rows[limit - 1][0]
        next_cursor = encode_cursor(getattr(record, "id", record), rank=float(last_rank))
    return rows[:limit], next_cursor


def search_page(session, ranked, load, limit: int, cursor: str | None):
    """One page of a :meth:`FullTextIndex.ranked` subquery, best first (ties: newest first), as
    :func:`ranked_page`: ``([(record, rank)], next_cursor)``; only the page's records are loaded,
    ``load(ids)`` -> the records (each with an ``id``; one gone since is left out)."""
    rows, next_cursor = ranked_page(session, select(ranked.c.id, ranked.c.rank), ranked.c.id, ranked.c.rank,
                                    limit, cursor)
    records = {record.id: record for record in load([key for key, _ in rows])} if rows else {}
    return [(records[key], rank) for key, rank in rows if key in records], next_cursor


def _tsquery(found: list[Term], mode: str):
    return func.to_tsquery(literal_column("'simple'"),
                           bindparam("fts_query", tsquery_expression(found, mode), type_=String()))


def _dialect(connection) -> str:
    """The dialect of a session or a connection."""
    bind = connection.get_bind() if hasattr(connection, "get_bind") else connection
    return bind.dialect.name
