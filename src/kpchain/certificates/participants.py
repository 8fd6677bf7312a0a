"""The names people read for participant and country codes (the printed certificate, the pages).

A paper KP certificate names countries, not ISO codes; the chain and the document carry only the
codes. The list is the KP's participants as DOMAIN.md lists them (with Chinese Taipei, a trading
entity that meets the requirements). A code not listed prints as the bare code, since an origin
need not be a participant.
"""

from __future__ import annotations

from kpchain.i18n import gettext, mark

# In English, marked for the catalogues: `participant_label` names them in the current language.
KP_NAMES: dict[str, str] = {
    "AE": mark("United Arab Emirates"),
    "AM": mark("Armenia"),
    "AO": mark("Angola"),
    "AU": mark("Australia"),
    "BD": mark("Bangladesh"),
    "BR": mark("Brazil"),
    "BW": mark("Botswana"),
    "BY": mark("Belarus"),
    "CA": mark("Canada"),
    "CD": mark("Democratic Republic of the Congo"),
    "CF": mark("Central African Republic"),
    "CG": mark("Republic of the Congo"),
    "CH": mark("Switzerland"),
    "CI": mark("Côte d'Ivoire"),
    "CM": mark("Cameroon"),
    "CN": mark("China"),
    "EU": mark("European Union"),
    "GA": mark("Gabon"),
    "GB": mark("United Kingdom"),
    "GH": mark("Ghana"),
    "GN": mark("Guinea"),
    "GY": mark("Guyana"),
    "ID": mark("Indonesia"),
    "IL": mark("Israel"),
    "IN": mark("India"),
    "JP": mark("Japan"),
    "KG": mark("Kyrgyzstan"),
    "KH": mark("Cambodia"),
    "KR": mark("Republic of Korea"),
    "KZ": mark("Kazakhstan"),
    "LA": mark("Lao People's Democratic Republic"),
    "LB": mark("Lebanon"),
    "LK": mark("Sri Lanka"),
    "LR": mark("Liberia"),
    "LS": mark("Lesotho"),
    "ML": mark("Mali"),
    "MU": mark("Mauritius"),
    "MX": mark("Mexico"),
    "MY": mark("Malaysia"),
    "MZ": mark("Mozambique"),
    "NA": mark("Namibia"),
    "NO": mark("Norway"),
    "NZ": mark("New Zealand"),
    "PA": mark("Panama"),
    "QA": mark("Qatar"),
    "RU": mark("Russian Federation"),
    "SG": mark("Singapore"),
    "SL": mark("Sierra Leone"),
    "SZ": mark("Eswatini"),
    "TG": mark("Togo"),
    "TH": mark("Thailand"),
    "TR": mark("Türkiye"),
    "TW": mark("Chinese Taipei"),
    "TZ": mark("Tanzania"),
    "UA": mark("Ukraine"),
    "US": mark("United States of America"),
    "UZ": mark("Uzbekistan"),
    "VE": mark("Venezuela"),
    "VN": mark("Viet Nam"),
    "ZA": mark("South Africa"),
    "ZW": mark("Zimbabwe"),
}


def participant_label(code: str) -> str:
    """How a certificate names a participant or country: "Botswana (BW)" (in the current
    language: "Russie (RU)"…), or the bare code when the name is not known."""
    name = KP_NAMES.get(code)
    return code if name is None else f"{gettext(name)} ({code})"
