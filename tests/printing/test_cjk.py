"""Finding a CJK font on the machine: the setting, fontconfig, Debian's paths, and none."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from kpchain.printing.cjk import KNOWN_PATHS, find_cjk_font
from kpchain.printing.pdf import FONTS_DIR, is_cjk


def test_none_turns_the_search_off_even_when_a_font_is_installed() -> None:
    assert find_cjk_font("none") is None
    assert find_cjk_font(" NONE ") is None


def test_a_named_font_file_is_used_as_it_is() -> None:
    named = FONTS_DIR / "DejaVuSans.ttf"  # any font file: the setting is taken at its word
    assert find_cjk_font(str(named)) == named


def test_a_named_font_that_is_not_a_file_is_no_font_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "NotoSansCJK-Regular.ttc"
    with caplog.at_level(logging.WARNING, logger="kpchain.printing.cjk"):
        assert find_cjk_font(str(missing)) is None
    assert str(missing) in caplog.text


def test_no_font_is_found_where_none_is_installed(tmp_path: Path) -> None:
    # The search itself, on a "machine" without fontconfig and with none of the known files.
    absent = [str(tmp_path / Path(path).name) for path in KNOWN_PATHS]
    assert find_cjk_font("", known_paths=absent, fontconfig=False) is None


def test_a_known_debian_path_is_found_without_fontconfig(tmp_path: Path) -> None:
    font = tmp_path / "wqy-microhei.ttc"
    font.write_bytes(b"a font")
    assert (
        find_cjk_font("", known_paths=[str(tmp_path / "absent.ttc"), str(font)], fontconfig=False)
        == font
    )


@pytest.mark.skipif(shutil.which("fc-list") is None, reason="no fontconfig on this machine")
def test_fontconfig_finds_an_installed_cjk_font(cjk_font: Path) -> None:
    found = find_cjk_font("", known_paths=[])
    assert found is not None
    assert found.suffix.lower() in {".ttf", ".otf", ".ttc"}
    assert found.is_file()


def test_is_cjk_tells_ideographs_kana_and_hangul_from_other_scripts() -> None:
    assert all(is_cjk(char) for char in "北京カナかな한국")
    assert not any(is_cjk(char) for char in "AzЖжαب ไ")  # noqa: RUF001
