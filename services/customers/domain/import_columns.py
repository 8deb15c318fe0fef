"""Which column of a customer import file is which of our fields: our own column names, a mapping
given with the request, and, out of the box, the column names of the files other CRMs give --
Salesforce's Account and Contact exports (field labels as reports export them, API names as Data
Loader does) and WukongCRM's customer import template (悟空CRM 客户导入模板) -- with the values those
files write for a level, a source, a gender or a kind turned into ours.

A header resolves to, for each column, the fields it feeds (``Column``); several columns may feed
one field: the parts of an address or of a person's name are joined in their order (``JOINED``),
for any other field the first non-empty one (in that order) is taken. Columns another CRM writes
that we keep nothing of (its ids, owners, audit times) are recognised and skipped (``IGNORED``);
a column nobody knows is an error naming it, unless the mapping maps it to ``null``.

Pure: no I/O. ``tests/unit/customers/domain/test_import_columns.py`` tables it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Our contact's columns in an import file (the customer's are the customer's own field names).
CONTACT_COLUMNS = {"contact_name": "name", "contact_title": "title", "contact_phone": "phone",
                   "contact_email": "email", "contact_birthday": "birthday"}
# Fields fed by several columns are joined, in the columns' order (rank), with this separator.
JOINED = {"address": ", ", "region": " ", "contact_name": " ", "notes": "\n"}
TAG_SEPARATORS = re.compile(r"[;,，；、|]")

# Another CRM's column (compared case- and space-insensitively) -> [(our field, rank)].
_SALESFORCE = {
    # Account (report labels, and Data Loader's API names)
    "account name": [("name", 0)], "name": [("name", 0)], "account": [("name", 1)],
    "account phone": [("telephone", 0)], "phone": [("telephone", 1)],
    "website": [("website", 0)], "industry": [("industry", 0)],
    "account type": [("tags", 0)], "type": [("tags", 0)],
    "account rating": [("level", 0)], "rating": [("level", 0)],
    "account description": [("notes", 0)], "description": [("notes", 0)],
    "employees": [("size", 0)], "numberofemployees": [("size", 0)],
    "account source": [("source", 0)], "accountsource": [("source", 0)], "lead source": [("source", 1)],
    "leadsource": [("source", 1)],
    "billing street": [("address", 0)], "billingstreet": [("address", 0)],
    "billing city": [("address", 1)], "billingcity": [("address", 1)],
    "billing state/province": [("region", 0), ("address", 2)], "billing state": [("region", 0), ("address", 2)],
    "billingstate": [("region", 0), ("address", 2)],
    "billing zip/postal code": [("address", 3)], "billing postal code": [("address", 3)],
    "billing postalcode": [("address", 3)], "billingpostalcode": [("address", 3)],
    "billing country": [("address", 4)], "billingcountry": [("address", 4)],
    "billing latitude": [("latitude", 0)], "billinglatitude": [("latitude", 0)],
    "billing longitude": [("longitude", 0)], "billinglongitude": [("longitude", 0)],
    # Contact (a Contacts & Accounts report, a Contact export)
    "contact first name": [("contact_name", 0)], "first name": [("contact_name", 0)],
    "firstname": [("contact_name", 0)],
    "contact last name": [("contact_name", 1)], "last name": [("contact_name", 1)], "lastname": [("contact_name", 1)],
    "contact name": [("contact_name", 0)], "full name": [("contact_name", 0)],
    "title": [("contact_title", 0)], "contact title": [("contact_title", 0)],
    "contact email": [("contact_email", 0)],
    "contact phone": [("contact_phone", 0)], "business phone": [("contact_phone", 2)],
    "contact mobile": [("contact_phone", 1)], "mobile phone": [("contact_phone", 1)],
    "mobilephone": [("contact_phone", 1)],
    "birthdate": [("contact_birthday", 0)], "contact birthdate": [("contact_birthday", 0)],
}
_WUKONG = {
    # 客户 (the customer import template's columns)
    "客户名称": [("name", 0)], "客户级别": [("level", 0)], "客户来源": [("source", 0)],
    "客户行业": [("industry", 0)], "手机": [("mobile", 0)], "电话": [("telephone", 0)], "网址": [("website", 0)],
    "邮箱": [("email", 0)], "电子邮箱": [("email", 0)], "备注": [("notes", 0)],
    "下次联系时间": [("next_contact_at", 0)],
    "地区": [("region", 0)], "省": [("region", 0)], "市": [("region", 1)], "区": [("region", 2)],
    "省市区": [("region", 0)], "所在地区": [("region", 0)], "地区定位": [("region", 0)],
    "详细地址": [("address", 0)], "地址": [("address", 0)], "客户类型": [("kind", 0)], "性别": [("gender", 0)],
    "生日": [("birthday", 0)], "标签": [("tags", 0)], "客户标签": [("tags", 0)], "公司规模": [("size", 0)],
    "客户规模": [("size", 0)], "跟进状态": [("follow_stage", 0)], "客户阶段": [("follow_stage", 0)],
    # 联系人 (its contact columns, and the contacts template's)
    "联系人": [("contact_name", 0)], "联系人姓名": [("contact_name", 0)], "姓名": [("contact_name", 0)],
    "联系人手机": [("contact_phone", 0)], "联系人电话": [("contact_phone", 1)], "职务": [("contact_title", 0)],
    "联系人职务": [("contact_title", 0)], "联系人邮箱": [("contact_email", 0)], "联系人生日": [("contact_birthday", 0)],
}
ALIASES: dict[str, list[tuple[str, int]]] = {**_SALESFORCE, **_WUKONG}

# In a file that carries contacts (a column feeds ``contact_name``), Salesforce's person columns are
# the contact's: a Contact export's Email, Mobile and Birthdate (written as labels, not as our names).
CONTACT_CONTEXT = {"email": [("contact_email", 1)], "mobile": [("contact_phone", 1)],
                   "birthday": [("contact_birthday", 1)]}

# Columns other CRMs write that we keep nothing of (ids, owners, audit times, shipping...): skipped.
IGNORED = frozenset({
    "id", "account id", "accountid", "contact id", "contactid", "parent account", "parent account id",
    "parentid", "account owner", "owner", "owner id", "ownerid", "contact owner", "created date",
    "createddate", "created by", "createdbyid", "last modified date", "lastmodifieddate", "last modified by",
    "lastmodifiedbyid", "last activity", "lastactivitydate", "account number", "accountnumber", "annual revenue",
    "annualrevenue", "ownership", "ticker symbol", "tickersymbol", "sic code", "sic", "account site", "site",
    "fax", "account fax", "salutation", "department", "reports to", "mailing street", "mailing city",
    "mailing state/province", "mailing zip/postal code", "mailing country", "shipping street", "shipping city",
    "shipping state/province", "shipping zip/postal code", "shipping country", "shippingstreet", "shippingcity",
    "shippingstate", "shippingpostalcode", "shippingcountry", "isdeleted", "deleted", "jigsaw", "data.com key",
    "负责人", "创建人", "创建时间", "更新时间", "最后跟进时间", "成交状态", "客户编号", "所属部门", "前负责人",
    "进入公海时间", "是否关键决策人", "传真",
})

# The columns of our own export that the import does not read (the platform keeps them): skipped, so
# an export imports again (``application.export``).
EXPORT_ONLY = frozenset({
    "id", "deal_status", "owner_id", "department_id", "pool_id", "locked", "claim_count", "last_followed_at",
    "profile_completeness", "opportunity_total", "order_total", "paid_total", "outstanding", "source_lead_id",
    "created_at", "updated_at", "contacts_count"})

# The values other CRMs write, as ours (compared case- and space-insensitively; others pass as written).
VALUES: dict[str, dict[str, str]] = {
    "level": {"a": "A", "b": "B", "c": "C", "hot": "A", "warm": "B", "cold": "C",
              "a（重点客户）": "A", "b（普通客户）": "B", "c（非优先客户）": "C",
              "a(重点客户)": "A", "b(普通客户)": "B", "c(非优先客户)": "C", "重点客户": "A", "普通客户": "B",
              "非优先客户": "C"},
    "source": {
        # Salesforce's Account Source / Lead Source picklist
        "web": "web_form", "phone inquiry": "other", "partner referral": "referral", "purchased list": "purchased_list",
        "trade show": "trade_show", "advertisement": "advertisement", "employee referral": "referral",
        "external referral": "referral", "word of mouth": "referral", "partner": "referral", "seminar": "campaign",
        "seminar - internal": "campaign", "seminar - partner": "campaign", "other": "other",
        # WukongCRM's 客户来源
        "促销活动": "campaign", "搜索引擎": "advertisement", "广告": "advertisement", "转介绍": "referral",
        "线上注册": "web_form", "线上询价": "web_form", "预约上门": "other", "陌拜": "other", "招商资源": "other",
        "公司资源": "other", "展会资源": "trade_show", "个人资源": "other", "电话咨询": "other", "邮件咨询": "other",
    },
    "gender": {"男": "male", "女": "female", "m": "male", "f": "female", "male": "male", "female": "female",
               "其他": "other"},
    "kind": {"企业": "company", "公司": "company", "企业客户": "company", "个人": "individual",
             "个人客户": "individual", "person": "individual", "business": "company"},
}


@dataclass(frozen=True)
class Column:
    """What one column of the file feeds: ``targets`` ((field, rank), ...), none for a skipped column."""
    name: str
    targets: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Header:
    columns: tuple[Column, ...]
    fields: tuple[str, ...]          # every field some column feeds, in the order first fed
    ignored: tuple[str, ...]         # the columns skipped (recognised, or mapped to null)
    # how a row is read (``row_values``): per field, its columns' indexes in rank order, the
    # separator its parts are joined with (None: the first non-empty), the values translated
    plan: tuple[tuple[str, tuple[int, ...], str | None, dict | None], ...] = ()


def key(label: str) -> str:
    """A column name as compared: case-folded, spaces collapsed, a BOM or quotes around it dropped."""
    return " ".join(label.replace("\ufeff", "").strip().strip('"').casefold().split())


def resolve(header: list[str], fields: frozenset[str], mapping: dict | None = None) -> tuple[Header, list[str]]:
    """The header's columns as our ``fields`` (the ones an import row takes), and the errors of the
    header (messages; none: it resolved). ``mapping``: {column as written: our field, or null to
    skip it}, tried first."""
    mapping = {key(k): v for k, v in (mapping or {}).items()}
    by_name = {name.casefold(): name for name in fields}
    errors, columns = [], []
    for label in header:
        k = key(label)
        if k in mapping:
            target = mapping[k]
            if target is None:
                columns.append(Column(label))
            elif target in fields:
                columns.append(Column(label, ((target, 0),)))
            else:
                errors.append(f"Column {label!r} is mapped to {target!r}, which is not a field of the import.")
            continue
        if label in fields:                                     # our own name, as we write it
            columns.append(Column(label, ((label, 0),)))
        elif k in ALIASES:
            columns.append(Column(label, tuple(ALIASES[k])))
        elif k.replace(" ", "_") in by_name:                    # ours, written otherwise ("Contact Name")
            columns.append(Column(label, ((by_name[k.replace(" ", "_")], 0),)))
        elif k in IGNORED or k in EXPORT_ONLY:
            columns.append(Column(label))
        else:
            errors.append(f"Unknown column {label!r}: name one of our fields, a Salesforce or WukongCRM column, "
                          "or map it in `mapping` (to null to skip it).")
            columns.append(Column(label))
    carries_contacts = any(t == "contact_name" for c in columns for t, _ in c.targets)
    if carries_contacts:       # a contact export's person columns are the contact's
        columns = [Column(c.name, tuple(CONTACT_CONTEXT[key(c.name)]))
                   if c.name not in fields and key(c.name) in CONTACT_CONTEXT and key(c.name) not in mapping else c
                   for c in columns]
    # targets no longer offered by the row (a field the import does not take) are skipped
    columns = [Column(c.name, tuple((t, r) for t, r in c.targets if t in fields)) for c in columns]
    fed: dict[str, list[tuple[int, int]]] = {}
    for index, column in enumerate(columns):
        for target, rank in column.targets:
            fed.setdefault(target, []).append((rank, index))
    for target, feeders in fed.items():
        ranks = [rank for rank, _ in feeders]
        if target not in JOINED and target != "tags" and len(set(ranks)) != len(ranks):
            names = ", ".join(repr(columns[i].name) for _, i in feeders)
            errors.append(f"Columns {names} all give {target}: keep one, or map the others to null.")
    if "name" not in fed and not errors:
        errors.append("No column gives the customer's name (name, Account Name, 客户名称, or one mapped to name).")
    plan = tuple((target, tuple(index for _, index in sorted(feeders)),
                  ";" if target == "tags" else JOINED.get(target), VALUES.get(target))
                 for target, feeders in fed.items())
    resolved = Header(tuple(columns), tuple(fed), tuple(c.name for c in columns if not c.targets), plan)
    return resolved, errors


def row_values(header: Header, values: list[str]) -> dict[str, str]:
    """A row as our fields: each field's columns' non-empty values (stripped) joined (``JOINED``) or
    the first in rank order; values other CRMs write turned into ours (``VALUES``)."""
    out = {}
    for target, indexes, separator, translate in header.plan:
        if separator is None:
            if len(indexes) == 1:            # (most fields: one column)
                text = values[indexes[0]].strip()
                if not text:
                    continue
            else:
                text = next((cell for i in indexes if (cell := values[i].strip())), None)
                if text is None:
                    continue
        else:
            parts = [cell for i in indexes if (cell := values[i].strip())]
            if not parts:
                continue
            text = separator.join(parts)
        out[target] = text if translate is None else translate.get(key(text), text)
    return out


def split_tags(text: str) -> list[str]:
    """Tags as a file writes them: separated by ``;`` ``,`` ``、`` ``|`` (full-width too), each once."""
    return list(dict.fromkeys(tag.strip() for tag in TAG_SEPARATORS.split(text) if tag.strip()))


def parse_mapping(raw) -> tuple[dict | None, str | None]:
    """The ``mapping`` given with the request (a JSON object as text, or a dict): ({column: field or
    None}, None), or (None, what is wrong with it)."""
    import json
    if raw is None or raw == "":
        return None, None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):     # (RecursionError: nested deeper than json reads)
            return None, "Not valid JSON: give an object {\"source column\": \"our field\" or null}."
    if not isinstance(raw, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                            for k, v in raw.items()):
        return None, "Must be an object {\"source column\": \"our field\" or null}."
    if len(raw) > 200:
        return None, "At most 200 columns."
    return raw, None
