"""Settings from the environment (prefix `KPCHAIN_`), read once per process by `get_settings`."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """kpchain's configuration; every field can be set as `KPCHAIN_<FIELD>`.

    Attributes:
        rpc_url: the JSON-RPC endpoint of a node of the chain.
        chain_id: the chain id the node must serve; anything else is refused.
        network: the network's name, used for `deployments/<network>.json`.
        deployments_dir: where deployments files are written and read.
        keystore: the encrypted JSON keystore of the account kpchain acts as.
        keystore_passphrase: the keystore's passphrase (`KPCHAIN_KEYSTORE_PASSPHRASE`).
        keystore_passphrase_file: a file holding the passphrase, as mounted secrets are.
        development: allows the well-known development keys; never set it on a real network.
    """

    model_config = SettingsConfigDict(env_prefix="KPCHAIN_", extra="ignore")

    rpc_url: str = "http://127.0.0.1:8545"
    chain_id: int = 2021
    network: str = "kp-devnet"
    deployments_dir: Path = Path("deployments")
    keystore: Path | None = None
    keystore_passphrase: SecretStr | None = None
    keystore_passphrase_file: Path | None = None
    development: bool = False


@cache
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use.

    Tests that change the environment call `get_settings.cache_clear()`.
    """
    return Settings()
