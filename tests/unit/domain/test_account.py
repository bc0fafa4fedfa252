"""The account: what it holds less what it owes, valued in the quote, exactly."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robson.domain.account import Account, Balance
from robson.domain.errors import InvalidValue

D = Decimal


def test_a_spot_account_owes_nothing_its_equity_is_what_it_holds() -> None:
    account = Account({"USDT": Balance("USDT", D("900.5"), D("99.5")), "BTC": Balance("BTC", D("0.1"), D("0.05"))})
    prices = {"BTC": D("60000")}
    assert account.liabilities("USDT", prices) == 0
    assert account.assets("USDT", prices) == account.net_equity("USDT", prices) == D("1000") + D("9000")
    assert account.free("USDT") == D("900.5") and account.free("ETH") == 0


def test_a_margin_pair_is_its_assets_less_its_loans_and_their_interest() -> None:
    """A 3x short of BTC on BTC/USDT isolated: 1,000 USDT of collateral, 0.05 BTC borrowed and sold at 60,000."""
    pair = Account(
        {
            "BTC": Balance("BTC", D("0"), borrowed=D("0.05"), interest=D("0.0000025")),
            "USDT": Balance("USDT", D("3997"), D("0")),  # 1,000 + 3,000 from the sale, less 3 of fees
        }
    )
    prices = {"BTC": D("58000")}
    assert pair.assets("USDT", prices) == D("3997")
    assert pair.liabilities("USDT", prices) == D("0.0500025") * D("58000") == D("2900.145")
    assert pair.net_equity("USDT", prices) == D("3997") - D("2900.145") == D("1096.855")
    assert pair.balances["BTC"].net == D("-0.0500025")


def test_an_asset_held_without_a_price_counts_at_zero_but_a_debt_without_one_is_refused() -> None:
    held = Account({"USDT": Balance("USDT", D("10")), "XYZ": Balance("XYZ", D("5"))})
    assert held.net_equity("USDT", {}) == D("10")
    owed = Account({"USDT": Balance("USDT", D("10")), "XYZ": Balance("XYZ", D("5"), borrowed=D("1"))})
    with pytest.raises(InvalidValue, match="owes 1 XYZ, which has no USDT price"):
        owed.net_equity("USDT", {})


def test_a_balance_owes_nothing_negative() -> None:
    with pytest.raises(InvalidValue, match="must not be negative"):
        Balance("BTC", D("1"), borrowed=D("-1"))
    with pytest.raises(InvalidValue, match="must not be negative"):
        Balance("BTC", D("1"), interest=D("-0.1"))


# amounts and prices of any size a venue may report, to 18 places: far more digits than a float or a 28-digit
# Decimal context could carry through a product
amounts = st.decimals(min_value=0, max_value=10**15, places=18, allow_nan=False, allow_infinity=False)
prices = st.decimals(min_value=D("1E-18"), max_value=10**12, places=18, allow_nan=False, allow_infinity=False)
balances = st.tuples(amounts, amounts, amounts, amounts)
accounts = st.dictionaries(st.sampled_from(["USDT", "BTC", "ETH", "SOL", "XYZ"]), st.tuples(balances, prices))


@settings(max_examples=300, deadline=None)
@given(accounts)
def test_net_equity_is_assets_less_liabilities_to_the_last_digit(
    drawn: dict[str, tuple[tuple[Decimal, Decimal, Decimal, Decimal], Decimal]],
) -> None:
    account = Account({asset: Balance(asset, *figures) for asset, (figures, _) in drawn.items()})
    priced = {asset: price for asset, (_, price) in drawn.items() if asset != "USDT"}
    assets, liabilities = account.assets("USDT", priced), account.liabilities("USDT", priced)
    equity = account.net_equity("USDT", priced)
    assert Fraction(equity) == Fraction(assets) - Fraction(liabilities)  # compared exactly: no context rounds
    exact = sum(
        (
            (Fraction(free) + Fraction(locked) - Fraction(borrowed) - Fraction(interest))
            * (Fraction(1) if asset == "USDT" else Fraction(price))
            for asset, ((free, locked, borrowed, interest), price) in drawn.items()
        ),
        Fraction(0),
    )
    assert Fraction(equity) == exact  # not one digit rounded away


def test_settled_fills_move_what_is_held_as_a_spot_venue_books_them() -> None:
    from datetime import UTC, datetime

    from robson.domain.fills import Fill
    from robson.domain.values import OrderSide

    at = datetime(2025, 3, 3, tzinfo=UTC)
    account = Account({"USDT": Balance("USDT", D("9000"), D("1000"))})
    bought = Fill("t1", "e1", "BTC/USDT", OrderSide.BUY, D("90000"), D("0.01"), D("0.9"), "USDT", at)
    fee_in_base = Fill("t2", "e1", "BTC/USDT", OrderSide.BUY, D("90000"), D("0.01"), D("0.00001"), "BTC", at)
    sold = Fill("t3", "x1", "BTC/USDT", OrderSide.SELL, D("91000"), D("0.005"), D("0.455"), "USDT", at)

    moved = account.settled([(fill, "BTC", "USDT") for fill in (bought, fee_in_base, sold)])

    usdt, btc = moved.balances["USDT"], moved.balances["BTC"]
    assert usdt.free == D("9000") - D("900") - D("0.9") - D("900") + D("455") - D("0.455")
    assert usdt.locked == D("1000")  # what a working order locks only the venue says
    assert btc.total == D("0.01") + D("0.01") - D("0.00001") - D("0.005")
    assert account.balances.keys() == {"USDT"}  # the account itself is unchanged
