"""Config files: defaults, validation naming file and key, safe YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def write(home: Path, name: str, text: str) -> None:
    (home / "config").mkdir(exist_ok=True)
    (home / "config" / name).write_text(text, encoding="utf-8")


def test_empty_home_works_on_defaults(tmp_path):
    cfg = load_config(tmp_path)
    assert cfg.pipeline.default_region == "IL"
    assert cfg.pipeline.match_on == ["external_id", "phone", "email"]
    assert cfg.database == tmp_path / "data" / "contacts.duckdb"
    assert cfg.fields.custom_fields == []


def test_shipped_example_config_is_valid():
    cfg = load_config(REPO)
    assert cfg.inbox == REPO / "inbox"


def test_design_examples_are_valid(tmp_path):
    write(tmp_path, "pipeline.yaml", """
database: data/contacts.duckdb
default_region: IL
match_on: [external_id, phone, email]
empty_cells: keep
invalid_values: reject_row
unknown_columns: ignore
settle_seconds: 2
schedules:
  - name: crm-nightly
    cron: "0 2 * * *"
    job: collect
    from: /srv/crm/exports/*.xlsx
  - name: optouts-nightly
    cron: "30 2 * * *"
    job: export
    what: optouts
""")
    write(tmp_path, "fields.yaml", """
custom_fields:
  - name: loyalty_tier
    type: choice
    choices: [gold, silver, bronze]
    aliases: ["Tier", "Loyalty level"]
  - name: signup_date
    type: date
aliases:
  phone: ["Mobile", "Cell", "נייד"]
ignore: ["Notes", "Internal *"]
rules:
  - files: "crm_*"
    columns: {"Cust No": external_id, "Segment": groups}
""")
    write(tmp_path, "groups.yaml", """
assign:
  - files: "crm_*"
    groups: ["CRM customers"]
    mode: mirror
  - files: "*"
    groups: []
dynamic:
  - name: Tel Aviv VIPs
    category: geo
    where:
      all:
        - {field: city, equals: "Tel Aviv"}
        - {field: loyalty_tier, in: [gold, silver]}
""")
    cfg = load_config(tmp_path)
    assert cfg.pipeline.schedules[0].from_ == "/srv/crm/exports/*.xlsx"
    assert [f.name for f in cfg.fields.custom_fields] == ["loyalty_tier", "signup_date"]
    assert cfg.groups.dynamic[0].where.all[1].in_ == ["gold", "silver"]


@pytest.mark.parametrize("name,text,words", [
    ("pipeline.yaml", "default_regoin: IL\n", ["pipeline.yaml", "default_regoin", "unknown key"]),
    ("pipeline.yaml", "empty_cells: wipe\n", ["pipeline.yaml", "empty_cells", "keep", "clear"]),
    ("pipeline.yaml", "default_region: XX\n", ["pipeline.yaml", "default_region"]),
    ("pipeline.yaml", "match_on: [phone, fax]\n", ["pipeline.yaml", "match_on"]),
    ("pipeline.yaml", "schedules:\n  - {name: a, cron: '0 2 * * *', job: collect}\n", ["schedules", "from"]),
    ("pipeline.yaml", "schedules:\n  - {name: a, cron: 'nightly', job: export, what: optouts}\n", ["cron"]),
    ("fields.yaml", "custom_fields:\n  - {name: tier, type: colour}\n", ["fields.yaml", "custom_fields.0.type"]),
    ("fields.yaml", "custom_fields:\n  - {name: phone}\n", ["fields.yaml", "built-in"]),
    ("fields.yaml", "custom_fields:\n  - {name: phone_raw}\n", ["fields.yaml", "phone_raw", "own columns"]),
    ("fields.yaml", "custom_fields:\n  - {name: rn}\n", ["fields.yaml", "rn", "own columns"]),
    ("fields.yaml", "custom_fields:\n  - {name: tier, type: choice}\n", ["fields.yaml", "choices"]),
    ("fields.yaml", "custom_fields:\n" + "".join(f"  - {{name: f{i}}}\n" for i in range(21)),
     ["fields.yaml", "custom_fields", "20"]),
    ("fields.yaml", "aliases:\n  fax: [Fax]\n", ["fields.yaml", "fax"]),
    ("fields.yaml", "rules:\n  - files: 'x*'\n    columns: {A: fax}\n", ["fields.yaml", "fax"]),
    ("fields.yaml", "custom_fields:\n  - {name: 'x; DROP TABLE contacts'}\n", ["fields.yaml", "custom_fields.0.name"]),
    ("groups.yaml", "dynamic:\n  - {name: a, where: {field: city}}\n", ["groups.yaml", "exactly one"]),
    ("groups.yaml", "dynamic:\n  - {name: a, where: {field: nope, equals: x}}\n", ["groups.yaml", "nope"]),
    ("groups.yaml", "assign:\n  - {files: '*', mode: sync}\n", ["groups.yaml", "assign.0.mode"]),
    ("groups.yaml", "- just a list\n", ["groups.yaml", "mapping"]),
])
def test_mistakes_name_file_and_key(tmp_path, name, text, words):
    write(tmp_path, name, text)
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path)
    message = str(e.value)
    assert "\n" not in message
    for w in words:
        assert w in message


def test_yaml_tags_are_refused(tmp_path):
    write(tmp_path, "pipeline.yaml", "database: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ConfigError, match="pipeline.yaml"):
        load_config(tmp_path)


def test_alias_bombs_are_refused(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n" \
           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c]\n"
    write(tmp_path, "groups.yaml", bomb)
    with pytest.raises(ConfigError, match="aliases are not allowed"):
        load_config(tmp_path)


def test_broken_yaml_is_one_sentence(tmp_path):
    write(tmp_path, "fields.yaml", "custom_fields: [\n")
    with pytest.raises(ConfigError, match="fields.yaml: not valid YAML"):
        load_config(tmp_path)


def test_home_from_environment(tmp_path, monkeypatch):
    write(tmp_path, "pipeline.yaml", "default_region: US\n")
    monkeypatch.setenv("CONTACTS_HOME", str(tmp_path))
    assert load_config().pipeline.default_region == "US"
