"""The set-based import of one file's prepared rows: match, merge, upsert, groups and opt-outs.

Every statement works on whole sets (a file's rows are one Arrow table); there is
no statement per row.  Identifiers that reach SQL come from the field catalog,
which config validation restricts to `[a-z][a-z0-9_]*`, and are always quoted;
every value a user wrote travels as a parameter or inside an Arrow table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa

from .. import hooks
from ..config import Config
from ..errors import Reason, Rejection, Rejections
from ..plan import ImportPlan
from . import listing
from .db import add_optouts, ensure_groups, next_ids, q
from .sql import field_columns

#: A test may ask the import to take every step even where its shortcuts apply (`hooks.asks`).
EVERY_STEP = "store.every_step"


# --------------------------------------------------------------------------- import


@dataclass
class ImportOutcome:
    """What the set-based import decided: counts of accepted rows, and the rows it rejected."""

    counts: dict[str, int]                       # new | updated | unchanged | duplicate -> rows
    rejected: Rejections                         # rn -> the reasons the upsert found
    optouts_added: int = 0
    phone_kept_out: int = 0
    email_kept_out: int = 0
    groups: list[dict] = field(default_factory=list)


def _reject(con: duckdb.DuckDBPyConnection, rejected: Rejections, sql: str, reason: Reason, detail: str) -> int:
    """Record the rows a query names as rejected with this reason; returns how many it named."""
    rows = con.execute(sql).fetchall()
    message = reason.format(detail=detail)
    for (rn,) in rows:
        rejected[rn] = [Rejection(reason, message)]
    return len(rows)


@dataclass
class Staged:
    """What `stage_rows` found: the file's row count, the store's size, and the keys it matched on."""

    rows: int
    stored: int
    match_keys: list[str]
    general: bool


def _keys(cfg: Config, plan: ImportPlan) -> list[str]:
    return [k for k in cfg.pipeline.match_on if k == "phone" and plan.has_phone or k == "email" and plan.has_email
            or k == "external_id" and "external_id" in plan.fields]


def stage_rows(con: duckdb.DuckDBPyConnection, cfg: Config, plan: ImportPlan) -> Staged:
    """Step 1 of the import: the file's rows into the temp table `inc`, each with its match.

    Call it just before the import's transaction begins (the import holds the
    database alone, so the stored contacts cannot change in between): DuckDB
    keeps a table registered inside a transaction alive until the transaction
    ends, so a million rows of Arrow would sit beside the database's own copy
    through the whole upsert, so the caller lets go of the plan's rows once
    they are staged (`ImportPlan.without_rows`).  `import_rows` stages the
    rows itself when handed no `Staged`.

    Each row's match among stored contacts takes one join per key; two different
    ones are a conflict.  Into a store larger than the file, only the stored
    contacts whose key the file names are read, so the cost follows the file;
    into a smaller store, reading it whole is cheaper than the filter.  Columns
    the file lacks are NULL, so later steps need not ask.  Kept whole because
    the statement it builds and the checks around it decide one thing.
    """
    general = hooks.asks(EVERY_STEP)
    file_rows = plan.rows.num_rows
    stored = con.execute("SELECT count(*) FROM contacts").fetchall()[0][0]
    # No stored contact: no row can match one, conflict with one, or find its detail taken by one.
    match_keys = [] if stored == 0 and not general else _keys(cfg, plan)
    only_named = stored > file_rows
    absent = [f"NULL::VARCHAR AS {c}" for d, present in (("phone", plan.has_phone), ("email", plan.has_email))
              if not present for c in (d, f"{d}_raw")]
    if "external_id" not in plan.fields:
        absent.append("NULL::VARCHAR AS external_id")
    if "grp" not in plan.rows.column_names:
        absent.append("NULL::VARCHAR[] AS grp")

    def match_sql(grouped: set[str]) -> str:
        """The statement; keys in `grouped` count the stored contacts holding each value, the others are unique."""
        joins = []
        for k in match_keys:
            where = (f"{q(k)} IN (SELECT {q(k)} FROM incoming WHERE {q(k)} <> '')" if only_named
                     else f"{q(k)} IS NOT NULL AND {q(k)} <> ''")
            found_k = (f"SELECT {q(k)} AS k, min(id) AS id, count(*) AS n FROM contacts WHERE {where} GROUP BY 1"
                       if k in grouped else f"SELECT {q(k)} AS k, id, 1 AS n FROM contacts WHERE {where}")
            joins.append(f"LEFT JOIN ({found_k}) m_{k} ON m_{k}.k = i.{q(k)}")
        found = ", ".join(f"m_{k}.id" for k in match_keys)
        match_expr = f"coalesce({found})" if match_keys else "NULL::BIGINT"
        # list_distinct drops NULLs: the number of different contacts the row's keys found
        conflict_expr = " OR ".join([f"len(list_distinct([{found}])) > 1"]
                                    + [f"coalesce(m_{k}.n, 0) > 1" for k in match_keys if k in grouped]) \
            if match_keys else "false"
        return ("CREATE OR REPLACE TEMP TABLE inc AS SELECT *, "
                "CASE WHEN target IS NOT NULL THEN -target ELSE rn END AS label FROM "
                f"(SELECT i.*{''.join(', ' + a for a in absent)}, {match_expr} AS target, "
                f"({conflict_expr}) AS _conflicted FROM incoming i {' '.join(joins)})")

    # A phone or an e-mail belongs to one stored contact at most (imports, `add` and `edit` see to it),
    # so those keys join the store as it is; an external id may be shared, so its matches are counted.
    # Should a detail be held twice all the same, the join repeats rows: then every key is counted.
    grouped = set(match_keys) if general else {k for k in match_keys if k not in ("phone", "email")}
    con.register("incoming", plan.rows)
    try:
        con.execute(match_sql(grouped))
        if grouped != set(match_keys) and con.execute("SELECT count(*) FROM inc").fetchall()[0][0] != file_rows:
            con.execute(match_sql(set(match_keys)))
    finally:
        con.unregister("incoming")
    if plan.mirror_groups:
        con.execute(f"CREATE OR REPLACE TEMP TABLE rejected_keys AS SELECT {_REJECTED_KEYS} FROM inc LIMIT 0")
    if plan.left_out is not None and len(plan.left_out):
        # Dropped here rather than filtered out of the scan: a filter there makes the planner
        # expect few rows and build the joins' hash tables on the file's wide rows (a re-import
        # of a million rows then ran out of database memory).
        con.register("left_out", pa.table({"rn": plan.left_out}))
        try:
            where = "rn IN (SELECT rn FROM left_out)"
            _set_aside(con, plan, where)
            con.execute(f"DELETE FROM inc WHERE {where}")
        finally:
            con.unregister("left_out")
        file_rows -= len(plan.left_out)
    return Staged(rows=file_rows, stored=stored, match_keys=match_keys, general=general)


#: What a rejected row leaves for a mirror rule: the contacts it names keep their memberships.
_REJECTED_KEYS = "rn, target, phone, email, external_id"


def _set_aside(con: duckdb.DuckDBPyConnection, plan: ImportPlan, where: str) -> None:
    """Keep the keys of the rows of `inc` about to be rejected (`where`), for a mirror rule to spare their contacts.

    A rejected row does not say its contact left the list, so `_assign_groups`
    removes no contact that such a row names.  Only for a mirror rule: other
    files need none of it.
    """
    if plan.mirror_groups:
        con.execute(f"INSERT INTO rejected_keys SELECT {_REJECTED_KEYS} FROM inc WHERE {where}")


def import_rows(con: duckdb.DuckDBPyConnection, cfg: Config, plan: ImportPlan, now: datetime,
                staged: Staged | None = None, run_id: int | None = None) -> ImportOutcome:
    """Match, merge, upsert and group one file's accepted rows.  Call inside a transaction.

    In SQL over the whole file: the file's rows with each one's match among
    stored contacts (`inc`), clusters of rows naming one contact (labels in
    `inc`), one record per cluster holding its new values against the stored
    ones (`final`), then one INSERT, one UPDATE, and the group and opt-out writes.

    Steps that the data shows cannot change anything are skipped (matching
    against an empty store, label propagation with no shared key, the merge of
    clusters when every row is its own, the check that a detail is not taken
    when the detail is a match key); they give the same answer either way, and
    tests ask for every step through `hooks` to compare both.

    One function of six numbered steps rather than six functions: the steps
    hand each other temporary tables and the shortcuts decided at the top, and
    read best in order.  With a `run_id`, what the writes change is kept in
    `run_changes` for `runs undo` (`_keep_updates` and the group writes).
    """
    keys = _keys(cfg, plan)
    if staged is None:
        staged = stage_rows(con, cfg, plan)  # 1. the rows and their matches, in `inc`
    general = staged.general
    stored, match_keys = staged.stored, staged.match_keys
    empty_store = stored == 0 and not general
    rejected: Rejections = {}
    if match_keys and _reject(con, rejected, "SELECT rn FROM inc WHERE _conflicted", Reason.CONFLICT,
                              "each of its keys finds a different contact"):
        _set_aside(con, plan, "_conflicted")
        con.execute("DELETE FROM inc WHERE _conflicted")

    # 2. Rows of this file that name one contact form a cluster: a shared key value, or the same stored contact.
    propagated = _propagate_labels(con, keys)
    if not empty_store:
        con.execute("CREATE OR REPLACE TEMP TABLE clash AS SELECT label FROM inc WHERE target IS NOT NULL "
                    "GROUP BY label HAVING count(DISTINCT target) > 1")
        if _reject(con, rejected, "SELECT rn FROM inc WHERE label IN (SELECT label FROM clash)", Reason.CONFLICT,
                   "rows of this file tie them together"):
            _set_aside(con, plan, "label IN (SELECT label FROM clash)")
            con.execute("DELETE FROM inc WHERE label IN (SELECT label FROM clash)")
        con.execute("DROP TABLE clash")

    # 3. One record per cluster: later non-empty values win; '' (clear) only when no row has a value.
    # With no stored contact and no shared key, every row is a cluster of its own: nothing to merge.
    # Into an empty store a cluster of several rows is one the propagation formed (no row has a target),
    # so its labels are those of the rows that share a key, the few the propagation kept.
    merge_cols = ["phone", "email"] + plan.fields
    has_multi = propagated or not empty_store
    if not empty_store:
        con.execute("CREATE OR REPLACE TEMP TABLE multi AS SELECT label FROM inc GROUP BY label HAVING count(*) > 1")
    elif propagated:
        con.execute("CREATE OR REPLACE TEMP TABLE multi AS SELECT DISTINCT label FROM sub")
    con.execute("DROP TABLE IF EXISTS sub")
    aggs = [f"coalesce(arg_max(i.{q(f)}, i.rn) FILTER (WHERE i.{q(f)} <> ''), max(i.{q(f)})) AS {q(f)}"
            for f in merge_cols]
    aggs += [f"arg_max(i.{d}_raw, i.rn) FILTER (WHERE i.{d} <> '') AS {d}_raw" for d in ("phone", "email")]
    plain = [f"i.{q(f)}" for f in merge_cols] + ["i.phone_raw", "i.email_raw"]
    merged_sql = f"SELECT i.label, i.rn AS first_rn, i.target, 1 AS _size, i.grp, {', '.join(plain)} FROM inc i"
    if has_multi:
        merged_sql += (" WHERE i.label NOT IN (SELECT label FROM multi) UNION ALL "
                       "SELECT i.label, min(i.rn), any_value(i.target), count(*), list_distinct(flatten(list(i.grp))), "
                       f"{', '.join(aggs)} FROM inc i WHERE i.label IN (SELECT label FROM multi) GROUP BY i.label")

    # 4. A cluster that would take a detail another contact (or an earlier cluster) holds is rejected.
    # When the detail is a match key neither can happen: a row whose detail a stored contact holds
    # matched that contact (or was rejected as a conflict), and rows sharing a detail form one cluster.
    present = {"phone": plan.has_phone, "email": plan.has_email}
    check = [d for d in ("phone", "email") if present[d] and (general or d not in keys)]
    if check:
        con.execute(f"CREATE OR REPLACE TEMP TABLE merged AS {merged_sql}")
        merged_sql = "SELECT * FROM merged"
        taken_sql = []
        for d in check:
            if not empty_store:
                taken_sql.append(f"SELECT m.label, '{d}' AS d FROM merged m JOIN contacts c ON c.{d} = m.{d} "
                                 f"WHERE m.{d} <> '' AND c.id IS DISTINCT FROM m.target")
            taken_sql.append(f"SELECT label, '{d}' AS d FROM (SELECT label, row_number() OVER "
                             f"(PARTITION BY {d} ORDER BY first_rn) AS k FROM merged WHERE {d} IN "
                             f"(SELECT {d} FROM merged WHERE {d} <> '' GROUP BY 1 HAVING count(*) > 1)) WHERE k > 1")
        con.execute("CREATE OR REPLACE TEMP TABLE taken AS " + " UNION ".join(taken_sql))
        for rn, d in con.execute("SELECT i.rn, string_agg(DISTINCT t.d, ' ' ORDER BY t.d) FROM inc i "
                                 "JOIN taken t USING (label) GROUP BY i.rn").fetchall():
            detail = {"phone": "Its phone", "email": "Its e-mail"}.get(d, "Its phone and e-mail")
            rejected[rn] = [Rejection(Reason.DETAIL_TAKEN, Reason.DETAIL_TAKEN.format(detail=detail))]
        _set_aside(con, plan, "label IN (SELECT label FROM taken)")
        con.execute("DELETE FROM merged WHERE label IN (SELECT label FROM taken)")
        con.execute("DROP TABLE taken")

    # 5. New values against the stored ones, and whether they change the stored contact.  Only the
    # columns the file writes are read and written: the others keep their stored values untouched.
    all_cols = [c for c in ["phone", "phone_raw", "email", "email_raw"] + [f for f in field_columns(cfg)
                                                                           if f not in ("phone", "email")]
                if c in merge_cols or c.endswith("_raw") and present[c.removesuffix("_raw")]]

    def old(c: str) -> str:
        return "NULL::VARCHAR" if empty_store else f"c.{q(c)}"

    new_values = {}
    for c in all_cols:
        src = c.removesuffix("_raw")
        if c.endswith("_raw"):
            new_values[c] = f"CASE WHEN m.{src} <> '' THEN m.{c} WHEN m.{src} = '' THEN NULL ELSE {old(c)} END"
        else:
            new_values[c] = f"CASE WHEN m.{q(c)} IS NULL THEN {old(c)} WHEN m.{q(c)} = '' THEN NULL ELSE m.{q(c)} END"
    changed = ("false" if empty_store else
               "c.id IS NOT NULL AND (" + " OR ".join(f"({new_values[c]}) IS DISTINCT FROM c.{q(c)}"
                                                      for c in merge_cols) + ")")
    # A stored contact that stays as it was writes nothing: of its values only the details are kept (the
    # checks below read them), so a re-import does not copy every stored value into `final`.
    kept = ", ".join(q(c) if c in ("phone", "email") or empty_store
                     else f"CASE WHEN target IS NULL OR _changed THEN {q(c)} END AS {q(c)}" for c in new_values)
    con.execute(f"CREATE OR REPLACE TEMP TABLE final AS SELECT label, first_rn, target, _size, grp, {kept}, _changed "
                "FROM (SELECT m.label, m.first_rn, m.target, m._size, m.grp, "
                + ", ".join(f"{v} AS {q(c)}" for c, v in new_values.items())
                + f", {changed} AS _changed FROM ({merged_sql}) m"
                + ("" if empty_store else " LEFT JOIN contacts c ON c.id = m.target") + ")")
    # With empty_cells: clear, an update could empty both details; a contact keeps one.
    count_sql = ("SELECT count(*) FILTER (WHERE phone IS NULL AND email IS NULL), count(*) FILTER (WHERE target IS NULL), "
                 "count(*) FILTER (WHERE _changed), count(*), coalesce(sum(_size), 0) FROM final")
    no_detail, n_new, n_upd, n_clusters, n_rows = con.execute(count_sql).fetchall()[0]
    if no_detail:
        _reject(con, rejected, "SELECT rn FROM inc WHERE label IN (SELECT label FROM final "
                               "WHERE phone IS NULL AND email IS NULL)", Reason.NO_CONTACT_DETAIL, "")
        _set_aside(con, plan, "label IN (SELECT label FROM final WHERE phone IS NULL AND email IS NULL)")
        con.execute("DELETE FROM final WHERE phone IS NULL AND email IS NULL")
        no_detail, n_new, n_upd, n_clusters, n_rows = con.execute(count_sql).fetchall()[0]
    con.execute("DROP TABLE inc" + ("; DROP TABLE multi" if has_multi else "") + ("; DROP TABLE merged" if check else ""))

    # 6. The writes: new contacts take ids in file order, changed ones are updated.
    start = next_ids(con, "next_contact_id", n_new, "contacts") if n_new else 0
    con.execute("CREATE OR REPLACE TEMP TABLE ids AS SELECT label, ? + row_number() OVER (ORDER BY first_rn) - 1 "
                "AS cid FROM final WHERE target IS NULL", [start])
    col_list = ", ".join(q(c) for c in all_cols)
    if n_new:
        new = {c: f"final.{q(c)}" for c in all_cols}
        kept = listing.marks(new)
        con.execute(f"INSERT INTO contacts (id, {col_list}, created_at, updated_at, {', '.join(kept)}) "
                    f"SELECT ids.cid, {col_list}, ?, ?, {', '.join(kept.values())} FROM final JOIN ids USING (label)",
                    [now, now])
        listing.add_rows(con, "final JOIN ids USING (label)", {"id": "ids.cid"} | new)
        if run_id is not None:
            con.execute("INSERT INTO run_created VALUES (?, ?, ?, ?)", [run_id, start, n_new, now])
    if n_upd:
        if run_id is not None:
            _keep_updates(con, run_id, all_cols)
        upd = ", ".join(f"{q(c)} = u.{q(c)}" for c in all_cols)
        # the opt-out marks of the new details, or of the stored ones where the file writes none
        new = {c: f"contacts.{q(c)}" for c in ("phone", "email")} | {c: f"u.{q(c)}" for c in all_cols}
        upd += "".join(f", {col} = {sql}" for col, sql in listing.marks(new).items())
        con.execute(f"UPDATE contacts SET {upd}, updated_at = ? FROM (SELECT * FROM final WHERE _changed) u "
                    "WHERE contacts.id = u.target", [now])
        listing.reindex(con, "SELECT target FROM final WHERE _changed")

    counts = {"new": n_new, "updated": n_upd, "unchanged": n_clusters - n_new - n_upd,
              "duplicate": n_rows - n_clusters}
    result = ImportOutcome(counts=counts, rejected=rejected)
    result.phone_kept_out, result.email_kept_out = con.execute(
        "SELECT count(*) FILTER (WHERE phone IN (SELECT value FROM optouts WHERE channel = 'sms')), "
        "count(*) FILTER (WHERE email IN (SELECT value FROM optouts WHERE channel = 'email')) FROM final"
    ).fetchall()[0]
    result.optouts_added = add_optouts(con, plan.optout_details, now, plan.source, "opt-out column in the file")
    # Ids from `start` on are the contacts this run created: an undo deletes them with their memberships,
    # so only the memberships of contacts that existed before are kept for it (ids never go back).
    result.groups = _assign_groups(con, plan, now, keys, run_id, start if n_new else _NO_ID)
    con.execute("DROP TABLE final; DROP TABLE ids; DROP TABLE final_groups"
                + ("; DROP TABLE rejected_keys" if plan.mirror_groups else ""))
    return result


#: Above every id a contact can have.
_NO_ID = 1 << 62


def _keep_updates(con: duckdb.DuckDBPyConnection, run_id: int, cols: list[str]) -> None:
    """Before the UPDATE: each changed contact's old and new value of every column that changes, one row each."""
    parts = [f"SELECT u.target, '{c}', c.{q(c)}, u.{q(c)} FROM final u JOIN contacts c ON c.id = u.target "
             f"WHERE u._changed AND u.{q(c)} IS DISTINCT FROM c.{q(c)}" for c in cols]
    con.execute("INSERT INTO run_changes SELECT ?, target, 'updated', col, NULL, old_value, new_value FROM ("
                + " UNION ALL ".join(parts) + ") t(target, col, old_value, new_value)", [run_id])


def _propagate_labels(con: duckdb.DuckDBPyConnection, keys: list[str]) -> bool:
    """Give every row of a cluster the smallest label of the cluster (stored contacts' labels are negative).

    Only rows with a key value that another row of the file shares can change
    label, so the fixed-point iteration runs on those alone; returns whether
    there were any.  Their final labels stay in `sub` for the caller to drop.
    """
    if not keys:
        return False
    key_cols = ", ".join(q(k) for k in keys)
    shared = " OR ".join(f"{q(k)} IN (SELECT {q(k)} FROM inc WHERE {q(k)} <> '' GROUP BY 1 HAVING count(*) > 1)"
                         for k in keys)
    n = con.execute(f"CREATE OR REPLACE TEMP TABLE sub AS SELECT rn, label, {key_cols} FROM inc WHERE {shared}"
                    ).fetchall()[0][0]
    if n:
        parts = [f"CASE WHEN {q(k)} IS NULL OR {q(k)} = '' THEN label "
                 f"ELSE min(label) OVER (PARTITION BY {q(k)}) END" for k in keys]
        for _ in range(100_000):
            # each pass keeps the label it started from, so what moved is counted without a join
            con.execute(f"CREATE OR REPLACE TEMP TABLE sub2 AS SELECT rn, least(label, {', '.join(parts)}) AS label, "
                        f"{key_cols}, label AS _before FROM sub")
            moved = con.execute("SELECT count(*) FROM sub2 WHERE label <> _before").fetchall()[0][0]
            con.execute("DROP TABLE sub; ALTER TABLE sub2 RENAME TO sub")
            if not moved:
                break
        con.execute("UPDATE inc SET label = sub.label FROM sub WHERE inc.rn = sub.rn AND inc.label <> sub.label")
    return n > 0


def _assign_groups(con: duckdb.DuckDBPyConnection, plan: ImportPlan, now: datetime, keys: list[str],
                   run_id: int | None = None, new_from: int = _NO_ID) -> list[dict]:
    """Each accepted row's contact joins its groups; a mirror rule's groups lose the contacts the file does not name.

    With a `run_id`, the memberships added to contacts below `new_from` (those that existed before the
    run) and those removed are kept in `run_changes`.

    Mirror removes only what a complete list says: the contacts that rejected
    rows name (by their target or any valid key) keep their memberships, and a
    file none of whose rows was accepted changes no group (`_mirror_spared`).
    """
    mirror = _mirror_spared(con, plan, keys)
    # every cluster's contact: its target, or the id a new one took
    cids = "SELECT coalesce(f.target, n.cid) AS cid, f.grp FROM final f LEFT JOIN ids n USING (label)"
    parts = [f"SELECT cid, unnest(grp) AS g FROM ({cids} WHERE len(f.grp) > 0)"]
    if plan.file_groups:
        parts.append(f"SELECT cid, t.g FROM ({cids}), unnest(?::VARCHAR[]) AS t(g)")
    con.execute("CREATE OR REPLACE TEMP TABLE final_groups AS SELECT DISTINCT cid, lower(g) AS g, g AS name "
                f"FROM ({' UNION ALL '.join(parts)}) WHERE g IS NOT NULL AND g <> ''",
                [plan.file_groups] if plan.file_groups else [])
    names = [r[0] for r in con.execute("SELECT min(name) FROM final_groups GROUP BY g ORDER BY min(name)").fetchall()]
    names = list(dict.fromkeys(names + mirror))
    ids = ensure_groups(con, names, now, plan.group_category)
    # One statement for all the groups when each name has a group of its own; when two names find one
    # group (they differ in case only), name by name as before, each counting the members it added first.
    distinct = len({ids[name][0] for name in names}) == len(names)
    added_by_name = _add_members(con, names, ids, now, run_id, new_from) if distinct else {}
    report = []
    for name in names:
        gid, created = ids[name]
        if not distinct and run_id is not None:
            con.execute("INSERT INTO run_changes SELECT DISTINCT ?, f.cid, 'joined', NULL, ?, NULL, "
                        "CAST(?::TIMESTAMP AS VARCHAR) FROM final_groups f WHERE f.g = lower(?) AND f.cid < ? "
                        "AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = ? AND m.contact_id = f.cid)",
                        [run_id, gid, now, name, new_from, gid])
        added = added_by_name[name] if distinct else con.execute(
            "INSERT INTO memberships SELECT DISTINCT ?, f.cid, ? FROM final_groups f WHERE f.g = lower(?) "
            "AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = ? AND m.contact_id = f.cid)",
            [gid, now, name, gid]).fetchall()[0][0]
        removed = 0
        if name in mirror:
            leaving = ("FROM memberships WHERE group_id = ? AND contact_id NOT IN "
                       "(SELECT cid FROM final_groups WHERE g = lower(?)) AND contact_id NOT IN (SELECT id FROM spared)")
            if run_id is not None:
                con.execute(f"INSERT INTO run_changes SELECT ?, contact_id, 'left', NULL, group_id, "
                            f"CAST(added_at AS VARCHAR), NULL {leaving}", [run_id, gid, name])
            removed = con.execute(f"DELETE {leaving}", [gid, name]).fetchall()[0][0]
        report.append({"name": name, "created": created, "added": added, "removed": removed})
    if mirror:
        con.execute("DROP TABLE spared")
    return report


def _mirror_spared(con: duckdb.DuckDBPyConnection, plan: ImportPlan, keys: list[str]) -> list[str]:
    """The mirror groups this file may remove members from, and the contacts its rejected rows spare (`spared`).

    None when the file had rows and none was accepted: all rejected says nothing
    of who left the list.  The spared contacts are those a rejected row's
    target or any of its match keys names (every contact a conflict found),
    in one statement over the rejected rows' keys.
    """
    if not plan.mirror_groups:
        return []
    accepted = con.execute("SELECT count(*) FROM final").fetchall()[0][0]
    if not accepted and con.execute("SELECT count(*) FROM rejected_keys").fetchall()[0][0]:
        return []
    parts = ["SELECT target AS id FROM rejected_keys WHERE target IS NOT NULL"]
    parts += [f"SELECT c.id FROM contacts c JOIN rejected_keys r ON c.{q(k)} = r.{q(k)} WHERE r.{q(k)} <> ''"
              for k in keys]
    con.execute(f"CREATE OR REPLACE TEMP TABLE spared AS {' UNION '.join(parts)}")
    return list(plan.mirror_groups)


def _add_members(con: duckdb.DuckDBPyConnection, names: list[str], ids: dict[str, tuple[int, bool]],
                 now: datetime, run_id: int | None = None, new_from: int = 0) -> dict[str, int]:
    """Each cluster's contact joins the groups its rows name (`final_groups`), every group in one
    statement; name -> members added.  Each name must have a group of its own.  With a `run_id`, the
    memberships added to contacts below `new_from` are kept in `run_changes`.
    """
    gids = [ids[name][0] for name in names]
    con.register("group_names", pa.table({"name": pa.array(names, pa.string()), "gid": pa.array(gids, pa.int64())}))
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE new_members AS SELECT DISTINCT n.name, n.gid, f.cid "
                    "FROM final_groups f JOIN group_names n ON f.g = lower(n.name) "
                    "WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = n.gid AND m.contact_id = f.cid)")
    finally:
        con.unregister("group_names")
    con.execute("INSERT INTO memberships SELECT gid, cid, ? FROM new_members", [now])
    if run_id is not None:
        con.execute("INSERT INTO run_changes SELECT ?, cid, 'joined', NULL, gid, NULL, CAST(?::TIMESTAMP AS VARCHAR) "
                    "FROM new_members WHERE cid < ?", [run_id, now, new_from])
    added = dict.fromkeys(names, 0)
    added.update(con.execute("SELECT name, count(*) FROM new_members GROUP BY name").fetchall())
    con.execute("DROP TABLE new_members")
    return added
