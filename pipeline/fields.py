"""The field catalog and header recognition.

A header is compared in a folded form: case, spaces, punctuation, accents and
Hebrew points ignored.  Precedence (DESIGN section 4): the operator's choices
for one import (`--map`, `--ignore`), then the first matching file rule's
`columns`, then `ignore`, then configured aliases, then built-in synonyms.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import unicodedata
from dataclasses import dataclass

import yaml

from .config import DEFAULT_FIELDS, CustomField, FieldsConfig, first_rule
from .errors import UsageError

#: Columns the reject workbook adds; a re-dropped workbook never imports them.
REJECT_COLUMNS = ("Reject reason", "Source row")

#: Built-in header synonyms, English and Hebrew; folded before use.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "first_name": ("first name", "firstname", "fname", "first", "given name", "forename", "name", "full name",
                   "contact name", "שם פרטי", "שם", "שם מלא", "prenom", "vorname", "nombre"),
    "last_name": ("last name", "lastname", "lname", "surname", "family name", "second name",
                  "שם משפחה", "משפחה", "nom", "nachname", "apellido"),
    "phone": ("phone", "phone number", "phone no", "mobile", "mobile phone", "mobile number", "cell",
              "cell phone", "cellphone", "cellular", "tel", "telephone", "msisdn", "sms", "whatsapp",
              "mobile no", "mobile phone number", "cell no", "cell number", "cellphone number", "phone num",
              "tel no", "telephone no", "telephone number", "contact number", "contact no",
              "טלפון", "נייד", "טלפון נייד", "פלאפון", "סלולרי", "סלולר", "מספר טלפון", "מספר נייד", "טל",
              "מס' טלפון", "מס' נייד", "מס' פלאפון", "מספר פלאפון", "טלפון סלולרי"),
    "email": ("email", "e-mail", "email address", "e-mail address", "mail", "e mail", "emailaddress",
              "email id", "mail address",
              "דואל", 'דוא"ל', "אימייל", "מייל", "דואר אלקטרוני", "כתובת מייל", "כתובת דואל", "כתובת אימייל"),
    "birth_date": ("birth date", "birthdate", "birthday", "date of birth", "dob", "born",
                   "תאריך לידה", "יום הולדת", "יום הולדת"),
    "gender": ("gender", "sex", "מין", "מגדר"),
    "city": ("city", "town", "locality", "עיר", "ישוב", "יישוב", "עיר מגורים"),
    "address": ("address", "street", "street address", "address line 1", "address 1", "כתובת", "רחוב"),
    "zip_code": ("zip", "zip code", "zipcode", "postal code", "postcode", "post code", "מיקוד"),
    "country": ("country", "nation", "country name", "ארץ", "מדינה"),
    "company": ("company", "company name", "organization", "organisation", "employer", "business",
                "חברה", "ארגון", "שם חברה"),
    "job_title": ("job title", "jobtitle", "title", "position", "role", "occupation", "תפקיד", "משרה"),
    "external_id": ("external id", "externalid", "id", "customer id", "customer number", "customer no",
                    "client id", "crm id", "contact id", "ref", "reference", "account number",
                    "id number", "national id", "identity number", "passport number",
                    "מזהה", "מספר לקוח", "קוד לקוח", "ת.ז.", 'ת"ז', "תז", "תעודת זהות", "מספר זהות", "מס' זהות",
                    "מספר תעודת זהות", "מס' ת.ז."),
    "groups": ("groups", "group", "tags", "tag", "lists", "list", "segment", "segments", "קבוצה", "קבוצות",
               "תגיות"),
    "optout": ("opt out", "optout", "opted out", "unsubscribed", "unsubscribe", "do not contact", "dnc",
               "הסרה", "הוסר", "הסר מרשימה", "לא להתקשר"),
}

#: The type of each default field.
DEFAULT_TYPES: dict[str, str] = {name: "text" for name in DEFAULT_FIELDS} | {"birth_date": "date"}

FIELD_LABELS: dict[str, str] = {
    "first_name": "First name", "last_name": "Last name", "phone": "Phone", "email": "Email",
    "birth_date": "Birth date", "gender": "Gender", "city": "City", "address": "Address",
    "zip_code": "Zip code", "country": "Country", "company": "Company", "job_title": "Job title",
    "external_id": "External ID", "groups": "Groups", "optout": "Opt out",
}


def fold(header: str) -> str:
    """A header's comparable form: case, accents, points, spaces and punctuation ignored."""
    decomposed = unicodedata.normalize("NFKD", header.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


@dataclass(frozen=True)
class FieldSpec:
    """One field of the catalog."""

    name: str
    type: str
    custom: bool
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    label: str = ""


def catalog(cfg: FieldsConfig) -> list[FieldSpec]:
    """Every field, default ones first, then custom ones in config order."""
    specs = [FieldSpec(n, DEFAULT_TYPES[n], False, aliases=tuple(cfg.aliases.get(n, ())),
                       label=FIELD_LABELS[n]) for n in DEFAULT_FIELDS]
    specs += [_custom_spec(f, cfg) for f in cfg.custom_fields]
    return specs


def _custom_spec(f: CustomField, cfg: FieldsConfig) -> FieldSpec:
    label = f.label or f.name.replace("_", " ").capitalize()
    return FieldSpec(f.name, f.type, True, tuple(f.choices), tuple(f.aliases) + tuple(cfg.aliases.get(f.name, ())),
                     label)


@dataclass(frozen=True)
class ColumnMap:
    """How one source column maps: `target` is a field name, `groups`, `optout`, or None (not imported)."""

    index: int
    header: str
    target: str | None
    how: str  # option | rule | ignored | alias | synonym | unknown | blank | reject_info

    @property
    def needs_choice(self) -> bool:
        """A column with a header that nothing recognised: the operator decides (`--map` or `--ignore`)."""
        return self.how == "unknown"

    def asdict(self) -> dict[str, object]:
        return {"header": self.header, "field": self.target, "how": self.how}


@dataclass(frozen=True)
class ColumnChoices:
    """The operator's column choices for one import (`--map HEADER=FIELD`, `--ignore HEADER`), over every rule.

    A HEADER matches a header as a fields.yaml rule does (folded).  A HEADER
    that matches no header and is a number (`2`) or `Column 2` is the 1-based
    column number, so a file with no header row can be mapped (`--map 2=phone`)
    whatever name its reading gave the column (`Column 2`, or `Phone` when it holds phones).
    """

    #: (HEADER, target) pairs in the order given; target is a field, `groups`, `optout` or `ignore`.
    maps: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.maps)

    def flags(self) -> list[str]:
        """The command-line options that give these choices again."""
        return [f"--ignore {shlex.quote(h)}" if t == "ignore" else f"--map {shlex.quote(f'{h}={t}')}" for h, t in self.maps]

    def targets(self, headers: list[str]) -> dict[int, str]:
        """Each chosen column's index and target; a HEADER the file does not have is a `UsageError` naming it."""
        folded = [fold(h) for h in headers]
        out: dict[int, str] = {}
        for header, target in self.maps:
            key = fold(header)
            if key and key in folded:
                found = [i for i, k in enumerate(folded) if k == key]
            elif (number := _column_number(key)) and number <= len(headers):
                found = [number - 1]
            else:
                option = "--ignore" if target == "ignore" else "--map"
                raise UsageError(f"{option} {header!r}: the file has no such column; its headers are "
                                 f"{', '.join(repr(h) for h in headers if h.strip()) or 'none'}.")
            out.update((i, target) for i in found)
        return out


def column_choices(maps: tuple[str, ...] | list[str], ignore: tuple[str, ...] | list[str],
                   cfg: FieldsConfig) -> ColumnChoices:
    """`--map HEADER=FIELD` and `--ignore HEADER` values read and checked like fields.yaml; a bad one is a `UsageError`."""
    known = [spec.name for spec in catalog(cfg)] + ["groups", "optout", "ignore"]
    pairs: list[tuple[str, str]] = []
    for value in maps:
        header, sep, target = value.rpartition("=")
        header, target = header.strip(), target.strip()
        if not sep or not header or not target:
            raise UsageError(f"--map {value!r} is not HEADER=FIELD, such as --map \"Mobile No.=phone\".")
        if target not in known:
            raise UsageError(f"--map {value!r}: {target!r} is not a field; use one of {', '.join(known)}.")
        pairs.append((header, target))
    pairs += [(header.strip(), "ignore") for header in ignore]
    return ColumnChoices(tuple(pairs))


def map_columns(headers: list[str], file_name: str, cfg: FieldsConfig,
                choices: ColumnChoices = ColumnChoices()) -> list[ColumnMap]:
    """Decide each column's target and why, by the precedence of DESIGN section 4 (the operator's choices first)."""
    chosen = choices.targets(headers)
    rule = first_rule(cfg.rules, file_name)
    rule_map = {fold(h): t for h, t in (rule.columns.items() if rule else ())}
    aliases: dict[str, str] = {}
    for spec in catalog(cfg):
        for a in spec.aliases:
            aliases.setdefault(fold(a), spec.name)
    for target in ("groups", "optout"):
        for a in cfg.aliases.get(target, ()):
            aliases.setdefault(fold(a), target)
    synonyms: dict[str, str] = {}
    for spec in catalog(cfg):
        synonyms.setdefault(fold(spec.name), spec.name)
        synonyms.setdefault(fold(spec.label), spec.name)
    for target, words in SYNONYMS.items():
        for w in words:
            synonyms.setdefault(fold(w), target)
    ignore = [g.casefold() for g in cfg.ignore]
    reject_cols = {fold(h) for h in REJECT_COLUMNS}

    out: list[ColumnMap] = []
    for i, header in enumerate(headers):
        key = fold(header)
        if i in chosen:
            out.append(ColumnMap(i, header, None if chosen[i] == "ignore" else chosen[i], "option"))
        elif key in rule_map:
            target = rule_map[key]
            out.append(ColumnMap(i, header, None if target == "ignore" else target,
                                 "ignored" if target == "ignore" else "rule"))
        elif not header.strip():
            out.append(ColumnMap(i, header, None, "blank"))
        elif key in reject_cols:
            out.append(ColumnMap(i, header, None, "reject_info"))
        elif any(fnmatch.fnmatch(header.casefold(), g) for g in ignore):
            out.append(ColumnMap(i, header, None, "ignored"))
        elif key in aliases:
            out.append(ColumnMap(i, header, aliases[key], "alias"))
        elif key in synonyms:
            out.append(ColumnMap(i, header, synonyms[key], "synonym"))
        elif (base := _unnumbered(key)) in aliases:
            out.append(ColumnMap(i, header, aliases[base], "alias"))
        elif base in synonyms:
            out.append(ColumnMap(i, header, synonyms[base], "synonym"))
        else:
            out.append(ColumnMap(i, header, None, "unknown"))
    return out


def _unnumbered(key: str) -> str:
    """A folded header without its trailing number (`Phone 2`, `Phone Number 1`): a second phone column is still a
    phone column, and columns mapped to one field are read first-filled-wins.  Empty for a header that is only a
    number (a year), which no synonym names."""
    return re.sub(r"[0-9]+$", "", key)


def _column_number(key: str) -> int:
    """The 1-based column a folded `--map` HEADER names by number (`2`, `Column 2`); 0 when it names none."""
    found = re.fullmatch(r"(?:column)?([0-9]+)", key)
    return int(found.group(1)) if found else 0


def choices_of(columns: list[ColumnMap], by_number: bool = False) -> ColumnChoices:
    """The `--map`/`--ignore` choices that pin this mapping, column by column.

    `by_number` for a file with no header row, whose column names are only the reader's.  Columns with no
    header and the reject workbook's own columns are never imported, so they need no choice.
    """
    return ColumnChoices(tuple((str(c.index + 1) if by_number else c.header,
                                c.target or "ignore")
                               for c in columns if c.how not in ("reject_info", "blank")))


def rule_yaml(file_name: str, columns: list[ColumnMap]) -> str:
    """A ready `rules:` entry for fields.yaml that pins this file's mapping."""
    stem = file_name.rsplit(".", 1)[0]
    pattern = stem.rstrip("0123456789-_ ") + "*" if stem.rstrip("0123456789-_ ") else stem + "*"
    cols = {c.header: (c.target or "ignore") for c in columns if c.header.strip() and c.how != "reject_info"}
    doc = {"rules": [{"files": pattern, "columns": cols}]}
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=1000)
