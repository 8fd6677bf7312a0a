"""What the certificates' tests share besides tests/helpers/documents.py: ways to change the
example document, the (location, type) of each validation error, Hypothesis strategies of valid
documents, and a receipt."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from helpers.documents import EXAMPLE, example
from kpchain.certificates.conversions import cents_to_usd, hundredths_to_carats
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.fields import UINT32_MAX, UINT64_MAX

SALT_A = bytes(range(32))
SALT_B = bytes(range(32, 64))
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"  # any address: the EIP-712 domain only


def with_line(**changes: Any) -> dict[str, Any]:
    """The example document with its one line changed."""
    line = {**EXAMPLE["lines"][0], **changes}
    return example(lines=[line])


def with_party(role: str, **changes: Any) -> dict[str, Any]:
    """The example document with the exporter's or importer's fields changed."""
    return example(**{role: {**EXAMPLE[role], **changes}})


def errors_of(model: type[BaseModel], data: Any) -> list[tuple[tuple[Any, ...], str]]:
    """(location, type) of each error validating `data` as `model`, through JSON as the API
    receives it."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate_json(json.dumps(data))
    return [(tuple(error["loc"]), error["type"]) for error in caught.value.errors()]


def parsed_example() -> CertificateDocument:
    return CertificateDocument.model_validate(EXAMPLE)


RECEIVE = {"parcels": 3, "carats": "1234.56", "received_at": "2026-12-01"}


# ----------------------------------------------------------------------------------------------
# Strategies
# ----------------------------------------------------------------------------------------------

CODES = st.sampled_from(["BW", "AE", "EU", "ZA", "IN", "CF", "RU", "CA"])
PRINTABLE = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40
).filter(lambda text: text.strip() != "")
HUNDREDTHS = st.integers(min_value=1, max_value=UINT64_MAX)


@st.composite
def lines(draw: st.DrawFn) -> dict[str, Any]:
    line = {
        "hs_code": draw(st.sampled_from(["7102.10", "7102.21", "7102.31"])),
        "carats": hundredths_to_carats(draw(HUNDREDTHS)),
        "value_usd": cents_to_usd(draw(HUNDREDTHS)),
        "parcels": draw(st.integers(min_value=1, max_value=UINT32_MAX)),
    }
    # Mostly of the certificate's origin; else one of its own: mixed, or a code, either with a
    # zone or without.
    own = draw(st.sampled_from([None, None, "MIXED", "code"]))
    if own is not None:
        mixed = own == "MIXED"
        line["origin"] = "MIXED" if mixed else draw(CODES)
        line["provenance"] = draw(CODES) if mixed else None
        line["origin_zone"] = draw(st.none() | TEXT)
    return line


@st.composite
def documents(draw: st.DrawFn) -> CertificateDocument:
    """Valid documents across every field's range."""
    exporting = draw(CODES)
    importing = draw(CODES.filter(lambda code: code != exporting))
    mixed = draw(st.booleans())
    issued = draw(st.dates(min_value=date(1970, 1, 1), max_value=date(9000, 1, 1)))
    party = st.fixed_dictionaries({"name": TEXT, "address": TEXT, "licence": TEXT})
    number = exporting + "-" + draw(st.text(alphabet=PRINTABLE, min_size=1, max_size=29))
    replaces = draw(st.none() | st.text(alphabet=PRINTABLE, min_size=1, max_size=29))
    return CertificateDocument.model_validate(
        {
            "cert_no": number,
            "exporting_participant": exporting,
            "importing_participant": importing,
            "origin": "MIXED" if mixed else draw(CODES),
            "provenance": draw(CODES) if mixed else None,
            "origin_zone": draw(st.none() | TEXT),
            "exporter": draw(party),
            "importer": draw(party),
            "lines": draw(st.lists(lines(), min_size=1, max_size=4)),
            "issued_at": issued,
            "expires_at": issued + timedelta(days=draw(st.integers(1, 3650))),
            "issuing_authority": draw(TEXT),
            "replaces": (None if replaces in (None, number[3:]) else f"{exporting}-{replaces}"),
        }
    )
