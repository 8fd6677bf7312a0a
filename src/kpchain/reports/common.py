"""What the statistics and the monitoring report share: amounts as the API writes them, and the
participant filter."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from kpchain.errors import ErrorCode, InvalidRequestError, NotFoundError
from kpchain.indexer.tables import Participant
from kpchain.vocabulary import PARTICIPANT_CODE_PATTERN

_CODE = re.compile(PARTICIPANT_CODE_PATTERN)


def amount_text(hundredths: int) -> str:
    """An amount in hundredths (of a carat, of a US$) as the API writes amounts: "1234.56".

    Exact for any integer: sums of many uint64 amounts need not fit a uint64, nor a Decimal
    context's precision.
    """
    sign = "-" if hundredths < 0 else ""
    whole, cents = divmod(abs(hundredths), 100)
    return f"{sign}{whole}.{cents:02d}"


def require_participant(session: Session, code: str) -> None:
    """Checks that `code` is an admitted participant, as the participants route does.

    Raises:
        InvalidRequestError: `code` is not two upper-case letters.
        NotFoundError: no participant `code` was ever admitted (participant_not_found).
    """
    if not _CODE.fullmatch(code):
        raise InvalidRequestError(
            'participant must be an ISO 3166-1 alpha-2 code: two upper-case letters, such as "BW"',
            code=ErrorCode.PARTICIPANT_INVALID,
            detail={"participant": code[:20]},
        )
    if session.get(Participant, code) is None:
        raise NotFoundError(
            f"participant {code} is not admitted",
            code=ErrorCode.PARTICIPANT_NOT_FOUND,
            detail={"code": code},
        )
