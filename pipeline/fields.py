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

from .config import DEFAULT_FIELDS, DEFAULT_TYPES, CustomField, FieldsConfig, first_rule
from .errors import UsageError

#: Columns the reject workbook adds; a re-dropped workbook never imports them.
REJECT_COLUMNS = ("Reject reason", "Source row")

#: A person's whole name in one cell: first_name when it is the file's only name, not imported when the
#: file also has a given-name column.
FULL_NAME_HEADERS: tuple[str, ...] = ("name", "full name", "contact name", "display name", "file as", "שם",
                                      "שם מלא")

#: Built-in header synonyms, English and Hebrew; folded before use.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "first_name": ("first name", "firstname", "fname", "first", "given name", "forename", *FULL_NAME_HEADERS,
                   "שם פרטי", "prenom", "vorname", "nombre"),
    "last_name": ("last name", "lastname", "lname", "surname", "family name", "second name",
                  "שם משפחה", "משפחה", "nom", "nachname", "apellido"),
    "phone": ("phone", "phone number", "phone no", "mobile", "mobile phone", "mobile number", "cell",
              "cell phone", "cellphone", "cellular", "tel", "telephone", "msisdn", "sms", "whatsapp",
              "mobile no", "mobile phone number", "cell no", "cell number", "cellphone number", "phone num",
              "tel no", "telephone no", "telephone number", "contact number", "contact no",
              "home phone", "business phone", "work phone", "other phone", "primary phone", "car phone",
              "landline", "landline number", "landline phone", "home phone number", "work phone number",
              "טלפון", "נייד", "טלפון נייד", "פלאפון", "סלולרי", "סלולר", "מספר טלפון", "מספר נייד", "טל",
              "מס' טלפון", "מס' נייד", "מס' פלאפון", "מספר פלאפון", "טלפון סלולרי", "טלפון בבית", "טלפון בעבודה"),
    "email": ("email", "e-mail", "email address", "e-mail address", "mail", "e mail", "emailaddress",
              "email id", "mail address", "primary email", "secondary email", "work email", "personal email",
              "home email",
              "דואל", 'דוא"ל', "אימייל", "מייל", "דואר אלקטרוני", "כתובת מייל", "כתובת דואל", "כתובת אימייל"),
    "birth_date": ("birth date", "birthdate", "birthday", "date of birth", "dob", "born",
                   "תאריך לידה", "יום הולדת", "יום הולדת"),
    "gender": ("gender", "sex", "מין", "מגדר"),
    "city": ("city", "town", "locality", "home city", "business city", "work city", "other city", "mailing city",
             "עיר", "ישוב", "יישוב", "עיר מגורים"),
    "address": ("address", "street", "street address", "address line 1", "address 1", "home street",
                "business street", "work street", "other street", "mailing street", "home address",
                "business address", "work address", "other address", "כתובת", "רחוב"),
    "zip_code": ("zip", "zip code", "zipcode", "postal code", "postcode", "post code", "home postal code",
                 "business postal code", "work postal code", "other postal code", "mailing postal code",
                 "mailing zip", "other zip", "מיקוד"),
    "country": ("country", "nation", "country name", "country/region", "home country", "home country/region",
                "business country", "business country/region", "work country", "other country",
                "other country/region", "mailing country", "ארץ", "מדינה"),
    "company": ("company", "company name", "organization", "organisation", "organization name", "employer",
                "business", "account name", "חברה", "ארגון", "שם חברה"),
    "job_title": ("job title", "jobtitle", "title", "position", "role", "occupation", "organization title",
                  "תפקיד", "משרה"),
    "external_id": ("external id", "externalid", "id", "customer id", "customer number", "customer no",
                    "client id", "crm id", "contact id", "ref", "reference", "account number", "ext id", "id number", "national id", "identity number", "passport number",
                    "מזהה", "מספר לקוח", "קוד לקוח", "ת.ז.", 'ת"ז', "תז", "תעודת זהות", "מספר זהות", "מס' זהות",
                    "מספר תעודת זהות", "מס' ת.ז."),
    "groups": ("groups", "group", "lists", "list", "segment", "segments", "קבוצה", "קבוצות"),
    "optout": ("opt out", "optout", "opted out", "unsubscribed", "unsubscribe", "do not contact", "dnc",
               "הסרה", "הוסר", "הסר מרשימה", "לא להתקשר"),
}

#: Headers of a contact's labels, categories or tags (Google `Labels` / `Group Membership`, Outlook
#: `Categories`, the tags of CRMs and mailing tools): groups only where the operator asks for it
#: (`--labels-as-groups`, `labels_as_groups` in pipeline.yaml or a fields.yaml rule).
LABEL_HEADERS: tuple[str, ...] = ("labels", "label", "group membership", "categories", "category", "tags", "tag",
                                  "תגיות", "תוויות")

#: Columns the exports of common tools carry that no field takes: recognised, never imported, and never
#: a column to choose for (nor one that `unknown_columns: hold` holds a file for).
EXPORT_COLUMNS: tuple[str, ...] = (
    # Google Contacts (both csv formats)
    "middle name", "additional name", "phonetic first name", "phonetic middle name", "phonetic last name",
    "yomi name", "given name yomi", "additional name yomi", "family name yomi", "name prefix", "name suffix",
    "initials", "nickname", "short name", "maiden name", "location", "billing information", "directory server",
    "mileage", "hobby", "sensitivity", "priority", "subject", "notes", "language", "photo",
    "organization department",
    # Outlook
    "suffix", "given yomi", "surname yomi", "e-mail type", "e-mail display name", "imaddress",
    "department", "office location", "manager's name", "assistant's name", "assistant's phone", "company yomi",
    "business state", "home state", "other state", "personal web page", "spouse", "schools", "web page",
    "anniversary", "business fax", "home fax", "other fax", "pager", "company main phone", "callback",
    "radio phone", "telex", "tty/tdd phone", "isdn", "account", "children", "government id number",
    "business address po box", "home address po box", "other address po box", "internet free busy", "keywords",
    "organizational id number", "private", "profession", "referred by", "user 1", "user 2", "user 3", "user 4",
    "business street 2", "business street 3", "home street 2", "home street 3", "other street 2",
    "other street 3",
    # HubSpot and Zoho CRM: their own record's id, as this store's exports write `record_id`: not an external id
    "record id",
    # HubSpot
    "contact owner", "associated company", "primary associated company id", "last activity date",
    "lead status", "marketing contact status", "create date", "lifecycle stage", "state/region",
    "website url",
    # Salesforce (Data Loader and report exports)
    "isdeleted", "masterrecordid", "accountid", "ownerid", "reportstoid", "mailing state", "mailing state code",
    "mailing country code", "fax", "assistantname", "assistantphone", "leadsource", "lead source",
    "description", "hasoptedoutofemail", "hasoptedoutoffax", "donotcall", "createddate", "createdbyid",
    "lastmodifieddate", "lastmodifiedbyid",
    # Zoho CRM
    "vendor name", "assistant", "asst phone", "reports to", "email opt out", "created by", "modified by",
    "created time", "modified time", "last activity time", "skype id", "twitter", "secondary email opt out",
    "unsubscribed mode", "unsubscribed time",
    # Mailchimp
    "member_rating", "optin_time", "optin_ip", "confirm_time", "confirm_ip", "latitude", "longitude",
    "gmtoff", "dstoff", "timezone", "cc", "region", "last_changed", "leid", "euid",
    # Brevo
    "added_time", "modified_time", "email_blacklisted", "sms_blacklisted", "double_opt-in",
    "opt_in", "list_ids",
)

#: Columns of those exports whose header is a common word (`Notes`, `Department`...): recognised as an
#: export's only in a file that has a column no other file has (one of the list above, or Google's numbered
#: groups); in any other file such a column needs the operator's choice as before.
GENERIC_EXPORT_COLUMNS: tuple[str, ...] = (
    "notes", "description", "department", "location", "language", "priority", "account", "private", "region",
    "timezone", "cc", "fax", "photo", "subject", "hobby", "spouse", "children", "initials", "nickname", "suffix",
    "anniversary", "keywords", "sensitivity", "mileage", "profession", "salutation", "twitter", "assistant",
    "web page", "schools", "lead source",
)

#: Google's numbered groups (`E-mail 1 - Value`, `Phone 2 - Label`, `Address 1 - City`...): the group and
#: the part, folded, and the target of the value; a part not listed is recognised and not imported.
GROUP_PARTS: dict[tuple[str, str], str] = {
    ("email", "value"): "email", ("phone", "value"): "phone",
    ("address", "street"): "address", ("address", "city"): "city", ("address", "postalcode"): "zip_code",
    ("address", "country"): "country",
    ("organization", "name"): "company", ("organization", "title"): "job_title",
}
#: The parts Google writes after `<Group> <n> - `: a header of this shape is a Google column.
_GROUP_PART_WORDS = ("value", "label", "type", "formatted", "street", "city", "pobox", "region", "postalcode",
                     "country", "extendedaddress", "name", "title", "department", "symbol", "location",
                     "jobdescription", "yominame", "service")
_GROUPED = re.compile(r"([a-z]+?)([0-9]+)(" + "|".join(_GROUP_PART_WORDS) + r")")

#: Each field's label, as the console and the template show it.
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
    #: option | rule | ignored | alias | synonym | unknown | blank | reject_info, and for columns recognised
    #: but not imported: labels (groups when asked), export (a tool's column no field takes), full_name (the
    #: file has a given-name column), honorific (a `Title` beside a `Job Title`)
    how: str

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
                choices: ColumnChoices = ColumnChoices(), labels_as_groups: bool | None = None,
                labels_default: bool = False) -> list[ColumnMap]:
    """Decide each column's target and why, by the precedence of DESIGN section 4 (the operator's choices first).

    Built-in recognition also reads the file as a whole: a full-name column is
    not imported when the file has a given-name column, and `Title` is an
    honorific when the file has a `Job Title`.  Label columns (`Labels`,
    `Categories`, `Tags`...) become `groups` only with `labels_as_groups`
    (None: the matching fields.yaml rule's key, else `labels_default`, pipeline.yaml's).
    """
    chosen = choices.targets(headers)
    rule = first_rule(cfg.rules, file_name)
    if labels_as_groups is None:
        labels_as_groups = rule.labels_as_groups if rule and rule.labels_as_groups is not None else labels_default
    rule_map = {fold(h): t for h, t in (rule.columns.items() if rule else ())}
    aliases: dict[str, str] = {}
    for spec in catalog(cfg):
        for a in spec.aliases:
            aliases.setdefault(fold(a), spec.name)
    for target in ("groups", "optout"):
        for a in cfg.aliases.get(target, ()):
            aliases.setdefault(fold(a), target)
    synonyms = _synonyms(cfg)
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
        else:
            target, how = _built_in(key, base, synonyms)
            out.append(ColumnMap(i, header, target, how))
    return _in_context(out, labels_as_groups)


_LABEL_KEYS = frozenset(fold(h) for h in LABEL_HEADERS)
_FULL_NAME_KEYS = frozenset(fold(h) for h in FULL_NAME_HEADERS)
_GENERIC_KEYS = frozenset(fold(h) for h in GENERIC_EXPORT_COLUMNS)
_EXPORT_KEYS = frozenset(fold(h) for h in EXPORT_COLUMNS) - _GENERIC_KEYS


def _synonyms(cfg: FieldsConfig) -> dict[str, str]:
    synonyms: dict[str, str] = {}
    for spec in catalog(cfg):
        synonyms.setdefault(fold(spec.name), spec.name)
        synonyms.setdefault(fold(spec.label), spec.name)
    for target, words in SYNONYMS.items():
        for w in words:
            synonyms.setdefault(fold(w), target)
    return synonyms


def _built_in(key: str, base: str, synonyms: dict[str, str]) -> tuple[str | None, str]:
    """A folded header (`key`, no synonym; `base`: without its number) by the built-in recognition: labels,
    Google's numbered groups, the same without a number, the known columns of tools' exports."""
    if key in _LABEL_KEYS:
        return None, "labels"
    if grouped := _GROUPED.fullmatch(key):
        target = GROUP_PARTS.get((grouped[1], grouped[3]))
        return (target, "synonym") if target else (None, "export")
    if base in synonyms:
        return synonyms[base], "synonym"
    if base in _LABEL_KEYS:
        return None, "labels"
    if key in _EXPORT_KEYS or base in _EXPORT_KEYS:
        return None, "export"
    if key in _GENERIC_KEYS or base in _GENERIC_KEYS:
        return None, "generic"
    return None, "unknown"


def _in_context(columns: list[ColumnMap], labels_as_groups: bool) -> list[ColumnMap]:
    """Built-in mappings that depend on the file's other columns, and label columns made groups when asked."""
    built_in = [c for c in columns if c.how == "synonym"]
    export = any(c.how == "export" for c in columns)  # a known tool's export: its common words are its columns
    given = any(c.target == "first_name" and fold(c.header) not in _FULL_NAME_KEYS for c in built_in)
    job_title = any(c.target == "job_title" and fold(c.header) != "title" for c in columns)
    out = []
    for c in columns:
        key = fold(c.header)
        if c.how == "synonym" and given and c.target == "first_name" and key in _FULL_NAME_KEYS:
            c = ColumnMap(c.index, c.header, None, "full_name")
        elif c.how == "synonym" and job_title and c.target == "job_title" and key == "title":
            c = ColumnMap(c.index, c.header, None, "honorific")
        elif c.how == "labels" and labels_as_groups:
            c = ColumnMap(c.index, c.header, "groups", "labels")
        elif c.how == "generic":
            c = ColumnMap(c.index, c.header, None, "export" if export else "unknown")
        out.append(c)
    return out


def _unnumbered(key: str) -> str:
    """A folded header without its numbers (`Phone 2`, `Phone Number 1`, `E-mail 2 Address`): a second phone
    column is still a phone column.  Empty for a header that is only a number (a year), which no synonym names."""
    return re.sub(r"[0-9]+", "", key)


#: Words (folded) by which a header or a label says a number is a mobile one.
MOBILE_WORDS: tuple[str, ...] = ("mobile", "cell", "sms", "whatsapp", "gsm", "handy", "movil", "celular",
                                 "portable", "נייד", "סלולר", "פלאפון")


def says_mobile(text: str) -> bool:
    """Whether a header or a label (`Mobile Phone`, `Cell`, `נייד`) says its number is a mobile one."""
    key = fold(text)
    return any(w in key for w in MOBILE_WORDS)


def phone_labels(headers: list[str]) -> dict[int, int]:
    """For each Google `Phone N - Value` column, the index of its `Phone N - Label` (or `- Type`) column."""
    keys = [fold(h) for h in headers]
    labels = {}
    for i, key in enumerate(keys):
        grouped = _GROUPED.fullmatch(key)
        if grouped and grouped[1] == "phone" and grouped[3] == "value":
            for part in ("label", "type"):
                name = f"phone{grouped[2]}{part}"
                if name in keys:
                    labels[i] = keys.index(name)
                    break
    return labels


#: Where a column of several for one field stands (lower first): home and plain before business, then other.
_RANKS = (("business", 1), ("work", 1), ("office", 1), ("mailing", 0), ("home", 0), ("other", 2))


def column_rank(header: str) -> int:
    """The order in which columns mapped to one field are read (first filled wins): `Home City` and `City`
    before `Business City`, then `Other City`; column order among equals."""
    key = fold(header)
    return next((rank for word, rank in _RANKS if key.startswith(word)), 0)


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
