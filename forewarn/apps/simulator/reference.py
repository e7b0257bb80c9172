"""Reference data of the simulated store: segments, countries, names, carriers, and the odds.

Every table here is data, not behaviour; :func:`pick` draws from the cumulative tables.

>>> import random
>>> pick(random.Random(1), cum((("a", 1.0), ("b", 0.0))))
'a'
"""

from __future__ import annotations

import random
from bisect import bisect_right
from typing import Any

# name, share, orders per 30 days, activity events per day, basket factor
SEGMENTS = (
    ("new", 0.25, 0.6, 0.45, 1.0),
    ("occasional", 0.32, 1.0, 0.55, 1.0),
    ("regular", 0.25, 2.6, 1.0, 1.1),
    ("loyal", 0.15, 5.0, 1.5, 1.3),
    ("vip", 0.03, 8.0, 2.5, 2.6),
)
CHURN_P = {"regular": 0.24, "loyal": 0.24}  # chance a customer of the segment is planted to churn
VIP_DROP_P = 0.12  # chance a VIP is planted with a sharp engagement drop

# code, weight, currency, rate from EUR, [(city, postal prefix)], postal pattern (# digit, @ letter)
COUNTRIES = (
    ("DE", 30, "EUR", 1.0, (("Berlin", "10"), ("Hamburg", "20"), ("München", "80"), ("Köln", "50"),
                            ("Frankfurt am Main", "60"), ("Leipzig", "04")), "###"),
    ("FR", 15, "EUR", 1.0, (("Paris", "75"), ("Lyon", "69"), ("Marseille", "13"), ("Toulouse", "31"),
                            ("Lille", "59")), "###"),
    ("NL", 10, "EUR", 1.0, (("Amsterdam", "10"), ("Rotterdam", "30"), ("Utrecht", "35"),
                            ("Eindhoven", "56")), "## @@"),
    ("ES", 8, "EUR", 1.0, (("Madrid", "28"), ("Barcelona", "08"), ("Valencia", "46"), ("Sevilla", "41")), "###"),
    ("IT", 8, "EUR", 1.0, (("Roma", "00"), ("Milano", "20"), ("Torino", "10"), ("Napoli", "80")), "###"),
    ("AT", 5, "EUR", 1.0, (("Wien", "1"), ("Graz", "8"), ("Linz", "4")), "###"),
    ("BE", 5, "EUR", 1.0, (("Bruxelles", "1"), ("Antwerpen", "2"), ("Gent", "9")), "###"),
    ("IE", 3, "EUR", 1.0, (("Dublin", "D"), ("Cork", "T")), "## @###"),
    ("PL", 4, "PLN", 4.3, (("Warszawa", "0"), ("Kraków", "3"), ("Wrocław", "5")), "#-###"),
    ("GB", 6, "GBP", 0.86, (("London", "SW"), ("Manchester", "M"), ("Bristol", "BS")), "# #@@"),
    ("SE", 3, "SEK", 11.4, (("Stockholm", "1"), ("Göteborg", "4")), "## ##"),
    ("CH", 3, "CHF", 0.95, (("Zürich", "80"), ("Genève", "12")), "##"),
)
NEIGHBOURS = {"DE": "AT", "AT": "DE", "FR": "BE", "BE": "NL", "NL": "BE", "ES": "FR", "IT": "FR",
              "IE": "GB", "PL": "DE", "GB": "IE", "SE": "DE", "CH": "DE"}
# Far destinations: a first order shipped here by a European customer is an anomaly.
FAR = (
    ("US", (("New York", "10"), ("Miami", "33")), "###"),
    ("BR", (("São Paulo", "01"),), "###-###"),
    ("NG", (("Lagos", "10"),), "####"),
    ("AE", (("Dubai", "00"),), "###"),
    ("TR", (("İstanbul", "34"),), "###"),
)
STREETS = ("Hauptstraße", "Rue de la Paix", "Kerkstraat", "Calle Mayor", "Via Roma", "Main Street",
           "Bahnhofstraße", "Avenue Victor Hugo", "Dorpsstraat", "Gran Vía", "High Street", "Storgatan")
FIRST = ("Anna", "Lukas", "Marie", "Jonas", "Sophie", "Elias", "Emma", "Noah", "Léa", "Hugo",
         "Julia", "Mateo", "Sara", "Luca", "Eva", "Daan", "Lotte", "Oliver", "Amelia", "Jakub",
         "Zofia", "Erik", "Astrid", "Chloé", "Pablo", "Giulia", "Finn", "Mia", "Aoife", "Sean")
LAST = ("Müller", "Schmidt", "Martin", "Bernard", "de Jong", "Jansen", "García", "Fernández",
        "Rossi", "Bianchi", "Gruber", "Peeters", "Nowak", "Smith", "Jones", "Andersson",
        "Keller", "Murphy", "Dubois", "Weber", "Visser", "López", "Romano", "Wagner")
ASCII = str.maketrans({"ü": "u", "é": "e", "ö": "o", "ä": "a", "á": "a", "í": "i", "ó": "o",
                       "ñ": "n", "ł": "l", " ": ""})
DOMAINS = ("gmail.com", "outlook.com", "web.de", "gmx.de", "orange.fr", "yahoo.com", "icloud.com",
           "hotmail.com", "proton.me", "libero.it")
CARRIERS = {"DE": ("DHL", "DPD", "Hermes", "GLS"), "FR": ("Colissimo", "Chronopost", "DPD"),
            "NL": ("PostNL", "DHL"), "BE": ("bpost", "PostNL"), "GB": ("Royal Mail", "DPD", "Evri"),
            "": ("DHL", "UPS", "DPD", "GLS")}
METHODS = (("card", 0.6), ("paypal", 0.22), ("klarna", 0.12), ("apple_pay", 0.06))
SOFT_DECLINES = (("card_declined", 0.35), ("insufficient_funds", 0.3), ("expired_card", 0.15),
                 ("processing_error", 0.15), ("other", 0.05))
EXCEPTIONS = (("failed_attempt", 0.3), ("address_issue", 0.2), ("damaged", 0.12), ("lost", 0.13),
              ("customs_hold", 0.15), ("other", 0.1))
EXCEPTION_DETAIL = {
    "failed_attempt": "Nobody home, delivery will be re-attempted next working day",
    "address_issue": "Address incomplete or not found",
    "damaged": "Parcel damaged in transit",
    "lost": "Parcel cannot be located",
    "customs_hold": "Held by customs, documents requested",
    "other": "Delayed at sorting centre",
}
ACTIVITY_KINDS = (("session", 0.58), ("email_open", 0.28), ("email_click", 0.11), ("support_contact", 0.03))
# Relative activity by hour of day (UTC); the thinning below keeps the mean rate.
HOURLY = (0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.35, 0.5, 0.65, 0.75, 0.8, 0.85,
          0.9, 0.85, 0.8, 0.8, 0.85, 0.95, 1.0, 1.0, 0.95, 0.8, 0.55, 0.3)
HOURLY_MEAN = sum(HOURLY) / 24

P_PAYMENT_FAIL = 0.06
P_ANOMALY = 0.005
P_DATA_QUALITY = 0.01
# shipment outcomes (cumulative bands on one uniform draw)
P_LATE, P_NEVER, P_EXCEPTION, P_STALLED, P_CANCELLED = 0.06, 0.01, 0.02, 0.02, 0.005
# A slow first scan: most parcels that will be late, a few of the rest (delivery_at_risk's signal).
P_SLOW_PICKUP_LATE, P_SLOW_PICKUP = 0.6, 0.04


def cum(pairs) -> tuple[tuple[Any, ...], list[float]]:
    values, acc, cum = [], 0.0, []
    for value, weight in pairs:
        acc += weight
        values.append(value)
        cum.append(acc)
    return tuple(values), [c / acc for c in cum]


def pick(r: random.Random, table: tuple[tuple[Any, ...], list[float]]) -> Any:
    values, cum = table
    return values[min(bisect_right(cum, r.random()), len(values) - 1)]


SEGMENT_T = cum((s, s[1]) for s in SEGMENTS)
COUNTRY_T = cum((c, c[1]) for c in COUNTRIES)
METHOD_T = cum(METHODS)
SOFT_T = cum(SOFT_DECLINES)
EXCEPTION_T = cum(EXCEPTIONS)
ACTIVITY_T = cum(ACTIVITY_KINDS)
ITEMS_T = cum(((1, 0.45), (2, 0.27), (3, 0.15), (4, 0.08), (5, 0.05)))
QTY_T = cum(((1, 0.82), (2, 0.14), (3, 0.04)))
CHANNEL_T = cum((("web", 0.55), ("app", 0.35), ("marketplace", 0.10)))
ETA_DAYS_T = cum(((2, 3), (3, 4), (4, 2), (5, 1)))


def postal(r: random.Random, prefix: str, pattern: str) -> str:
    out = [prefix]
    for ch in pattern:
        if ch == "#":
            out.append(str(r.randrange(10)))
        elif ch == "@":
            out.append(chr(65 + r.randrange(26)))
        else:
            out.append(ch)
    return "".join(out)



# --------------------------------------------------------------------------- v1.1 profiles
# Drawn from the support generator (forewarn.apps.simulator.inbound), never from a customer's own.

# country -> [(language tag, weight)]: what a customer of that country writes in.
LANGUAGE_BY_COUNTRY = {
    "DE": (("de", 0.86), ("en", 0.08), ("pt", 0.03), ("es", 0.03)),
    "AT": (("de", 0.9), ("en", 0.1)),
    "CH": (("de", 0.62), ("fr", 0.25), ("en", 0.13)),
    "FR": (("fr", 0.88), ("en", 0.04), ("pt", 0.05), ("es", 0.03)),
    "BE": (("fr", 0.5), ("en", 0.5)),
    "ES": (("es", 0.9), ("en", 0.05), ("pt", 0.05)),
    "NL": (("en", 1.0),), "IE": (("en", 1.0),), "SE": (("en", 1.0),),
    "GB": (("en", 0.92), ("pt", 0.04), ("es", 0.04)),
    "IT": (("en", 0.75), ("es", 0.15), ("fr", 0.1)),
    "PL": (("en", 0.9), ("de", 0.1)),
}
# How a language is tagged on the profile (BCP 47 as stores send it: some with a region).
LANGUAGE_TAGS = {"en": ("en", "en", "en-GB"), "de": ("de", "de", "de-DE", "de-AT"), "fr": ("fr", "fr-FR"),
                 "es": ("es", "es-ES"), "pt": ("pt", "pt-PT", "pt-BR")}
TIMEZONES = {"DE": ("Europe/Berlin",), "AT": ("Europe/Vienna",), "CH": ("Europe/Zurich",),
             "FR": ("Europe/Paris",), "BE": ("Europe/Brussels",), "ES": ("Europe/Madrid", "Atlantic/Canary"),
             "NL": ("Europe/Amsterdam",), "IE": ("Europe/Dublin",), "SE": ("Europe/Stockholm",),
             "GB": ("Europe/London",), "IT": ("Europe/Rome",), "PL": ("Europe/Warsaw",)}
# country -> (calling code, mobile prefixes, digits after the prefix)
PHONES = {"DE": ("49", ("151", "160", "170", "176"), 8), "AT": ("43", ("650", "664", "676"), 7),
          "CH": ("41", ("76", "78", "79"), 7), "FR": ("33", ("6", "7"), 8), "BE": ("32", ("470", "475", "486"), 6),
          "ES": ("34", ("6", "7"), 8), "NL": ("31", ("6",), 8), "IE": ("353", ("83", "85", "87"), 7),
          "SE": ("46", ("70", "72", "73"), 7), "GB": ("44", ("7700", "7911", "7400"), 6),
          "IT": ("39", ("320", "333", "347"), 7), "PL": ("48", ("50", "60", "69"), 7)}
