"""The files operators already have import as they are: contacts exported by other tools.

Each tool's header row is written here in full, as the tool writes it, with
where the header list comes from.  Every test drives the real `contacts`
command on a file it writes, and asserts what the store holds.
"""

from __future__ import annotations

import json

import pytest
from helpers import cli, csv_file, make_home, real

# ---------------------------------------------------------------------------------------------------------- headers

# Google Contacts, "Google CSV" (contacts.google.com > Export > Google CSV). No Google page found lists its
# columns; the row below is the one its export writes as public tools that read and write it reproduce it
# (https://timelinize.com/docs/data-sources/contact-list recognises it; the readers and writers found searching
# "First Name,Middle Name,Last Name,Phonetic First Name,...,Labels,E-mail 1 - Label,E-mail 1 - Value" agree on it):
# the fixed columns, then `<Group> N - Label/Value` pairs as many as the account needs.
GOOGLE = ("First Name,Middle Name,Last Name,Phonetic First Name,Phonetic Middle Name,Phonetic Last Name,Name Prefix,"
          "Name Suffix,Nickname,File As,Organization Name,Organization Title,Organization Department,Birthday,Notes,"
          "Photo,Labels,E-mail 1 - Label,E-mail 1 - Value,E-mail 2 - Label,E-mail 2 - Value,Phone 1 - Label,"
          "Phone 1 - Value,Phone 2 - Label,Phone 2 - Value,Address 1 - Label,Address 1 - Formatted,"
          "Address 1 - Street,Address 1 - City,Address 1 - PO Box,Address 1 - Region,Address 1 - Postal Code,"
          "Address 1 - Country,Address 1 - Extended Address,Website 1 - Label,Website 1 - Value,Event 1 - Label,"
          "Event 1 - Value,Custom Field 1 - Label,Custom Field 1 - Value").split(",")

# Google Contacts, the older "Google CSV" (and Gmail's export before 2021), as listed in
# https://gist.github.com/janoamaral/30b3dac7961609715872e8c065406de3 and
# https://gist.github.com/yrcjaya/d48d14879245fe8c69d4d2e77b7a8933 (found under "Google Contacts CSV format
# columns Given Name Additional Name Family Name Group Membership").
GOOGLE_OLD = ("Name,Given Name,Additional Name,Family Name,Yomi Name,Given Name Yomi,Additional Name Yomi,"
              "Family Name Yomi,Name Prefix,Name Suffix,Initials,Nickname,Short Name,Maiden Name,Birthday,Gender,"
              "Location,Billing Information,Directory Server,Mileage,Occupation,Hobby,Sensitivity,Priority,Subject,"
              "Notes,Language,Photo,Group Membership,E-mail 1 - Type,E-mail 1 - Value,E-mail 2 - Type,"
              "E-mail 2 - Value,Phone 1 - Type,Phone 1 - Value,Phone 2 - Type,Phone 2 - Value,Phone 3 - Type,"
              "Phone 3 - Value,Address 1 - Type,Address 1 - Formatted,Address 1 - Street,Address 1 - City,"
              "Address 1 - PO Box,Address 1 - Region,Address 1 - Postal Code,Address 1 - Country,"
              "Address 1 - Extended Address,Organization 1 - Type,Organization 1 - Name,Organization 1 - Yomi Name,"
              "Organization 1 - Title,Organization 1 - Department,Organization 1 - Symbol,Organization 1 - Location,"
              "Organization 1 - Job Description").split(",")

# Outlook (desktop: File > Open & Export > Export to a file > Comma Separated Values). The fields are Outlook's
# contact fields as listed at https://www.spstechnical.com/outlook_contacts_schema.htm ("the field name must
# exactly match what is shown"); the row in the order Outlook writes it, as public tools reproduce it
# ("Full MS-OUTLOOK CSV Header", found searching `"Title","First Name","Middle Name","Last Name"`).
OUTLOOK = ("Title,First Name,Middle Name,Last Name,Suffix,Company,Department,Job Title,Business Street,"
           "Business Street 2,Business Street 3,Business City,Business State,Business Postal Code,"
           "Business Country/Region,Home Street,Home Street 2,Home Street 3,Home City,Home State,Home Postal Code,"
           "Home Country/Region,Other Street,Other Street 2,Other Street 3,Other City,Other State,Other Postal Code,"
           "Other Country/Region,Assistant's Phone,Business Fax,Business Phone,Business Phone 2,Callback,Car Phone,"
           "Company Main Phone,Home Fax,Home Phone,Home Phone 2,ISDN,Mobile Phone,Other Fax,Other Phone,Pager,"
           "Primary Phone,Radio Phone,TTY/TDD Phone,Telex,Account,Anniversary,Assistant's Name,Billing Information,"
           "Birthday,Business Address PO Box,Categories,Children,Directory Server,E-mail Address,E-mail Type,"
           "E-mail Display Name,E-mail 2 Address,E-mail 2 Type,E-mail 2 Display Name,E-mail 3 Address,"
           "E-mail 3 Type,E-mail 3 Display Name,Gender,Government ID Number,Hobby,Home Address PO Box,Initials,"
           "Internet Free Busy,Keywords,Language,Location,Manager's Name,Mileage,Notes,Office Location,"
           "Organizational ID Number,Other Address PO Box,Priority,Private,Profession,Referred By,Sensitivity,"
           "Spouse,User 1,User 2,User 3,User 4,Web Page").split(",")

# Outlook on the web (outlook.live.com > People > Manage contacts > Export contacts), the 61 columns it writes,
# as given in the public parsers of its export found searching "Title,Suffix,Nickname,Given Yomi,Surname Yomi"
# (their comment: "exported csv from https://outlook.live.com/people ... Default Headers"); the same field names
# as the desktop export above.
OUTLOOK_WEB = ("First Name,Middle Name,Last Name,Title,Suffix,Nickname,Given Yomi,Surname Yomi,E-mail Address,"
               "E-mail 2 Address,E-mail 3 Address,Home Phone,Home Phone 2,Business Phone,Business Phone 2,"
               "Mobile Phone,Car Phone,Other Phone,Primary Phone,Pager,Business Fax,Home Fax,Other Fax,"
               "Company Main Phone,Callback,Radio Phone,Telex,TTY/TDD Phone,IMAddress,Job Title,Department,Company,"
               "Office Location,Manager's Name,Assistant's Name,Assistant's Phone,Company Yomi,Business Street,"
               "Business City,Business State,Business Postal Code,Business Country/Region,Home Street,Home City,"
               "Home State,Home Postal Code,Home Country/Region,Other Street,Other City,Other State,"
               "Other Postal Code,Other Country/Region,Personal Web Page,Spouse,Schools,Hobby,Location,Web Page,"
               "Birthday,Anniversary,Notes").split(",")

# HubSpot (Contacts > Export, the default view's properties). The properties are HubSpot's own labels, listed at
# https://knowledge.hubspot.com/articles/kcs_article/contacts/how-do-i-import-contacts (Contact owner, Lifecycle
# stage, Email) and https://wildandfreetools.com/blog/format-csv-for-hubspot-contact-import (First name, Phone
# number, Mobile phone number, Job title, Company name, City, State/Region, Country/Region, Zip code...); an export
# writes `Record ID` first, then the view's columns with these labels (as public fixtures of HubSpot exports show:
# "Record ID,First Name,Last Name,Email,Phone Number,Lead Status,Create Date,Associated Company,...").
HUBSPOT = ("Record ID,First Name,Last Name,Email,Phone Number,Mobile Phone Number,Contact owner,Associated Company,"
           "Last Activity Date,Lead Status,Marketing contact status,Create Date,Lifecycle Stage,Job Title,"
           "Company Name,Street Address,City,State/Region,Postal Code,Country/Region").split(",")

# Salesforce (Data Loader export of the Contact object, whose header is the fields' API names), the fields as
# listed in the Contact object reference:
# https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_contact.htm
# (`Title` is the job title there; `Salutation` the honorific; `Name` the compound full name).
SALESFORCE = ("Id,IsDeleted,MasterRecordId,AccountId,LastName,FirstName,Salutation,Name,OtherStreet,OtherCity,"
              "OtherState,OtherPostalCode,OtherCountry,MailingStreet,MailingCity,MailingState,MailingPostalCode,"
              "MailingCountry,Phone,Fax,MobilePhone,HomePhone,OtherPhone,AssistantPhone,ReportsToId,Email,Title,"
              "Department,AssistantName,LeadSource,Birthdate,Description,OwnerId,HasOptedOutOfEmail,"
              "HasOptedOutOfFax,DoNotCall,CreatedDate,CreatedById,LastModifiedDate,LastModifiedById").split(",")

# Mailchimp (Audience > Export audience), the audience's default fields then Mailchimp's own columns; see
# http://kb.mailchimp.com/lists/growth/format-guidelines-for-your-import-file (Email Address, the default fields)
# and the export's columns MEMBER_RATING, OPTIN_TIME, CONFIRM_IP, LATITUDE... as described at
# https://zloadr.com/?id=98126&type=Book ("The Audience Decoded").
MAILCHIMP = ("Email Address,First Name,Last Name,Address,Phone Number,Birthday,MEMBER_RATING,OPTIN_TIME,OPTIN_IP,"
             "CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,CC,REGION,LAST_CHANGED,LEID,EUID,"
             "NOTES,TAGS").split(",")

# Zoho CRM (Setup > Data Administration > Export > Contacts): the Contacts module's field labels as listed at
# https://www.zoho.com/nl/crm/help/api/modules-fields.html (its field names in English: Contact Owner, Salutation, First Name, Last Name, Title,
# Department, Phone, Home Phone, Other Phone, Mobile, Mailing/Other Street, City, State, Zip, Country, Email Opt
# Out, Secondary Email, Skype ID, Twitter...), with the export's `Record Id`, `Full Name` and `Tag`.
ZOHO = ("Record Id,Contact Owner,Lead Source,First Name,Last Name,Account Name,Vendor Name,Email,Title,Department,"
        "Phone,Home Phone,Other Phone,Fax,Mobile,Date of Birth,Assistant,Asst Phone,Reports To,Email Opt Out,"
        "Created By,Modified By,Created Time,Modified Time,Full Name,Mailing Street,Other Street,Mailing City,"
        "Other City,Mailing State,Other State,Mailing Zip,Other Zip,Mailing Country,Other Country,Description,"
        "Skype ID,Secondary Email,Twitter,Last Activity Time,Tag,Salutation").split(",")

# Brevo (Contacts > Export): its default attributes EMAIL, FIRSTNAME, LASTNAME, SMS, LANDLINE_NUMBER, WHATSAPP,
# EXT_ID (https://help.brevo.com/hc/en-us/articles/208729849-Create-a-file-to-import-your-contacts) and the
# mandatory ADDED_TIME, MODIFIED_TIME of an export (https://developers.brevo.com/reference/request-contact-export).
BREVO = "EMAIL,FIRSTNAME,LASTNAME,SMS,LANDLINE_NUMBER,WHATSAPP,EXT_ID,ADDED_TIME,MODIFIED_TIME".split(",")

#: The columns of each export that must land in a field (header -> field); every other column is recognised.
MAIN_COLUMNS = {
    "google": {"First Name": "first_name", "Last Name": "last_name", "E-mail 1 - Value": "email",
               "E-mail 2 - Value": "email", "Phone 1 - Value": "phone", "Phone 2 - Value": "phone",
               "Organization Name": "company", "Organization Title": "job_title", "Birthday": "birth_date",
               "Address 1 - Street": "address", "Address 1 - City": "city", "Address 1 - Postal Code": "zip_code",
               "Address 1 - Country": "country", "File As": None, "Labels": None, "Phone 1 - Label": None},
    "google_old": {"Name": None, "Given Name": "first_name", "Family Name": "last_name",
                   "E-mail 1 - Value": "email", "Phone 1 - Value": "phone", "Phone 3 - Value": "phone",
                   "Address 1 - City": "city", "Organization 1 - Name": "company", "Gender": "gender",
                   "Group Membership": None},
    "outlook": {"Title": None, "First Name": "first_name", "Last Name": "last_name", "Job Title": "job_title",
                "Company": "company", "Business City": "city", "Home City": "city", "Other City": "city",
                "Home Street": "address", "Home Postal Code": "zip_code", "Home Country/Region": "country",
                "Mobile Phone": "phone", "Home Phone": "phone", "Business Phone": "phone", "Business Fax": None,
                "Pager": None, "E-mail Address": "email", "E-mail 2 Address": "email",
                "E-mail Display Name": None, "Categories": None},
    "outlook_web": {"Title": None, "First Name": "first_name", "Mobile Phone": "phone", "Home Phone": "phone",
                    "Business City": "city", "Home City": "city", "E-mail Address": "email",
                    "Job Title": "job_title"},
    "hubspot": {"Record ID": None, "First Name": "first_name", "Email": "email", "Phone Number": "phone",
                "Mobile Phone Number": "phone", "Job Title": "job_title", "Company Name": "company",
                "Street Address": "address", "City": "city", "Postal Code": "zip_code", "Country/Region": "country",
                "Contact owner": None, "Lead Status": None},
    "salesforce": {"Id": "external_id", "FirstName": "first_name", "LastName": "last_name", "Name": None,
                   "Salutation": None, "Title": "job_title", "MailingCity": "city", "OtherCity": "city",
                   "MobilePhone": "phone", "Phone": "phone", "HomePhone": "phone", "Fax": None, "Email": "email",
                   "Birthdate": "birth_date", "HasOptedOutOfEmail": None, "Description": None},
    "mailchimp": {"Email Address": "email", "First Name": "first_name", "Phone Number": "phone",
                  "Address": "address", "TAGS": None, "MEMBER_RATING": None, "NOTES": None},
    "zoho": {"Record Id": None, "First Name": "first_name", "Full Name": None, "Account Name": "company",
             "Title": "job_title", "Mobile": "phone", "Phone": "phone", "Email": "email",
             "Secondary Email": "email", "Mailing City": "city", "Date of Birth": "birth_date", "Tag": None,
             "Description": None},
    "brevo": {"EMAIL": "email", "FIRSTNAME": "first_name", "LASTNAME": "last_name", "SMS": "phone",
              "LANDLINE_NUMBER": "phone", "WHATSAPP": "phone", "EXT_ID": "external_id", "ADDED_TIME": None},
}
HEADERS = {"google": GOOGLE, "google_old": GOOGLE_OLD, "outlook": OUTLOOK, "outlook_web": OUTLOOK_WEB,
           "hubspot": HUBSPOT, "salesforce": SALESFORCE, "mailchimp": MAILCHIMP, "zoho": ZOHO, "brevo": BREVO}


# ---------------------------------------------------------------------------------------------------------- helpers


def export_file(path, header: list[str], rows: list[dict[str, str]]):
    """A csv with the tool's full header row and rows given by header."""
    unknown = {h for r in rows for h in r} - set(header)
    assert not unknown, unknown
    return csv_file(path, [header] + [[r.get(h, "") for h in header] for r in rows])


def imported(home, src, *args):
    r = cli(home, "import", str(src), "--json", *args)
    assert r.exit_code == 0, r.output
    (summary,) = json.loads(r.output)
    return summary


def stored(home) -> dict[str, dict]:
    """The store's contacts by e-mail, else by phone."""
    r = cli(home, "list", "--all", "--json")
    assert r.exit_code == 0, r.output
    return {c["email"] or c["phone"]: c for c in json.loads(r.output)}


def mapping(home, src, *args) -> dict[str, dict]:
    r = cli(home, "map", str(src), "--json", *args)
    assert r.exit_code == 0, r.output
    return {c["header"]: c for c in json.loads(r.output)}


# ---------------------------------------------------------------------------------------------------------- map


@pytest.mark.parametrize("tool", sorted(HEADERS))
def test_map_recognises_every_column_of_the_export(tmp_path, tool):
    home = make_home(tmp_path)
    src = export_file(tmp_path / f"{tool}.csv", HEADERS[tool], [{}])
    columns = mapping(home, src)
    assert [h for h, c in columns.items() if c.get("needs_choice")] == []
    for header, field in MAIN_COLUMNS[tool].items():
        assert columns[header]["field"] == field, (header, columns[header])


def test_map_says_labels_are_not_imported_and_how_to_ask(tmp_path):
    home = make_home(tmp_path)
    src = export_file(tmp_path / "google.csv", GOOGLE, [{}])
    r = real(home, "map", str(src))
    assert r.returncode == 0, r.stderr
    line = next(line for line in r.stdout.splitlines() if " Labels " in line)
    assert "--labels-as-groups" in line
    assert mapping(home, src, "--labels-as-groups")["Labels"]["field"] == "groups"


# ---------------------------------------------------------------------------------------------------------- Google


def test_google_export_imports_with_the_mobile_preferred(tmp_path):
    home = make_home(tmp_path)
    src = export_file(tmp_path / "contacts.csv", GOOGLE, [
        {"First Name": "דנה", "Last Name": "כהן", "File As": "כהן, דנה", "Labels": "* myContacts ::: לקוחות",
         "E-mail 1 - Label": "* Home", "E-mail 1 - Value": "dana@example.com",
         "Phone 1 - Label": "Home", "Phone 1 - Value": "03-612-3456",
         "Phone 2 - Label": "Mobile", "Phone 2 - Value": "052-345-6789",
         "Address 1 - City": "תל אביב", "Organization Name": "אקמה"},
        {"First Name": "John", "Last Name": "Smith", "Labels": "* myContacts ::: * starred ::: VIP ::: Clients",
         "E-mail 1 - Label": "* Work", "E-mail 1 - Value": "not-an-address ::: john@example.com",
         "Phone 1 - Label": "Mobile", "Phone 1 - Value": "03-612-3457 ::: 054-444-4444"},
        {"First Name": "Avi", "Last Name": "Levi", "Phone 1 - Label": "Work", "Phone 1 - Value": "+972 4-812-3456"},
        {"First Name": "Sara", "E-mail 1 - Value": "sara@example.com"},
    ])
    s = imported(home, src)
    assert s["rows"] | {"blank": 0} == {"total": 4, "new": 4, "updated": 0, "unchanged": 0, "duplicate": 0,
                                        "rejected": 0, "blank": 0}
    got = stored(home)
    dana = got["dana@example.com"]
    assert (dana["first_name"], dana["last_name"], dana["phone"], dana["city"], dana["company"]) == (
        "דנה", "כהן", "+972523456789", "תל אביב", "אקמה")
    john = got["john@example.com"]
    assert john["phone"] == "+972544444444", "of two numbers in a cell labelled Mobile, the mobile one"
    assert got["+97248123456"]["first_name"] == "Avi", "only a landline: the landline"
    assert got["sara@example.com"]["phone"] is None
    assert all(c["groups"] == [] for c in got.values()), "labels are not groups unless asked"


def test_google_labels_become_groups_when_asked(tmp_path):
    home = make_home(tmp_path)
    rows = [{"First Name": "Dana", "Labels": "* myContacts ::: לקוחות ::: VIP", "Phone 1 - Value": "0523456789"},
            {"First Name": "John", "Labels": "* myContacts ::: * starred", "Phone 1 - Value": "0544444444"}]
    src = export_file(tmp_path / "contacts.csv", GOOGLE, rows)
    imported(home, src, "--labels-as-groups")
    got = stored(home)
    assert sorted(got["+972523456789"]["groups"]) == ["VIP", "לקוחות"]
    assert got["+972544444444"]["groups"] == []


def test_labels_as_groups_in_a_fields_rule_and_in_pipeline_yaml(tmp_path):
    rows = [{"First Name": "Dana", "Labels": "* myContacts ::: Friends", "Phone 1 - Value": "0523456789"}]
    rule = make_home(tmp_path / "rule", fields="rules:\n  - files: 'contacts*'\n    labels_as_groups: true\n")
    imported(rule, export_file(tmp_path / "contacts.csv", GOOGLE, rows))
    assert stored(rule)["+972523456789"]["groups"] == ["Friends"]
    pipe = make_home(tmp_path / "pipe", pipeline="labels_as_groups: true\n")
    imported(pipe, export_file(tmp_path / "contacts2.csv", GOOGLE, rows))
    assert stored(pipe)["+972523456789"]["groups"] == ["Friends"]


def test_a_bad_labels_as_groups_value_is_a_config_error(tmp_path):
    home = make_home(tmp_path, pipeline="labels_as_groups: sometimes\n")
    r = real(home, "map", str(export_file(tmp_path / "c.csv", GOOGLE, [{}])))
    assert r.returncode == 2 and "labels_as_groups" in r.stderr, r.stderr


def test_google_old_export_keeps_the_given_name_not_the_full_name(tmp_path):
    home = make_home(tmp_path)
    src = export_file(tmp_path / "google.csv", GOOGLE_OLD, [
        {"Name": "משה לוי", "Given Name": "משה", "Family Name": "לוי", "Group Membership": "* myContacts ::: Team",
         "E-mail 1 - Type": "* Home", "E-mail 1 - Value": "moshe@example.com",
         "Phone 1 - Type": "Work", "Phone 1 - Value": "03-612-3456",
         "Phone 2 - Type": "Home", "Phone 2 - Value": "04-812-3456",
         "Phone 3 - Type": "Mobile", "Phone 3 - Value": "0523456789", "Address 1 - City": "Haifa"},
        {"Name": "Ann Lee", "Given Name": "Ann", "Family Name": "Lee", "Phone 1 - Type": "Home",
         "Phone 1 - Value": "036123457 ::: 0544444444"},
        {"Name": "Only Landline", "Given Name": "Only", "Phone 1 - Value": "048123457"},
        {"Name": "Mail Only", "Given Name": "Mail", "E-mail 1 - Value": "mail@example.com"},
    ])
    s = imported(home, src)
    assert (s["rows"]["new"], s["rows"]["rejected"]) == (4, 0)
    got = stored(home)
    assert (got["moshe@example.com"]["first_name"], got["moshe@example.com"]["last_name"],
            got["moshe@example.com"]["phone"], got["moshe@example.com"]["city"]) == (
        "משה", "לוי", "+972523456789", "Haifa")
    assert got["+972544444444"]["first_name"] == "Ann", "no label says mobile: the number that is one"
    assert got["+97248123457"]["first_name"] == "Only"
    assert got["mail@example.com"]["phone"] is None


# ---------------------------------------------------------------------------------------------------------- Outlook


@pytest.mark.parametrize("tool", ["outlook", "outlook_web"])
def test_outlook_export_title_is_an_honorific_and_the_home_city_comes_first(tmp_path, tool):
    home = make_home(tmp_path)
    src = export_file(tmp_path / "outlook.csv", HEADERS[tool], [
        {"Title": "Mr.", "First Name": "Yossi", "Last Name": "Mizrahi", "Job Title": "Engineer",
         "Business Phone": "03-612-3456", "Home Phone": "04-812-3456", "Mobile Phone": "052-345-6789",
         "Business City": "Tel Aviv", "Home City": "Haifa", "E-mail Address": "yossi@example.com"},
        {"Title": "ד\"ר", "First Name": "רותי", "Last Name": "שמעוני", "Business City": "ירושלים",
         "Business Phone": "02-612-3456", "E-mail Address": "ruti@example.com"},
        {"First Name": "Land", "Home Phone": "048123457", "Other City": "Eilat"},
        {"First Name": "Mail", "E-mail Address": "mail@example.com"},
    ])
    s = imported(home, src)
    assert (s["rows"]["total"], s["rows"]["new"], s["rows"]["rejected"]) == (4, 4, 0)
    got = stored(home)
    yossi = got["yossi@example.com"]
    assert (yossi["job_title"], yossi["phone"], yossi["city"]) == ("Engineer", "+972523456789", "Haifa")
    ruti = got["ruti@example.com"]
    assert (ruti["first_name"], ruti["job_title"], ruti["phone"], ruti["city"]) == (
        "רותי", None, "+97226123456", "ירושלים")
    assert got["+97248123457"]["city"] == "Eilat"
    assert got["mail@example.com"]["first_name"] == "Mail"


def test_outlook_categories_are_groups_when_asked(tmp_path):
    home = make_home(tmp_path)
    src = export_file(tmp_path / "outlook.csv", OUTLOOK, [
        {"First Name": "Yossi", "Mobile Phone": "0523456789", "Categories": "Clients;VIP"}])
    imported(home, src, "--labels-as-groups")
    assert sorted(stored(home)["+972523456789"]["groups"]) == ["Clients", "VIP"]


# ---------------------------------------------------------------------------------------------------------- CRMs

#: Per tool: its header names for (given, family, landline, mobile, e-mail, external id, tags), a tool lacking one
#: has None there.
CRM = {
    "hubspot": ("First Name", "Last Name", "Phone Number", "Mobile Phone Number", "Email", None, None),
    "salesforce": ("FirstName", "LastName", "Phone", "MobilePhone", "Email", "Id", None),
    "mailchimp": ("First Name", "Last Name", "Phone Number", None, "Email Address", None, "TAGS"),
    "zoho": ("First Name", "Last Name", "Phone", "Mobile", "Email", None, "Tag"),
    "brevo": ("FIRSTNAME", "LASTNAME", "LANDLINE_NUMBER", "SMS", "EMAIL", "EXT_ID", None),
}


@pytest.mark.parametrize("tool", sorted(CRM))
def test_crm_export_imports_with_the_mobile_preferred(tmp_path, tool):
    given, family, landline, mobile, email, ext, tags = CRM[tool]
    home = make_home(tmp_path)

    def row(**cells):
        return {header: value for header, value in cells.items() if header is not None}

    both = "03-612-3456 ::: 052-345-6789" if mobile is None else "03-612-3456"
    rows = [
        {given: "דנה", family: "כהן", landline: both, email: "dana@example.com", ext: "1001", tags: '"לקוחות","VIP"',
         **({mobile: "052-345-6789"} if mobile else {})},
        {given: "John", family: "Smith", email: "john@example.com", ext: "1002",
         **({mobile: "+972 54-444-4444"} if mobile else {landline: "+972 54-444-4444"})},
        {given: "Avi", landline: "04-812-3456", ext: "1003"},
        {given: "Sara", email: "sara@example.com", ext: "1004"},
    ]
    src = export_file(tmp_path / f"{tool}.csv", HEADERS[tool], [row(**{k: v for k, v in r.items() if k}) for r in rows])
    s = imported(home, src)
    assert (s["rows"]["total"], s["rows"]["new"], s["rows"]["rejected"]) == (4, 4, 0)
    got = stored(home)
    dana = got["dana@example.com"]
    assert (dana["first_name"], dana["last_name"], dana["phone"]) == ("דנה", "כהן", "+972523456789")
    assert dana["external_id"] == ("1001" if ext else None)
    assert got["john@example.com"]["phone"] == "+972544444444"
    assert got["+97248123456"]["first_name"] == "Avi"
    assert got["sara@example.com"]["phone"] is None
    assert all(c["groups"] == [] for c in got.values())
    if tags:
        home2 = make_home(tmp_path / "asked")
        imported(home2, src, "--labels-as-groups")
        assert sorted(stored(home2)["dana@example.com"]["groups"]) == ["VIP", "לקוחות"]


# ---------------------------------------------------------------------------------------------------------- mobile


def test_any_file_with_a_landline_and_a_mobile_column_keeps_the_mobile(tmp_path):
    home = make_home(tmp_path)
    src = csv_file(tmp_path / "list.csv", [
        ["Name", "Home Phone", "Mobile Phone", "Phone"],
        ["Dana", "03-612-3456", "052-345-6789", ""],
        ["Avi", "03-612-3457", "", ""],
        ["Noa", "", "not a number", "054-444-4444"],
        ["Eli", "036123458", "", "0544444445"],
    ])
    s = imported(home, src)
    assert s["rows"]["new"] == 4
    got = {c["first_name"]: c["phone"] for c in stored(home).values()}
    assert got == {"Dana": "+972523456789", "Avi": "+97236123457", "Noa": "+972544444444",
                   "Eli": "+972544444445"}
    assert s["rows_with_dropped_values"] == 0, "a bad number beside a good one is not the row's phone"


def test_a_row_with_only_bad_numbers_reports_the_first(tmp_path):
    home = make_home(tmp_path)
    src = csv_file(tmp_path / "list.csv", [["Email", "Home Phone", "Mobile Phone"],
                                           ["a@example.com", "03-1", "052-1"]])
    s = imported(home, src)
    assert s["rows"]["new"] == 1 and s["dropped_values"]["values"][0]["value"] == "03-1"


# ---------------------------------------------------------------------------------------------------------- vCard

VCARD_21 = (
    "BEGIN:VCARD\r\nVERSION:2.1\r\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D7=9B=D7=94=D7=9F;=D7=93=D7=A0=D7=94;;;\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D7=93=D7=A0=D7=94 =D7=9B=D7=94=D7=9F\r\n"
    "TEL;HOME;VOICE:03-612-3456\r\nTEL;CELL:052-345-6789\r\nEMAIL;INTERNET:dana@example.com\r\n"
    "ADR;HOME;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;;=D7=94=D7=A8=D7=A6=D7=9C 1;=D7=AA=D7=9C =\r\n"
    "=D7=90=D7=91=D7=99=D7=91;;6100000;Israel\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Smith;John\r\nTEL;WORK:04-812-3456\r\nEND:VCARD\r\n"
)
VCARD_30 = """BEGIN:VCARD
VERSION:3.0
N:Levi;Avi;;;
FN:Avi Levi
ORG:Acme Ltd.;Sales
TITLE:Manager
BDAY:1980-05-17
TEL;TYPE=WORK,VOICE:03-612-3457
TEL;TYPE=CELL,VOICE,PREF:+972 54-444-4444
EMAIL;TYPE=INTERNET,WORK:avi@example.com
item1.ADR;TYPE=HOME:;;Herzl 1\\, apt 2;Haifa;;3100000;Israel
CATEGORIES:Clients,VIP
NOTE:a long note that
  goes on a folded line
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Only A Name
EMAIL:only@example.com
END:VCARD
BEGIN:VCARD
VERSION:3.0
N:Nothing;Reach;;;
ORG:No detail
END:VCARD
"""
VCARD_40 = """BEGIN:VCARD
VERSION:4.0
N:Shapiro;Noa;;;
FN:Noa Shapiro
TEL;VALUE=uri;TYPE="voice,home":tel:+972-3-612-3458
TEL;VALUE=uri;TYPE="cell,text";PREF=1:tel:+972-52-345-6780
EMAIL;TYPE=work:noa@example.com
BDAY:19900102
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:Cut Short
TEL;TYPE=cell:0544444446
"""


def vcard(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_vcard_21_quoted_printable_with_charset_and_the_mobile_preferred(tmp_path):
    home = make_home(tmp_path)
    s = imported(home, vcard(tmp_path / "phone-export.txt", VCARD_21))  # the name says nothing: the content does
    assert s["source"]["format"] == "vcf" and s["rows"]["total"] == 2 and s["rows"]["new"] == 2
    got = stored(home)
    dana = got["dana@example.com"]
    assert (dana["first_name"], dana["last_name"], dana["phone"], dana["address"], dana["city"], dana["zip_code"]) == (
        "דנה", "כהן", "+972523456789", "הרצל 1", "תל אביב", "6100000")
    assert got["+97248123456"]["first_name"] == "John"


def test_vcard_30_cards_each_a_row_and_a_card_with_no_detail_rejected_at_its_place(tmp_path):
    home = make_home(tmp_path)
    s = imported(home, vcard(tmp_path / "contacts.vcf", VCARD_30), "--labels-as-groups")
    assert s["rows"]["total"] == 3 and s["rows"]["new"] == 2 and s["rows"]["rejected"] == 1
    assert s["reject_reasons"] == {"no_contact_detail": 1}
    got = stored(home)
    avi = got["avi@example.com"]
    assert (avi["phone"], avi["company"], avi["job_title"], avi["birth_date"], avi["address"], avi["city"]) == (
        "+972544444444", "Acme Ltd.", "Manager", "1980-05-17", "Herzl 1, apt 2", "Haifa")
    assert sorted(avi["groups"]) == ["Clients", "VIP"]
    assert got["only@example.com"]["first_name"] == "Only A Name"
    from helpers import read_xlsx
    rejects = read_xlsx(next((home / "outbox").glob("*/contacts.rejects.xlsx")))
    assert rejects[1][-1] == "3", "the reject workbook points at the third card"


def test_vcard_40_uri_phones_and_a_truncated_card(tmp_path):
    home = make_home(tmp_path)
    s = imported(home, vcard(tmp_path / "contacts.vcf", VCARD_40))
    assert s["rows"]["total"] == 2 and s["rows"]["new"] == 2
    got = stored(home)
    assert (got["noa@example.com"]["phone"], got["noa@example.com"]["birth_date"]) == ("+972523456780", "1990-01-02")
    assert got["+972544444446"]["first_name"] == "Cut Short"


def test_vcard_in_utf16_and_with_garbage_between_cards(tmp_path):
    home = make_home(tmp_path)
    text = VCARD_30.replace("END:VCARD\nBEGIN:VCARD\nVERSION:3.0\nFN:Only", "END:VCARD\n%%garbage%%\nBEGIN:VCARD\nFN:Only")
    s = imported(home, vcard(tmp_path / "contacts.vcf", "\ufeff" + text, "utf-16-le"))
    assert s["rows"]["total"] == 3 and s["source"]["warnings"] == ["1 line(s) outside any card were skipped."]


def test_vcard_header_options_do_not_apply(tmp_path):
    home = make_home(tmp_path)
    r = cli(home, "import", str(vcard(tmp_path / "c.vcf", VCARD_40)), "--header-row", "2")
    assert r.exit_code == 2 and "vCard" in r.output


def test_naughty_strings_in_cards_break_nothing(tmp_path):
    from helpers import naughty_strings
    strings = naughty_strings()
    cards = "".join(f"BEGIN:VCARD\nVERSION:3.0\nFN:{s}\nN:{s};{s};;;\nORG:{s}\nTEL;TYPE=CELL:05{i % 10}"
                    f"{2000000 + i:07d}\nEND:VCARD\n" for i, s in enumerate(strings))
    home = make_home(tmp_path)
    s = imported(home, vcard(tmp_path / "naughty.vcf", cards))
    rows = s["rows"]
    assert rows["total"] == len(strings)
    assert sum(rows[k] for k in ("new", "updated", "unchanged", "duplicate", "rejected")) == rows["total"]


@pytest.mark.parametrize("text", [
    "BEGIN:VCARD\n",
    "BEGIN:VCARD\nVERSION:3.0\n:::\n;;;\nTEL;TYPE=\nEMAIL;ENCODING=QUOTED-PRINTABLE;CHARSET=nonsense:=ZZ=\nN:\x00\x1b;\nEND:VCARD\n",
    "BEGIN:VCARD\nEND:VCARD\nEND:VCARD\nBEGIN:VCARD\nBEGIN:VCARD\nTEL:0523456789\n",
    "begin:vcard\r\nversion:2.1\r\ntel;cell:0523456789\r\nend:vcard",
])
def test_garbage_and_cut_cards_are_rows_accounted_for(tmp_path, text):
    home = make_home(tmp_path)
    src = vcard(tmp_path / "odd.vcf", text)
    s = imported(home, src)
    rows = s["rows"]
    assert rows["total"] == text.upper().count("BEGIN:VCARD")
    assert sum(rows[k] for k in ("new", "updated", "unchanged", "duplicate", "rejected")) == rows["total"]


def test_the_mobile_fast_path_agrees_with_phonenumbers():
    import random

    import phonenumbers
    import pyarrow as pa

    from pipeline.normalize.details import mobile_numbers

    def _is_mobile(n: str) -> bool:  # the library's own answer
        return phonenumbers.number_type(phonenumbers.parse(n)) in (phonenumbers.PhoneNumberType.MOBILE,
                                                                   phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)

    rng = random.Random(5)
    numbers = ["+972" + p + "".join(rng.choice("0123456789") for _ in range(n))
               for p, n in [("5", 8), ("2", 7), ("3", 7), ("7", 8), ("1", 8), ("8", 7), ("9", 7), ("4", 7)] * 300]
    valid = [n for n in numbers if phonenumbers.is_valid_number(phonenumbers.parse(n))] + ["+442079460958"]
    assert len(valid) > 500
    got = mobile_numbers(pa.array(valid)).to_pylist()
    assert got == [_is_mobile(n) for n in valid]
    assert any(got) and not all(got)
