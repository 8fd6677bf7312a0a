"""Checks of what operators type: account addresses and participant codes, with errors that name
the option or entry they came from."""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from kpchain.certificates.fields import Address, ParticipantCode
from kpchain.errors import ConfigError

_ADDRESS: TypeAdapter[str] = TypeAdapter(Address)
_CODE: TypeAdapter[str] = TypeAdapter(ParticipantCode)


def checksum_address(value: object, *, what: str) -> str:
    """`value` as an EIP-55 checksummed address.

    Args:
        value: the address as given.
        what: what it is, for the message ("validator", "--deployer", "BW authority").

    Raises:
        ConfigError: not 0x and 40 hex digits, or mixed case with a wrong checksum (a typo).
    """
    return _validated(_ADDRESS, value, what)


def checked_code(value: object, *, what: str = "participant code") -> str:
    """`value` as a participant code (two upper-case letters, "EU" included).

    Raises:
        ConfigError: anything else.
    """
    return _validated(_CODE, value, what)


def _validated(adapter: TypeAdapter[str], value: object, what: str) -> str:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        problem = "; ".join(error["msg"] for error in exc.errors(include_url=False))
        raise ConfigError(
            f"{what} {value!r} {problem}", detail={"what": what, "value": str(value)}
        ) from None
