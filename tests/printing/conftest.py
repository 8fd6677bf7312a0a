"""What the printing tests share: the machine's CJK font."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kpchain.printing.cjk import find_cjk_font


@pytest.fixture(scope="session")
def cjk_font() -> Path:
    """A CJK font installed on this machine (`find_cjk_font`: fontconfig, then Debian's paths;
    KPCHAIN_CJK_FONT names another). None installed: the test is skipped, except under CI=true,
    where it fails (install fonts-noto-cjk or fonts-wqy-microhei)."""
    font = find_cjk_font(os.environ.get("KPCHAIN_CJK_FONT", ""))
    if font is not None:
        return font
    message = "no CJK font installed (apt-get install fonts-noto-cjk, or set KPCHAIN_CJK_FONT)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)
