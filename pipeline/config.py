"""The three YAML config files, as pydantic models, and `load_config(home)`.

Every model forbids unknown keys so a typo is an error, never silently ignored.
YAML is read with a safe loader that also refuses aliases (no alias bombs) and
files larger than a config file has any reason to be.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from datetime import date, timezone
from pathlib import Path
from typing import Any, Iterator, Literal

import phonenumbers
import yaml
from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ConfigError

DEFAULT_FIELDS: tuple[str, ...] = (
    "first_name", "last_name", "phone", "email", "birth_date", "gender", "city",
    "address", "zip_code", "country", "company", "job_title", "external_id",
)
#: Each default field's type (every one is text but the birth date).
DEFAULT_TYPES: dict[str, str] = {name: "text" for name in DEFAULT_FIELDS} | {"birth_date": "date"}
#: Column targets that are not fields.
SPECIAL_TARGETS: tuple[str, ...] = ("groups", "optout", "ignore")
#: Columns the store keeps beside the fields, or the import works with: no custom field may take their names.
INTERNAL_COLUMNS: tuple[str, ...] = ("phone_raw", "email_raw", "rn", "grp", "label", "target", "first_rn", "cid")
#: Names a contact's record, its exports or the database already give a column: `id` and the times of the
#: record, the id columns of exports (`record_id`, `contact_id`), DuckDB's pseudo-column `rowid` (a field of
#: that name is shadowed by it and every import fails), and the reject workbook's two last columns (always
#: ignored when the workbook is dropped back, so such a field's values would never come back).
RESERVED_NAMES: tuple[str, ...] = ("id", "rowid", "record_id", "contact_id", "created_at", "updated_at",
                                   "reject_reason", "source_row")
#: Endings of computed columns (`phone_status`, `email_status`, and any a later status may add).
RESERVED_ENDINGS: tuple[str, ...] = ("_status",)
MAX_CUSTOM_FIELDS = 20
MAX_CONFIG_BYTES = 1_000_000
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: Control characters (C0, DEL, C1), as text fields lose them: none may reach a terminal or a file name.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_name(text: str | None) -> str:
    """A group name or category as the store keeps it: control characters dropped (a tab or line break is a
    space), spaces collapsed, stripped; as text fields are cleaned, so ESC, BEL and their like never reach a
    terminal or `--json`."""
    text = _CONTROL.sub(lambda m: " " if m.group().isspace() else "", text or "")
    return " ".join(text.split())


def _group_list(names: list[str]) -> list[str]:
    cleaned = [clean_name(n) for n in names]
    if not all(cleaned):
        raise ValueError("a group name cannot be blank")
    return cleaned


def _category(v: str | None) -> str | None:
    return clean_name(v) or None if v is not None else None


@dataclass(frozen=True)
class ReadLimits:
    """What one file may hold before it is refused whole; the defaults of `pipeline.yaml`'s limits."""

    max_bytes: int = 500_000_000
    max_rows: int = 5_000_000
    max_columns: int = 1000


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True)


# --------------------------------------------------------------------------- pipeline.yaml


WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
DAY_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


def cron_trigger(expr: str, tz: Any) -> CronTrigger:
    """A trigger for five cron fields, or six with seconds first; weekday numbers mean what they mean to crontab.

    Any mistake is a ValueError saying what is wrong, so the config can name the key.
    """
    parts = expr.split()
    second = "0"
    if len(parts) == 6:
        second, parts = parts[0], parts[1:]
    if len(parts) != 5:
        raise ValueError("expected 5 cron fields (minute hour day month weekday), or 6 with seconds first")
    minute, hour, day, month, weekday = parts
    try:
        return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                           day_of_week=_weekdays(weekday), timezone=tz)
    except (TypeError, LookupError) as e:  # APScheduler's own words for some bad fields
        raise ValueError(f"`{expr}` is not a cron expression ({e})") from None


def _weekdays(text: str) -> str:
    """A crontab weekday field (0 or 7 = Sunday; names, ranges, steps) in APScheduler's terms, which count from Monday."""
    if text in ("*", "?"):
        return "*"
    days: set[int] = set()
    for item in text.lower().split(","):
        span, slash, step_text = item.partition("/")
        if slash and not step_text.isdigit():
            raise ValueError(f"`{item}` has a step that is not a number")
        step = int(step_text) if slash else 1
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            a, b = span.split("-", 1)
            first, last = _weekday(a), _weekday(b)
        else:
            first = _weekday(span)
            last = 7 if slash else first
        if last < first or step < 1:
            raise ValueError(f"`{item}` is not a weekday range")
        days.update(d % 7 for d in range(first, last + 1, step))
    return "*" if len(days) == 7 else ",".join(WEEKDAYS[d] for d in sorted(days))


def _weekday(text: str) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text)
    for i, name in enumerate(DAY_NAMES):
        if len(text) >= 3 and name.startswith(text):
            return i
    raise ValueError(f"`{text}` is not a weekday (0-7, Sunday being 0 or 7, or sun-sat)")


class Schedule(Model):
    """One scheduled job of the daemon."""

    name: str = Field(min_length=1)
    """A name for logs and for the schedule's bookkeeping; unique."""
    cron: str
    """Five cron fields (minute hour day month weekday), or six with seconds first."""
    job: Literal["collect", "export"]
    """`collect` copies new or changed files matching `from` into the inbox; `export` writes a file to outbox/exports/."""
    from_: str | None = Field(default=None, alias="from")
    """collect: a glob of files to copy into the inbox."""
    what: Literal["contacts", "optouts", "recipients"] | None = None
    """export: which list to write."""
    groups: list[str] = []
    """export of recipients: the groups whose contacts to list; none lists every reachable contact."""
    channel: Literal["sms", "email"] | None = None
    """export of recipients: only this channel (both when absent)."""
    format: Literal["csv", "xlsx"] = "csv"
    """export: the file format."""
    keep: int = Field(default=30, ge=1)
    """export: how many of this schedule's files to keep in outbox/exports/; older ones are deleted after each run."""

    @field_validator("cron")
    @classmethod
    def _cron_fields(cls, v: str) -> str:
        cron_trigger(v, timezone.utc)  # every command refuses a cron the daemon could not run
        return v

    @field_validator("groups")
    @classmethod
    def _group_names(cls, v: list[str]) -> list[str]:
        return _group_list(v)

    @model_validator(mode="after")
    def _job_needs(self) -> "Schedule":
        if self.job == "collect" and not self.from_:
            raise ValueError("a collect job needs `from`, a glob of files to copy")
        if self.job == "export" and not self.what:
            raise ValueError("an export job needs `what`: contacts, optouts or recipients")
        return self


#: phonenumbers' number types (`PhoneNumberType`), by the names `sms_number_types` uses.
NUMBER_TYPES = ("fixed_line", "mobile", "fixed_line_or_mobile", "toll_free", "premium_rate", "shared_cost", "voip",
                "personal_number", "pager", "uan", "voicemail", "unknown")


class PipelineConfig(Model):
    """config/pipeline.yaml: folders, database, default region, matching, schedules."""

    database: str = "data/contacts.duckdb"
    """The DuckDB file, relative to the home folder."""
    inbox: str = "inbox"
    """Where contact files are dropped."""
    outbox: str = "outbox"
    """Where each processed file leaves its folder."""
    rejects: str = "rejects"
    """Where whole files that could not be processed go."""
    log_file: str = "logs/contacts.log"
    """The daemon's log file, relative to the home folder."""
    default_region: str = "IL"
    """ISO 3166 country for numbers written without a country code."""
    phone_format: Literal["e164", "national"] = "e164"
    """How tables show phones: `e164` (+972523334444) or `national` (052-333-4444 for the default region's
    numbers; other countries' stay E.164).  JSON and exports stay E.164 unless a command says otherwise."""
    match_on: list[Literal["external_id", "phone", "email"]] = ["external_id", "phone", "email"]
    """How a row finds an existing contact; the first key that matches wins."""
    empty_cells: Literal["keep", "clear"] = "keep"
    """What an empty cell does to an existing value."""
    invalid_values: Literal["reject_row", "drop_value"] = "drop_value"
    """drop_value (the default): a bad value is left out and the row, imported, is listed in the reject workbook
    saying so; only a row left with no valid detail is rejected.  reject_row: a bad value rejects its row."""
    unknown_columns: Literal["ignore", "hold"] = "ignore"
    """A column no rule maps is ignored (and listed), or the file is held in rejects/."""
    date_order: Literal["dmy", "mdy", "ymd"] = "dmy"
    """How to read an ambiguous date such as 03/04/2026."""
    settle_seconds: float = Field(default=2, ge=0)
    """A dropped file must stay unchanged this long before it is read."""
    rescan_seconds: float = Field(default=30, gt=0)
    """How often the daemon rescans the inbox for events the OS dropped."""
    max_file_mb: float = Field(default=ReadLimits.max_bytes / 1_000_000, gt=0)
    """Files larger than this are refused whole."""
    max_rows: int = Field(default=ReadLimits.max_rows, gt=0)
    """Files with more data rows than this are refused whole."""
    max_columns: int = Field(default=ReadLimits.max_columns, gt=0)
    """Files with more columns than this are refused whole."""
    database_memory_mb: int = Field(default=512, ge=64)
    """Memory the database may use before it spills work to disk beside the database file."""
    busy_wait_seconds: float = Field(default=600, ge=0)
    """How long a command waits for the database held by another process."""
    sms_number_types: list[str] = ["mobile", "fixed_line_or_mobile"]
    """The phone number types (phonenumbers' names) that take an SMS: the sms channel of `recipients` lists only these."""
    schedules: list[Schedule] = []
    """The daemon's scheduled jobs."""
    labels_as_groups: bool = False
    """Import label columns (Google `Labels`, Outlook `Categories`, a CRM's `Tags`) as groups; by default they
    are recognised and not imported.  A fields.yaml rule's `labels_as_groups` and `--labels-as-groups` decide
    over it."""
    keep_changes: bool = True
    """Each import keeps what it changed (created contacts, old values, memberships), so that `contacts runs undo`
    can revert it; false keeps nothing (such runs cannot be undone).  Left out of the documented keys: the
    benchmark turns it off to measure what keeping costs."""

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, v: str) -> str:
        v = v.upper()
        if v not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("expected an ISO 3166 country code that has phone numbers, such as IL or US")
        return v

    @field_validator("match_on")
    @classmethod
    def _match_keys(cls, v: list[str]) -> list[str]:
        if not v or len(set(v)) != len(v):
            raise ValueError("expected one or more of external_id, phone, email, each once")
        return v

    @field_validator("sms_number_types")
    @classmethod
    def _number_types(cls, v: list[str]) -> list[str]:
        v = [t.lower() for t in v]
        unknown = [t for t in v if t not in NUMBER_TYPES]
        if not v or unknown:
            raise ValueError(f"expected one or more of {', '.join(NUMBER_TYPES)}"
                             + (f", not {', '.join(unknown)}" if unknown else ""))
        return list(dict.fromkeys(v))

    @field_validator("schedules")
    @classmethod
    def _unique_names(cls, v: list[Schedule]) -> list[Schedule]:
        names = [s.name for s in v]
        if len(set(names)) != len(names):
            raise ValueError("schedule names must be unique")
        return v


# --------------------------------------------------------------------------- fields.yaml


class CustomField(Model):
    """A field beyond the default ones."""

    name: str
    """Lower-case letters, digits and underscores; not a default field's name."""
    type: Literal["text", "number", "date", "boolean", "choice"] = "text"
    """How its values are checked and stored."""
    choices: list[str] = []
    """choice: the allowed values (matched ignoring case)."""
    aliases: list[str] = []
    """Header names that map to this field."""
    label: str | None = None
    """The header the template and exports use; the name when absent."""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not FIELD_NAME.match(v):
            raise ValueError("expected lower-case letters, digits and underscores, starting with a letter")
        if v in DEFAULT_FIELDS or v in SPECIAL_TARGETS:
            raise ValueError(f"`{v}` is a built-in name")
        if v in INTERNAL_COLUMNS or v in RESERVED_NAMES or v.endswith(RESERVED_ENDINGS):
            raise ValueError(f"`{v}` is a name the store uses for its own columns; choose another")
        return v

    @model_validator(mode="after")
    def _choices(self) -> "CustomField":
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice field needs `choices`")
        if self.type != "choice" and self.choices:
            raise ValueError("only a choice field takes `choices`")
        return self


class FileRule(Model):
    """A column map for files whose name matches `files`."""

    files: str
    """A glob on the file's name, such as `crm_*`."""
    columns: dict[str, str] = {}
    """Header -> field name, `groups`, `optout` or `ignore`."""
    labels_as_groups: bool | None = None
    """Import these files' label columns (`Labels`, `Categories`, `Tags`...) as groups; unset: pipeline.yaml's
    `labels_as_groups`."""


class FieldsConfig(Model):
    """config/fields.yaml: custom fields, header aliases, per-file column maps."""

    custom_fields: list[CustomField] = Field(default=[], max_length=MAX_CUSTOM_FIELDS)
    """At most 20 fields beyond the default ones."""
    aliases: dict[str, list[str]] = {}
    """Extra header names for any field (or `groups`, `optout`)."""
    ignore: list[str] = []
    """Headers never imported (globs, ignoring case)."""
    rules: list[FileRule] = []
    """Per-file column maps; the first rule whose `files` matches applies."""

    @property
    def field_names(self) -> tuple[str, ...]:
        return DEFAULT_FIELDS + tuple(f.name for f in self.custom_fields)

    @model_validator(mode="after")
    def _known_targets(self) -> "FieldsConfig":
        names = [f.name for f in self.custom_fields]
        if len(set(names)) != len(names):
            raise ValueError("custom field names must be unique")
        known = set(self.field_names) | {"groups", "optout"}
        for target in self.aliases:
            if target not in known:
                raise ValueError(f"aliases: `{target}` is not a field (expected one of {', '.join(sorted(known))})")
        for i, rule in enumerate(self.rules):
            for header, target in rule.columns.items():
                if target not in known and target != "ignore":
                    raise ValueError(f"rules.{i}.columns: `{header}` maps to `{target}`, which is not a field, groups, optout or ignore")
        return self


# --------------------------------------------------------------------------- groups.yaml


class Condition(Model):
    """One test of a dynamic group: a field and exactly one operator, or `all`/`any` of conditions."""

    all: list["Condition"] | None = None
    any: list["Condition"] | None = None
    field: str | None = None
    # YAML reads 10 as a number and 2026-01-01 as a date: either is taken as written
    equals: str | bool | int | float | date | None = None
    in_: list[str | bool | int | float | date] | None = Field(default=None, alias="in")
    contains: str | None = None
    starts_with: str | None = None
    before: str | int | float | date | None = None
    after: str | int | float | date | None = None
    is_empty: bool | None = None

    @model_validator(mode="after")
    def _shape(self) -> "Condition":
        ops = [k for k in ("equals", "in_", "contains", "starts_with", "before", "after", "is_empty")
               if getattr(self, k) is not None]
        groups = [k for k in ("all", "any") if getattr(self, k) is not None]
        if groups:
            if self.field is not None or ops or len(groups) > 1:
                raise ValueError("a condition is either `all`, `any`, or a field test, not a mix")
        elif self.field is None or len(ops) != 1:
            raise ValueError("a field test needs `field` and exactly one of equals, in, contains, starts_with, before, after, is_empty")
        return self


class AssignRule(Model):
    """Which groups the rows of matching files join."""

    files: str
    """A glob on the file's name."""
    groups: list[str] = []
    """Group names, created when missing; empty: the contacts stay floating."""
    mode: Literal["add", "mirror"] = "add"
    """add: rows join the groups; mirror: the groups' members become exactly this file's contacts."""
    category: str | None = None
    """Category given to groups this rule creates."""

    _groups = field_validator("groups")(_group_list)
    _cat = field_validator("category")(_category)


class DynamicGroup(Model):
    """A group whose members are computed from fields, never stored."""

    name: str = Field(min_length=1)
    category: str | None = None
    where: Condition

    _cat = field_validator("category")(_category)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _group_list([v])[0]


class GroupsConfig(Model):
    """config/groups.yaml: which files' rows join which groups; dynamic groups."""

    assign: list[AssignRule] = []
    """The first rule whose `files` glob matches applies."""
    dynamic: list[DynamicGroup] = []
    """Groups computed from fields."""


# --------------------------------------------------------------------------- loading


class _NoAliasLoader(yaml.SafeLoader):
    """A safe loader that refuses anchors and aliases: config never needs them."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(f"aliases are not allowed (line {event.start_mark.line + 1})")
        return super().compose_node(parent, index)


def read_yaml(path: Path) -> Any:
    """Read one YAML file safely; an error names the file."""
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path.name}: the file is larger than a config file can be ({MAX_CONFIG_BYTES} bytes).")
    try:
        return yaml.load(path.read_text(encoding="utf-8-sig"), Loader=_NoAliasLoader)  # noqa: S506 - safe subclass
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"config/{path.name}: not valid YAML: {' '.join(str(e).split())}.") from None
    except RecursionError:  # the parser recurses once per level of nesting
        raise ConfigError(f"config/{path.name}: the YAML nests too deeply to be read.") from None


def _explain(name: str, err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"] if p not in ("function-after[_shape(), Condition]",))
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown key (a typo?)"
    where = f" key `{loc}`" if loc else ""
    return f"config/{name}:{where}: {msg}."


def parse_model(model: type[Model], name: str, data: Any) -> Any:
    """Validate loaded YAML against a model; an error is one sentence naming file and key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config/{name}: expected a mapping of keys at the top level.")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_explain(name, e)) from None


@dataclass(frozen=True)
class Config:
    """All of a home's settings, with its folders resolved."""

    home: Path
    pipeline: PipelineConfig
    fields: FieldsConfig
    groups: GroupsConfig

    def path(self, rel: str) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else self.home / p

    def shown(self, path: Path) -> str:
        """A path as logs and messages show it: relative to the home when it lies inside."""
        try:
            return str(Path(path).relative_to(self.home))
        except ValueError:
            return str(path)

    @property
    def database(self) -> Path:
        return self.path(self.pipeline.database)

    @property
    def inbox(self) -> Path:
        return self.path(self.pipeline.inbox)

    @property
    def optouts_inbox(self) -> Path:
        return self.inbox / "optouts"

    @property
    def outbox(self) -> Path:
        return self.path(self.pipeline.outbox)

    @property
    def rejects(self) -> Path:
        return self.path(self.pipeline.rejects)

    @property
    def log_file(self) -> Path:
        return self.path(self.pipeline.log_file)

    @property
    def read_limits(self) -> ReadLimits:
        p = self.pipeline
        return ReadLimits(max_bytes=int(p.max_file_mb * 1_000_000), max_rows=p.max_rows, max_columns=p.max_columns)


def first_rule(rules: list, file_name: str):
    """The first of the rules (fields.yaml `rules`, groups.yaml `assign`) whose `files` glob matches, or None."""
    name = file_name.casefold()
    return next((r for r in rules if fnmatch.fnmatch(name, r.files.casefold())), None)


def resolve_home(home: str | os.PathLike[str] | None) -> Path:
    """--home, else $CONTACTS_HOME, else the current directory."""
    return Path(home or os.environ.get("CONTACTS_HOME") or ".").resolve()


def load_config(home: str | os.PathLike[str] | None = None) -> Config:
    """Load and validate config/*.yaml under the home; absent files mean defaults.

    Every command runs this, so every command refuses what would lose data:
    places that coincide, a field named like a column of the store, a dynamic
    group's value of the wrong kind, a schedule that could never run.
    """
    root = resolve_home(home)
    parts: dict[str, Any] = {}
    for key, model in (("pipeline", PipelineConfig), ("fields", FieldsConfig), ("groups", GroupsConfig)):
        path = root / "config" / f"{key}.yaml"
        data = read_yaml(path) if path.is_file() else None
        parts[key] = parse_model(model, path.name, data)
    cfg = Config(home=root, **parts)
    _check_places(cfg)
    _cross_check(cfg)
    return cfg


#: The places pipeline.yaml names, in the order a mistake is reported.
PLACES = ("database", "inbox", "outbox", "rejects", "log_file")


def beside_database(database: Path) -> dict[str, Path]:
    """The files the daemon and DuckDB keep beside the database, by what they are."""
    return {"the daemon's lock file": database.parent / "daemon.lock",
            "the marker the daemon leaves while it holds the database": database.with_suffix(".busy"),
            "the schedules' state file": database.parent / "schedules.json",
            "the database's write-ahead log": database.with_name(database.name + ".wal")}


def _check_places(cfg: Config) -> None:
    """Refuse places that coincide or nest: an import would read its own outputs, or a write would replace the
    database or a file the daemon keeps beside it."""
    places = {key: getattr(cfg, key).resolve() for key in PLACES}
    raw = {key: getattr(cfg.pipeline, key) for key in PLACES}
    for i, key in enumerate(PLACES):
        here = places[key]
        for other in PLACES[:i]:
            there = places[other]
            if here == there:
                how = "is the same place as"
            elif there in here.parents:
                how = "lies inside"
            elif here in there.parents:
                how = "holds"
            else:
                continue
            raise ConfigError(f"config/pipeline.yaml: key `{key}`: `{raw[key]}` {how} `{other}` (`{raw[other]}`); "
                              "the database, the inbox, outbox and rejects folders and the log file each need a "
                              "place of their own, none inside another.")
    for key in ("database", "log_file"):
        for what, path in beside_database(places["database"]).items():
            if places[key] == path.resolve() and not (key == "database" and what.endswith("write-ahead log")):
                raise ConfigError(f"config/pipeline.yaml: key `{key}`: `{raw[key]}` is {what}, which the daemon "
                                  "keeps beside the database; name another file.")


def _cross_check(cfg: Config) -> None:
    names = [d.name for d in cfg.groups.dynamic]
    if len(set(n.casefold() for n in names)) != len(names):
        raise ConfigError("config/groups.yaml: key `dynamic`: dynamic group names must be unique.")
    # Every field test names a field (its values are judged by `manage.groups.check_values`).
    for c, where in dynamic_conditions(cfg.groups):
        if c.field is not None and c.field not in cfg.fields.field_names:
            raise ConfigError(f"config/groups.yaml: key `{where}.field`: `{c.field}` is not a field.")


def dynamic_conditions(groups: GroupsConfig) -> Iterator[tuple[Condition, str]]:
    """Every condition of every dynamic group, nested ones too, with the key that names it in groups.yaml."""

    def walk(c: Condition, where: str) -> Iterator[tuple[Condition, str]]:
        yield c, where
        for op in ("all", "any"):
            for j, sub in enumerate(getattr(c, op) or []):
                yield from walk(sub, f"{where}.{op}.{j}")

    for i, d in enumerate(groups.dynamic):
        yield from walk(d.where, f"dynamic.{i}.where")
