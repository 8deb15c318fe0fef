"""Duplicate keys: phone numbers and names normalise the way people type them."""
from __future__ import annotations

import pytest

from crm_kit.records.text import normalize_name, normalize_phone

MOBILE = "13800138000"


@pytest.mark.parametrize("raw", [
    "13800138000",
    "+86 138-0013-8000",
    "+86 13800138000",
    "+8613800138000",
    "8613800138000",
    "0086 138 0013 8000",
    "008613800138000",
    "0086-138-0013-8000",
    " 138 0013 8000 ",
    "138-0013-8000",
    "(+86) 138.0013.8000",
    "138\t0013\n8000",
])
def test_mobile_variants_share_one_key(raw):
    assert normalize_phone(raw) == MOBILE


@pytest.mark.parametrize("raw", [
    "１３８００１３８０００",             # full-width digits (Chinese input method)
    "＋８６　１３８－００１３－８０００",   # full-width plus, ideographic space, full-width hyphen
], ids=["fullwidth-digits", "fullwidth-plus86"])
def test_full_width_mobile_shares_the_key(raw):
    """Full-width digits are what a Chinese IME produces; they are the same phone number.
    ``\\D`` keeps any Unicode digit, so without NFKC the key is the full-width string and
    a duplicate lead slips through."""
    assert normalize_phone(raw) == MOBILE


@pytest.mark.parametrize("raw", [None, "", "   ", "abc", "+", "--"])
def test_no_digits_is_none(raw):
    assert normalize_phone(raw) is None


def test_only_a_13_digit_86_prefix_is_a_country_code():
    assert normalize_phone("86123") == "86123"
    assert normalize_phone("021-6234-5678") == "02162345678"
    assert normalize_phone("862162345678") == "862162345678"   # 12 digits: not +86 + mobile


def test_key_is_ascii_digits_only():
    assert normalize_phone("+86 138-0013-8000").isdigit()


@pytest.mark.parametrize("raw", [
    "Acme Ltd",
    "acme ltd",
    "ACME LTD",
    "  Acme   Ltd  ",
    "Acme\tLtd\n",
    "AcmeLtd",
    "ＡＣＭＥ　Ｌｔｄ",          # full-width letters and ideographic space
    "ａｃｍｅ ｌｔｄ",
])
def test_name_variants_share_one_key(raw):
    assert normalize_name(raw) == "acmeltd"


def test_chinese_names():
    assert normalize_name("北京 星辰 科技有限公司") == normalize_name("北京星辰科技有限公司") == "北京星辰科技有限公司"
    assert normalize_name("北京星辰科技（有限公司）") == normalize_name("北京星辰科技(有限公司)")


def test_casefold_not_just_lower():
    assert normalize_name("STRASSE") == normalize_name("straße")


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000"])
def test_empty_name_is_none(raw):
    assert normalize_name(raw) is None


def test_different_names_differ():
    assert normalize_name("Acme Ltd") != normalize_name("Acme Inc")
