"""Finding a font for Chinese, Japanese and Korean characters, which the embedded DejaVu fonts
lack. Such fonts are large (tens of megabytes), so none ships with kpchain: the printable
certificate uses one installed on the machine when there is one, and says so when there is not.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Final

_log = logging.getLogger(__name__)

NO_CJK_FONT: Final = "none"
"""The `Settings.cjk_font` value that turns the search off."""

KNOWN_PATHS: Final = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian fonts-noto-cjk
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # fonts-droid-fallback
)
"""Where Debian's CJK font packages put a font, best first (when fontconfig is not there)."""

_FONT_FILES: Final = (".ttf", ".otf", ".ttc")
_PREFERRED: Final = ("NotoSansCJK", "NotoSerifCJK", "wqy-microhei", "wqy-zenhei")


def find_cjk_font(
    setting: str = "", *, known_paths: Sequence[str] = KNOWN_PATHS, fontconfig: bool = True
) -> Path | None:
    """The CJK font to print with, or None when there is none.

    Args:
        setting: `Settings.cjk_font`: a font file; empty to search; ``none`` for no font.
        known_paths: the files tried when fontconfig finds none.
        fontconfig: whether to ask fontconfig (``fc-list :lang=zh``) first.
    """
    if setting.strip().lower() == NO_CJK_FONT:
        return None
    if setting.strip():
        named = Path(setting.strip())
        if named.is_file():
            return named
        _log.warning("the CJK font %s (KPCHAIN_CJK_FONT) is not a file: no CJK font", named)
        return None
    found = _fontconfig_fonts() if fontconfig else []
    found += [Path(path) for path in known_paths if Path(path).is_file()]
    return found[0] if found else None


@cache
def installed_cjk_font(setting: str) -> Path | None:
    """`find_cjk_font(setting)`, searched once per process (and said once when none is)."""
    font = find_cjk_font(setting)
    if font is None:
        _log.warning(
            "no CJK font is installed (install Debian's fonts-noto-cjk, or set KPCHAIN_CJK_FONT):"
            " printed certificates show Chinese, Japanese and Korean characters as U+FFFD"
        )
    return font


def _fontconfig_fonts() -> list[Path]:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        listed = subprocess.run(
            [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    files = {
        Path(line.strip().rstrip(":"))
        for line in listed.splitlines()
        if line.strip().rstrip(":").lower().endswith(_FONT_FILES)
    }

    def rank(path: Path) -> tuple[int, str]:
        preferred = [i for i, name in enumerate(_PREFERRED) if name.lower() in path.name.lower()]
        return (preferred[0] if preferred else len(_PREFERRED), str(path))

    return sorted((path for path in files if path.is_file()), key=rank)
