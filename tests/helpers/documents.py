"""Certificate documents in DESIGN.md section 4's JSON shape, as a client sends them:

- `document`: issued today and valid for some days, with the devnet's made-up exporter and
  importer (`kpchain.devnet.service.demo_document`): what a running service accepts today;
- `example`: DESIGN.md's own example, dates and all: for the checks of the document model,
  which must not depend on the day they run.
"""

from __future__ import annotations

import copy
from typing import Any

from kpchain.devnet import service as devnet_service

EXAMPLE: dict[str, Any] = {
    "cert_no": "BW-2026-000123",
    "exporting_participant": "BW",
    "importing_participant": "AE",
    "origin": "BW",
    "provenance": None,
    "origin_zone": None,
    "exporter": {"name": "Okavango Diamond Company", "address": "Gaborone", "licence": "EX-17"},
    "importer": {"name": "Dubai Rough DMCC", "address": "Dubai", "licence": "DMCC-42"},
    "lines": [{"hs_code": "7102.31", "carats": "1234.56", "value_usd": "456789.00", "parcels": 3}],
    "issued_at": "2026-11-27",
    "expires_at": "2027-01-26",
    "issuing_authority": "Government Diamond Office",
}
"""The certificate document of DESIGN.md section 4, as a client sends it."""


def document(
    cert_no: str,
    exporting: str = "BW",
    importing: str = "AE",
    *,
    days: int = 60,
    **fields: Any,
) -> dict[str, Any]:
    """A valid certificate document issued today and valid for `days`; `fields` override."""
    return {**devnet_service.demo_document(cert_no, exporting, importing, days=days), **fields}


def example(**changes: Any) -> dict[str, Any]:
    """`EXAMPLE` (a copy) with top-level fields changed; a value of ... removes the field."""
    data = copy.deepcopy(EXAMPLE)
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return data
