"""Amounts in one currency: lifetime values and value thresholds compare like with like.

Orders arrive in the customer's currency; a customer's lifetime value, and every threshold
in ``[routing]``, are in the routing currency (``[routing] currency``, EUR by default).
``exchange_rates`` gives the units of each currency per one unit of the routing currency.

>>> to_base(114.0, "SEK", {"SEK": 11.4})
10.0
>>> to_base(10.0, "XYZ", {"SEK": 11.4})  # not in the table: counted one to one
10.0
"""

from __future__ import annotations

from collections.abc import Mapping

from babel.core import get_global
from babel.numbers import get_territory_currencies


def _iso_4217() -> frozenset[str]:
    """The ISO 4217 codes of money that is legal tender somewhere today, from the Unicode CLDR
    data Babel ships (kept up to date with each Babel release). Not the codes ISO 4217 reserves
    for no currency (``XXX``) or tests (``XTS``), nor metals or withdrawn currencies."""
    return frozenset(code for territory in get_global("territory_currencies")
                     for code in get_territory_currencies(territory, tender=True))


# An event in another currency is refused (dead letter ``unknown_currency``): its amount would
# count into lifetime values one to one, and its code would become a metric label.
ISO_4217: frozenset[str] = _iso_4217()

# Approximate rates per 1 EUR (2025): replace them with the rates your shop books at. Wide on
# purpose: a currency missing here counts one to one, so 5,000 INR (about 55 EUR) would make a
# first-time buyer a VIP and every trigger of theirs p1.
DEFAULT_RATES: dict[str, float] = {
    "EUR": 1.0, "GBP": 0.86, "PLN": 4.3, "CHF": 0.95, "SEK": 11.4, "DKK": 7.46, "NOK": 11.5,
    "CZK": 25.0, "HUF": 400.0, "RON": 5.0, "USD": 1.08, "CAD": 1.48, "AUD": 1.65, "JPY": 165.0,
    "ISK": 150.0, "RSD": 117.0, "UAH": 45.0, "TRY": 38.0, "ILS": 4.0, "AED": 3.97,
    "SAR": 4.05, "QAR": 3.93, "NZD": 1.8, "CNY": 7.8, "HKD": 8.4, "TWD": 35.0, "SGD": 1.45,
    "KRW": 1500.0, "INR": 92.0, "IDR": 17500.0, "THB": 38.0, "MYR": 4.9, "PHP": 62.0, "VND": 27500.0,
    "BRL": 6.0, "MXN": 20.5, "CLP": 1000.0, "COP": 4400.0, "PEN": 4.05, "ZAR": 20.0, "NGN": 1650.0,
    "EGP": 53.0, "KES": 140.0, "MAD": 10.8,
}


def to_base(amount: float, currency: str | None, rates: Mapping[str, float] | None) -> float:
    """``amount`` of ``currency`` in the routing currency; unknown or missing currencies 1:1."""
    if not currency or not rates:
        return amount
    return amount / rates.get(currency, 1.0)
