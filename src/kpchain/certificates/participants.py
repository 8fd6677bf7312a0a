"""The names people read for participant and country codes (the printed certificate, the pages).

A paper KP certificate names countries, not ISO codes; the chain and the document carry only the
codes. The list is the KP's participants as DOMAIN.md lists them (with Chinese Taipei, a trading
entity that meets the requirements). A code not listed prints as the bare code, since an origin
need not be a participant.
"""

from __future__ import annotations

KP_NAMES: dict[str, str] = {
    "AE": "United Arab Emirates",
    "AM": "Armenia",
    "AO": "Angola",
    "AU": "Australia",
    "BD": "Bangladesh",
    "BR": "Brazil",
    "BW": "Botswana",
    "BY": "Belarus",
    "CA": "Canada",
    "CD": "Democratic Republic of the Congo",
    "CF": "Central African Republic",
    "CG": "Republic of the Congo",
    "CH": "Switzerland",
    "CI": "Côte d'Ivoire",
    "CM": "Cameroon",
    "CN": "China",
    "EU": "European Union",
    "GA": "Gabon",
    "GB": "United Kingdom",
    "GH": "Ghana",
    "GN": "Guinea",
    "GY": "Guyana",
    "ID": "Indonesia",
    "IL": "Israel",
    "IN": "India",
    "JP": "Japan",
    "KG": "Kyrgyzstan",
    "KH": "Cambodia",
    "KR": "Republic of Korea",
    "KZ": "Kazakhstan",
    "LA": "Lao People's Democratic Republic",
    "LB": "Lebanon",
    "LK": "Sri Lanka",
    "LR": "Liberia",
    "LS": "Lesotho",
    "ML": "Mali",
    "MU": "Mauritius",
    "MX": "Mexico",
    "MY": "Malaysia",
    "MZ": "Mozambique",
    "NA": "Namibia",
    "NO": "Norway",
    "NZ": "New Zealand",
    "PA": "Panama",
    "QA": "Qatar",
    "RU": "Russian Federation",
    "SG": "Singapore",
    "SL": "Sierra Leone",
    "SZ": "Eswatini",
    "TG": "Togo",
    "TH": "Thailand",
    "TR": "Türkiye",
    "TW": "Chinese Taipei",
    "TZ": "Tanzania",
    "UA": "Ukraine",
    "US": "United States of America",
    "UZ": "Uzbekistan",
    "VE": "Venezuela",
    "VN": "Viet Nam",
    "ZA": "South Africa",
    "ZW": "Zimbabwe",
}


def participant_label(code: str) -> str:
    """How a certificate names a participant or country: "Botswana (BW)", or the bare code when
    the name is not known."""
    name = KP_NAMES.get(code)
    return code if name is None else f"{name} ({code})"
