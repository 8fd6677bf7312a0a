"""kpchain.contracts.encoding: each identifier's decoding inverts its encoding, and refuses
or marks what no encoding gives."""

from __future__ import annotations

import pytest

from kpchain.contracts.encoding import cert_no_text, cert_number, code_text
from kpchain.errors import DocumentInvalidError


def test_cert_no_text_round_trips_cert_number() -> None:
    assert cert_no_text(cert_number("BW-2026-000123")) == "BW-2026-000123"
    with pytest.raises(DocumentInvalidError):
        cert_no_text(b"BW\x00-1".ljust(32, b"\x00"))


def test_code_text_gives_hex_when_not_letters() -> None:
    assert code_text(b"BW") == "BW"
    assert code_text(b"\x00\x01") == "0x0001"
