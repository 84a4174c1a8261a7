"""A state machine over the store: imports, edits, deletes, merges, opt-outs and reinstatements in any order.

Imports run with the default `invalid_values: drop_value`: some rows carry a
bad value beside a good detail (left out, the row imported), some go through
a `mirror` rule, and some files are their reject workbook fixed and dropped back.
After every step: the recipient list (of every group, every contact, and an
ad-hoc list naming every value) holds no opted-out detail, and the opt-out list
is exactly what the opt-outs and reinstatements made it, so a detail becomes
reachable again only through `optout remove` (never through `runs undo`); and
what lists and searches read (each contact's kept search text and opt-out
marks) is what its fields and the opt-out list make it.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import hypothesis.strategies as st
from helpers import csv_file, make_home, read_xlsx, xlsx
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pipeline import store
from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.manage import contacts, groups, optouts, recipients
from pipeline.process import process_file

# Each detail: its canonical value and spellings a user or a file might use.
PHONES = [(f"+9725234567{n:02d}", [f"052-345-67{n:02d}", f"+972 52 345 67{n:02d}", f"9725234567{n:02d}",
                                   f"0523456 7{n:02d}"]) for n in range(6)]
EMAILS = [(f"p{n}@example.com", [f"p{n}@example.com", f" P{n}@Example.COM ", f"p{n}@EXAMPLE.com"]) for n in range(6)]
GROUPS = ["Alpha", "Beta", "Gamma"]
BAD_PHONES = ["054-111", "12", "phone?"]
BAD_EMAILS = ["x@", "nope", "a@b@c"]
#: Files named mirror* mirror the group Alpha (when they have no groups column).
MIRROR_RULE = "assign:\n  - {files: 'mirror*', groups: [Alpha], mode: mirror}\n"

phone_pick = st.tuples(st.integers(0, len(PHONES) - 1), st.integers(0, 3))
email_pick = st.tuples(st.integers(0, len(EMAILS) - 1), st.integers(0, 2))
detail_pick = st.one_of(phone_pick.map(lambda p: ("sms",) + p), email_pick.map(lambda p: ("email",) + p))


def spelled(pick) -> tuple[tuple[str, str], str]:
    channel, i, j = pick
    canon, spellings = (PHONES if channel == "sms" else EMAILS)[i]
    return (channel, canon), spellings[j % len(spellings)]


row_strategy = st.fixed_dictionaries({
    "phone": st.none() | phone_pick,
    "email": st.none() | email_pick,
    "name": st.sampled_from(["Dana", "Avi", "=cmd|' /C calc'!A0", "נועה"]),
    "group": st.sampled_from(GROUPS + [""]),
    "optout": st.sampled_from(["", "", "", "yes"]),
})


class OptOutMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="contacts-state-"))
        self.home = make_home(self.root / "home", groups=MIRROR_RULE)
        self.cfg = load_config(self.home)
        self.con = store.connect(self.cfg)
        self.out: set[tuple[str, str]] = set()      # what the opt-out list must hold
        self.files = 0

    def teardown(self) -> None:
        self.con.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def contact_ids(self) -> list[int]:
        return [r[0] for r in self.con.execute("SELECT id FROM contacts ORDER BY id").fetchall()]

    # ----------------------------------------------------------------- steps

    @rule(rows=st.lists(row_strategy, min_size=1, max_size=5), mirror=st.booleans())
    def import_file(self, rows, mirror) -> None:
        self.files += 1
        table = [["First name", "Mobile", "E-mail", "Groups", "Unsubscribed"]]
        for r in rows:
            phone = spelled(("sms",) + r["phone"]) if r["phone"] else None
            email = spelled(("email",) + r["email"]) if r["email"] else None
            table.append([r["name"], phone[1] if phone else "", email[1] if email else "", r["group"], r["optout"]])
        path = csv_file(self.root / f"file{self.files}.csv", table)
        summary = process_file(path, self.cfg, force=True, con=self.con)
        assert summary.status == "done", summary.reason
        # A row that says opt out opts its valid details out, whether or not the row was taken.
        for r in rows:
            if r["optout"]:
                for pick, ch in ((r["phone"], "sms"), (r["email"], "email")):
                    if pick:
                        self.out.add(spelled((ch,) + pick)[0])

    @rule(rows=st.lists(st.fixed_dictionaries({
        "good": detail_pick, "bad": st.integers(0, 2), "optout": st.sampled_from(["", "", "yes"])}),
        min_size=1, max_size=4), mirror=st.booleans(), fix=st.one_of(st.none(), detail_pick))
    def import_with_dropped_values(self, rows, mirror, fix) -> None:
        """Rows with a bad value beside a good detail: the bad one is left out, the row imported and listed;
        with `fix`, the reject workbook comes back with the bad cells fixed (and still saying opt out)."""
        self.files += 1
        table = [["First name", "Mobile", "E-mail", "Unsubscribed"]]
        for r in rows:
            (channel, _), raw = spelled(r["good"])
            cells = [raw, BAD_EMAILS[r["bad"]]] if channel == "sms" else [BAD_PHONES[r["bad"]], raw]
            table.append(["Dana"] + cells + [r["optout"]])
            if r["optout"]:
                self.out.add(spelled(r["good"])[0])
        path = csv_file(self.root / f"{'mirror' if mirror else 'file'}{self.files}.csv", table)
        summary = process_file(path, self.cfg, force=True, con=self.con)
        assert summary.status == "done", summary.reason
        assert summary.rows_with_dropped_values + summary.rows["rejected"] >= len(rows) - summary.rows["duplicate"]
        if fix is None or not summary.rejects_file:
            return
        book = read_xlsx(self.cfg.outbox / summary.outbox / summary.rejects_file)
        (channel, canon), raw = spelled(fix)
        column = 1 if channel == "sms" else 2
        for cells in book[1:]:
            if cells[column] in BAD_PHONES + BAD_EMAILS:
                cells[column] = raw
                if cells[3] == "yes":  # the fixed value sits on a row that says opt out: it is opted out too
                    self.out.add((channel, canon))
        back = xlsx(self.root / f"{path.stem}.rejects.xlsx", book)
        assert process_file(back, self.cfg, force=True, con=self.con).status == "done"

    @rule(pick=detail_pick, name=st.sampled_from(["Noa", "Eli"]), group=st.sampled_from(GROUPS))
    def add_contact(self, pick, name, group) -> None:
        (channel, _), raw = spelled(pick)
        try:
            contacts.add(self.con, self.cfg, {"phone" if channel == "sms" else "email": raw, "first_name": name},
                         [group])
        except PipelineError:
            pass  # the detail belongs to another contact

    @rule(k=st.integers(0, 50), pick=detail_pick)
    def edit_contact(self, k, pick) -> None:
        ids = self.contact_ids()
        if not ids:
            return
        (channel, _), raw = spelled(pick)
        try:
            contacts.edit(self.con, self.cfg, ids[k % len(ids)], {"phone" if channel == "sms" else "email": raw})
        except PipelineError:
            pass  # taken by another contact

    @rule(k=st.integers(0, 50))
    def delete_contact(self, k) -> None:
        ids = self.contact_ids()
        if ids:
            contacts.delete(self.con, self.cfg, ids[k % len(ids)])

    @rule(src=st.sampled_from(GROUPS), into=st.sampled_from(GROUPS))
    def merge_groups(self, src, into) -> None:
        try:
            groups.merge(self.con, self.cfg, src, into)
        except PipelineError:
            pass  # a group that does not exist (yet, or any more), or the same group

    @rule(picks=st.lists(detail_pick, min_size=1, max_size=3))
    def opt_out(self, picks) -> None:
        values = [spelled(p)[1] for p in picks]
        r = optouts.add(self.con, values, region="IL", reason="asked")
        assert r["invalid"] == 0
        self.out |= {spelled(p)[0] for p in picks}

    @rule(picks=st.lists(detail_pick, max_size=3), junk=st.sampled_from(["", "not a phone", "12", "x@"]))
    def opt_out_list(self, picks, junk) -> None:
        values = [spelled(p)[1] for p in picks] + [junk]
        r = optouts.import_values(self.con, values, source="pasted list", reason=None, region="IL")
        assert r["invalid"] == (1 if junk else 0)
        self.out |= {spelled(p)[0] for p in picks}

    @precondition(lambda self: self.out)
    @rule(k=st.integers(0, 50), j=st.integers(0, 3))
    def reinstate(self, k, j) -> None:
        channel, value = sorted(self.out)[k % len(self.out)]
        raw = value if channel == "email" else next(s for c, s in PHONES if c == value)[j]
        optouts.remove(self.con, raw, reason="opted in again", region="IL")
        self.out.discard((channel, value))

    @rule(pick=detail_pick)
    def reinstate_what_is_not_out(self, pick) -> None:
        detail, raw = spelled(pick)
        if detail in self.out:
            return
        try:
            optouts.remove(self.con, raw, reason="mistake", region="IL")
        except PipelineError:
            return
        raise AssertionError(f"{raw} was not opted out, yet its removal succeeded")

    @rule(k=st.integers(0, 50), twice=st.booleans())
    def undo_run(self, k, twice) -> None:
        """`runs undo` of any import (done, failed or undone already): it never changes the opt-out list."""
        runs = [r[0] for r in self.con.execute("SELECT id FROM runs ORDER BY id").fetchall()]
        if not runs:
            return
        for _ in range(2 if twice else 1):
            try:
                with store.transaction(self.con):
                    store.undo_run(self.con, runs[k % len(runs)], datetime.now())
            except PipelineError:
                pass  # undone already, or a run that imported nothing
        for d in ("phone", "email"):
            shared = self.con.execute(f"SELECT count(*) FROM (SELECT {d} FROM contacts WHERE {d} IS NOT NULL "
                                      "GROUP BY 1 HAVING count(*) > 1)").fetchall()[0][0]
            assert not shared, f"an undo gave two contacts one {d}"
        assert not self.con.execute("SELECT count(*) FROM contacts WHERE phone IS NULL AND email IS NULL"
                                    ).fetchall()[0][0], "an undo left a contact with no detail"

    # ----------------------------------------------------------------- checks

    @invariant()
    def opt_out_list_is_what_the_steps_made_it(self) -> None:
        held = set(self.con.execute("SELECT channel, value FROM optouts").fetchall())
        assert held == self.out, "only an opt-out adds to the list and only `optout remove` takes from it"

    @invariant()
    def recipients_never_hold_an_opted_out_detail(self) -> None:
        named = [s for _, spellings in PHONES + EMAILS for s in spellings[:1]]
        refs = contacts.resolve(self.con, self.cfg, values=named)
        for channel in (None, "sms", "email"):
            try:
                r = recipients.build(self.con, self.cfg, groups=[g for g in GROUPS if self.has_group(g)],
                                     channel=channel, contact_ids=self.contact_ids(), details=refs.details)
            except PipelineError:
                continue
            listed = [(row["channel"], row["value"]) for row in r.rows()]
            assert not set(listed) & self.out, "an opted-out detail is in the recipient list"
            assert len(listed) == len(set(listed)), "a detail is listed twice"
            if channel is None:
                # every detail that is not out, of a contact or named, is listed: nothing else is left out
                everything = {(c, v) for c, v in refs.details} | self.stored_details()
                assert set(listed) == everything - self.out

    @invariant()
    def what_lists_read_is_what_the_store_holds(self) -> None:
        """Each contact's kept search text and opt-out marks are those its fields and the opt-out list make."""
        own = {c: f'c."{c}"' for c in [*store.listing.search_columns(self.con), "phone", "email"]}
        wrong = self.con.execute(
            "SELECT c.id FROM contacts c WHERE " + " OR ".join(
                f"c.{col} IS DISTINCT FROM ({sql})" for col, sql in store.listing.marks(own).items())).fetchall()
        assert not wrong, f"opt-out marks differ from the opt-out list: contacts {wrong[:3]}"
        texts = [own[c] for c in store.listing.search_columns(self.con)]
        made = set(self.con.execute(f"SELECT id, lower(concat_ws(chr(31), {', '.join(texts)})), phone "
                                    "FROM contacts c").fetchall())
        kept = self.con.execute("SELECT id, text, phone FROM contact_search").fetchall()
        assert len(kept) == len(set(kept)) and set(kept) == made, "a search row is not its contact's"
        marks = self.con.execute("SELECT count(*) FROM contacts WHERE (phone IS NULL) <> (_phone_out IS NULL) "
                                 "OR (email IS NULL) <> (_email_out IS NULL)").fetchall()[0][0]
        assert not marks, "a mark is NULL exactly when its detail is"
        statuses = {(r[0], r[1]) for r in self.con.execute(
            f"SELECT 'sms', phone FROM contacts c WHERE {store.PHONE_STATUS} = 'opted_out' UNION ALL "
            f"SELECT 'email', email FROM contacts c WHERE {store.EMAIL_STATUS} = 'opted_out'").fetchall()}
        assert statuses == self.stored_details() & self.out, "a detail shows opted out exactly when it is"

    def has_group(self, name: str) -> bool:
        return store.first(self.con, "SELECT 1 FROM groups WHERE lower(name) = lower(?)", [name]) is not None

    def stored_details(self) -> set[tuple[str, str]]:
        rows = self.con.execute("SELECT 'sms', phone FROM contacts WHERE phone IS NOT NULL UNION ALL "
                                "SELECT 'email', email FROM contacts WHERE email IS NOT NULL").fetchall()
        return set(rows)


OptOutMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=15, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
TestOptOutsStayOut = OptOutMachine.TestCase
