"""The rounding rule of ``services.sales.domain.totals``: table tests, and a property test over
random orders (lines, discounts, currencies): totals are exact to the cent, never negative, and
equal to the sum of their lines minus one rounded order discount."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_kit.errors import ValidationFailed
from services.sales.domain import totals as t

D = Decimal

# (quantity, unit_price, discount_percent) -> line total
LINE_CASES = {
    "plain": ("2", "10.00", "0", "20.00"),
    "fractional quantity": ("1.5", "3.33", "0", "5.00"),       # 4.995 -> 5.00 (half up)
    "half a cent rounds up": ("1", "0.005", "0", "0.01"),
    "just under half a cent rounds down": ("1", "0.0049", "0", "0.00"),
    "discount 10%": ("3", "19.99", "10", "53.97"),               # 53.973
    "discount 12.5% rounds half up": ("1", "0.04", "12.5", "0.04"),  # 0.035 -> 0.04
    "discount 100% is free": ("7", "99.99", "100", "0.00"),
    "zero quantity": ("0", "12.34", "0", "0.00"),
    "big but exact": ("1000000", "12345678.91", "0", "12345678910000.00"),
    "many decimals in quantity": ("0.333", "3.00", "0", "1.00"),  # 0.999
    "integer inputs": (3, 7, 0, "21.00"),
}


@pytest.mark.parametrize("quantity,price,discount,expected", LINE_CASES.values(), ids=LINE_CASES.keys())
def test_line_total(quantity, price, discount, expected):
    assert t.line_total(quantity, price, discount) == D(expected)
    assert t.line_total(quantity, price, discount).as_tuple().exponent == -2


# (line totals or lines, order discount) -> (subtotal, discount, total)
ORDER_CASES = {
    "no lines": ([], "0", ("0.00", "0.00", "0.00")),
    "sum of rounded lines": ([("1", "0.005", "0"), ("1", "0.005", "0")], "0", ("0.02", "0.00", "0.02")),
    "order discount rounded once": ([("1", "10.01", "0")], "5", ("10.01", "0.50", "9.51")),  # 0.5005
    "order discount half up": ([("1", "0.10", "0")], "5", ("0.10", "0.01", "0.09")),          # 0.005
    "line and order discount": ([("2", "50", "10"), ("1", "9.99", "0")], "10", ("99.99", "10.00", "89.99")),
    "100% order discount": ([("2", "50", "0")], "100", ("100.00", "100.00", "0.00")),
    "totals given as decimals": ([D("1.10"), D("2.205")], "0", ("3.31", "0.00", "3.31")),
}


@pytest.mark.parametrize("lines,discount,expected", ORDER_CASES.values(), ids=ORDER_CASES.keys())
def test_order_totals(lines, discount, expected):
    given_lines = [line if isinstance(line, Decimal) else t.Line(*map(D, line)) for line in lines]
    got = t.order_totals(given_lines, discount)
    assert got == tuple(D(x) for x in expected)
    assert got.discount_amount == got.discount


def test_lines_as_mappings_and_objects_agree():
    as_map = [{"quantity": D("3"), "unit_price": D("1.15"), "discount_percent": D("3")}]
    as_obj = [t.Line(D("3"), D("1.15"), D("3"))]
    assert t.order_totals(as_map, 7) == t.order_totals(as_obj, 7)


REFUSED = {
    "negative quantity": ("-1", "1", "0", "quantity"),
    "negative price": ("1", "-1", "0", "unit_price"),
    "discount over 100": ("1", "1", "100.01", "discount_percent"),
    "negative discount": ("1", "1", "-1", "discount_percent"),
    "float price": ("1", 1.1, "0", "unit_price"),
    "not a number": ("x", "1", "0", "quantity"),
    "infinity": ("Infinity", "1", "0", "quantity"),
    "too large": ("100000000", "100000000000", "0", "quantity"),
}


@pytest.mark.parametrize("quantity,price,discount,field", REFUSED.values(), ids=REFUSED.keys())
def test_refused_inputs(quantity, price, discount, field):
    with pytest.raises(ValidationFailed) as err:
        t.line_total(quantity, price, discount)
    assert field in err.value.errors


def test_order_discount_out_of_range():
    with pytest.raises(ValidationFailed):
        t.order_totals([], "101")


def test_one_currency_per_order():
    t.check_one_currency("CNY", [("p1", "CNY"), ("p2", None)])
    with pytest.raises(ValidationFailed) as err:
        t.check_one_currency("CNY", [("p1", "CNY"), ("p2", "USD")])
    assert "p2" in err.value.errors["lines"][0]


# ---- the property ---------------------------------------------------------------------------

quantities = st.decimals(min_value=0, max_value=10000, places=3, allow_nan=False, allow_infinity=False)
prices = st.decimals(min_value=0, max_value=1000000, places=4, allow_nan=False, allow_infinity=False)
percents = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)
currencies = st.sampled_from(["CNY", "USD", "EUR", "JPY", "HKD"])
line = st.tuples(quantities, prices, percents)
order = st.tuples(currencies, st.lists(line, max_size=30), percents)


def _exact_line(quantity, price, percent) -> Decimal:
    # the rule restated with fractions of cents counted by hand: integer arithmetic, no Decimal context
    num = int(quantity * 1000) * int(price * 10000) * int((100 - percent) * 100)  # scale 10^3 * 10^4 * 10^2 * 10^2
    scale = 1000 * 10000 * 100 * 100 // 100                                     # ... down to cents
    cents, rest = divmod(num, scale)
    if 2 * rest >= scale:
        cents += 1
    return D(cents) / 100


@settings(max_examples=400, deadline=None)
@given(order)
def test_totals_never_drift(case):
    currency, lines, order_discount = case
    got = t.order_totals([t.Line(q, p, d) for q, p, d in lines], order_discount)
    # exact to the cent
    for value in got:
        assert value.as_tuple().exponent == -2
        assert value >= 0                                     # never negative
    # equal to the sum of the lines, each rounded once, then one rounded order discount
    line_totals = [_exact_line(q, p, d) for q, p, d in lines]
    assert [t.line_total(q, p, d) for q, p, d in lines] == line_totals
    assert got.subtotal == sum(line_totals, D(0))
    assert got.discount == (got.subtotal * order_discount / 100).quantize(t.CENT, rounding=ROUND_HALF_UP)
    assert got.total == got.subtotal - got.discount
    assert got.total <= got.subtotal
    # the currency changes nothing in the arithmetic; mixing currencies is refused
    t.check_one_currency(currency, [(str(i), currency) for i in range(len(lines))])
    other = "USD" if currency != "USD" else "CNY"
    if lines:
        with pytest.raises(ValidationFailed):
            t.check_one_currency(currency, [("x", other)])


@settings(max_examples=200, deadline=None)
@given(st.lists(line, min_size=1, max_size=10), percents)
def test_order_of_lines_does_not_matter(lines, discount):
    forward = t.order_totals([t.Line(*x) for x in lines], discount)
    backward = t.order_totals([t.Line(*x) for x in reversed(lines)], discount)
    assert forward == backward
