"""The exchange's settings as the runtime reads them: http endpoints only in development."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kpchain.errors import ConfigError
from kpchain.runtime import build_runtime
from support_api import service_settings
from support_chain import Devnet

pytestmark = pytest.mark.anvil


def test_runtime_refuses_http_endpoints_outside_development(
    tmp_path: Path, anvil: Any, seeded: Devnet, sqlite_url: str
) -> None:
    settings = service_settings(
        tmp_path,
        anvil.rpc_url,
        seeded,
        sqlite_url,
        development=False,
        signers_file=None,
        exchange_allow_http=True,
    )

    with pytest.raises(ConfigError, match="development only"):
        build_runtime(settings)

    # The database was released: a correct configuration starts on it at once.
    runtime = build_runtime(settings.model_copy(update={"exchange_allow_http": False}))
    runtime.stop()
