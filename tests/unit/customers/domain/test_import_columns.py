"""Which column of an import file is which field (``domain.import_columns``): our names, a mapping,
Salesforce's and WukongCRM's columns, the values they write, as tables."""
from __future__ import annotations

import pytest

from services.customers.domain import import_columns as ic

FIELDS = frozenset({
    "name", "kind", "industry", "size", "level", "region", "address", "latitude", "longitude", "mobile", "telephone",
    "email", "website", "gender", "birthday", "source", "notes", "tags", "follow_stage", "next_contact_at",
    "contact_name", "contact_title", "contact_phone", "contact_email", "contact_birthday"})


def targets(header, mapping=None):
    resolved, errors = ic.resolve(header, FIELDS, mapping)
    assert errors == []
    return {c.name: sorted({t for t, _ in c.targets}) for c in resolved.columns}


@pytest.mark.parametrize("column, expected", [
    # our own names, as we write them, and written otherwise
    ("name", ["name"]), ("contact_phone", ["contact_phone"]), ("Contact Phone", ["contact_phone"]),
    ("  Industry ", ["industry"]), ("MOBILE", ["mobile"]), ("next_contact_at", ["next_contact_at"]),
    # Salesforce Account: report labels and Data Loader API names
    ("Account Name", ["name"]), ("NAME", ["name"]), ("Phone", ["telephone"]), ("Account Phone", ["telephone"]),
    ("Website", ["website"]), ("WEBSITE", ["website"]), ("Industry", ["industry"]), ("Type", ["tags"]),
    ("Account Type", ["tags"]), ("Rating", ["level"]), ("Account Rating", ["level"]), ("Description", ["notes"]),
    ("Account Description", ["notes"]), ("Employees", ["size"]), ("NumberOfEmployees", ["size"]),
    ("Account Source", ["source"]), ("Billing Street", ["address"]), ("BillingStreet", ["address"]),
    ("Billing City", ["address"]), ("Billing State/Province", ["address", "region"]),
    ("BillingState", ["address", "region"]), ("Billing Zip/Postal Code", ["address"]),
    ("BillingPostalCode", ["address"]), ("Billing Country", ["address"]), ("Billing Latitude", ["latitude"]),
    # Salesforce Contact
    ("Contact First Name", ["contact_name"]), ("First Name", ["contact_name"]), ("LastName", ["contact_name"]),
    ("Title", ["contact_title"]), ("Mobile Phone", ["contact_phone"]), ("Birthdate", ["contact_birthday"]),
    # WukongCRM's customer import template
    ("客户名称", ["name"]), ("客户级别", ["level"]), ("客户来源", ["source"]), ("客户行业", ["industry"]),
    ("手机", ["mobile"]), ("电话", ["telephone"]), ("网址", ["website"]), ("邮箱", ["email"]),
    ("地区", ["region"]), ("详细地址", ["address"]), ("备注", ["notes"]), ("下次联系时间", ["next_contact_at"]),
    ("联系人姓名", ["contact_name"]), ("联系人手机", ["contact_phone"]), ("职务", ["contact_title"]),
    # recognised and skipped: another CRM's ids, owners, times; our export's platform columns
    ("Account ID", []), ("Account Owner", []), ("Created Date", []), ("Fax", []), ("负责人", []), ("创建时间", []),
    ("id", []), ("deal_status", []), ("contacts_count", []),
])
def test_a_column_feeds(column, expected):
    assert targets(["name", column] if column.casefold() not in ("name", "account name", "客户名称") else [column]
                   )[column] == expected


@pytest.mark.parametrize("header, column, expected", [
    # in a file carrying contacts, a Contact export's person columns are the contact's
    (["Account Name", "First Name", "Last Name", "Email", "Mobile"], "Email", ["contact_email"]),
    (["Account Name", "First Name", "Last Name", "Email", "Mobile"], "Mobile", ["contact_phone"]),
    # ... not when written as our names, nor in a file without a contact
    (["name", "contact_name", "email", "mobile"], "email", ["email"]),
    (["name", "contact_name", "email", "mobile"], "mobile", ["mobile"]),
    (["Account Name", "Email", "Mobile"], "Email", ["email"]),
    (["Account Name", "Email", "Mobile"], "Mobile", ["mobile"]),
])
def test_person_columns_go_to_the_contact_in_a_contact_file(header, column, expected):
    assert targets(header)[column] == expected


@pytest.mark.parametrize("mapping, column, expected", [
    ({"Firma": "name"}, "Firma", ["name"]),
    ({"firma": "name"}, "Firma", ["name"]),              # the mapping's columns compared as the file's
    ({"Phone": "mobile"}, "Phone", ["mobile"]),          # a mapping beats the alias
    ({"Custom__c": None}, "Custom__c", []),              # null: skip it
])
def test_a_mapping_comes_first(mapping, column, expected):
    header = list(dict.fromkeys(["Firma" if "Firma" in mapping or "firma" in mapping else "name", column]))
    assert targets(header, mapping)[column] == expected


@pytest.mark.parametrize("header, mapping, fragment", [
    (["name", "Custom__c"], None, "Unknown column 'Custom__c'"),
    (["name", "x"], {"x": "owner_id"}, "mapped to 'owner_id', which is not a field"),
    (["Phone", "industry"], None, "No column gives the customer's name"),
    (["name", "Title", "Contact Title"], None, "all give contact_title"),
    (["name", "mobile", "手机"], None, "all give mobile"),
])
def test_header_errors(header, mapping, fragment):
    _, errors = ic.resolve(header, FIELDS, mapping)
    assert any(fragment in e for e in errors), errors


def test_only_fields_the_row_takes_are_fed():
    resolved, errors = ic.resolve(["name", "Website"], frozenset({"name"}))
    assert errors == [] and resolved.ignored == ("Website",)


@pytest.mark.parametrize("header, values, expected", [
    # parts joined in their rank order, whatever the columns' order
    (["Account Name", "Billing Country", "Billing City", "Billing Street"], ["Acme", "USA", "Springfield", "1 Main"],
     {"name": "Acme", "address": "1 Main, Springfield, USA"}),
    (["Account Name", "Last Name", "First Name"], ["Acme", "Doe", "Jane"],
     {"name": "Acme", "contact_name": "Jane Doe"}),
    (["客户名称", "省", "市", "区", "详细地址"], ["华星", "广东省", "深圳市", "南山区", "科技园1号"],
     {"name": "华星", "region": "广东省 深圳市 南山区", "address": "科技园1号"}),
    # a single field from several columns: the first non-empty, by rank
    (["Account Name", "Phone", "Account Phone"], ["Acme", "111", "222"], {"name": "Acme", "telephone": "222"}),
    (["Account Name", "Phone", "Account Phone"], ["Acme", "111", ""], {"name": "Acme", "telephone": "111"}),
    # empty cells are absent, cells stripped
    (["name", "industry"], ["  Acme ", "  "], {"name": "Acme"}),
    # the values other CRMs write, as ours
    (["name", "Rating"], ["A", "Hot"], {"name": "A", "level": "A"}),
    (["name", "客户级别"], ["A", "B（普通客户）"], {"name": "A", "level": "B"}),
    (["name", "客户来源"], ["A", "转介绍"], {"name": "A", "source": "referral"}),
    (["name", "Account Source"], ["A", "Trade Show"], {"name": "A", "source": "trade_show"}),
    (["name", "客户类型"], ["A", "个人"], {"name": "A", "kind": "individual"}),
    (["name", "性别"], ["A", "女"], {"name": "A", "gender": "female"}),
    (["name", "Rating"], ["A", "Lukewarm"], {"name": "A", "level": "Lukewarm"}),      # unknown: as written
])
def test_row_values(header, values, expected):
    resolved, errors = ic.resolve(header, FIELDS)
    assert errors == []
    assert ic.row_values(resolved, values) == expected


@pytest.mark.parametrize("text, tags", [
    ("a;b", ["a", "b"]), ("a, b ,a", ["a", "b"]), ("甲、乙；丙，丁", ["甲", "乙", "丙", "丁"]), ("x|y", ["x", "y"]),
    ("", []), (" ; ", []),
])
def test_split_tags(text, tags):
    assert ic.split_tags(text) == tags


@pytest.mark.parametrize("raw, mapping, problem", [
    (None, None, None), ("", None, None), ('{"Firma": "name", "X": null}', {"Firma": "name", "X": None}, None),
    ({"Firma": "name"}, {"Firma": "name"}, None),
    ("{bad", None, "Not valid JSON"), ('["name"]', None, "Must be an object"), ('{"a": 1}', None, "Must be an object"),
])
def test_parse_mapping(raw, mapping, problem):
    got, error = ic.parse_mapping(raw)
    assert got == mapping
    assert (error is None) if problem is None else problem in error


def test_a_mapping_nested_deeper_than_json_reads_is_a_clear_refusal():
    from services.customers.domain.import_columns import parse_mapping
    mapping, problem = parse_mapping("[" * 100_000 + "]" * 100_000)
    assert mapping is None and problem.startswith("Not valid JSON")
