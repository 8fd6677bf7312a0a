"""The one loader of the configuration files: JSON or YAML read into a pydantic model, and every
failure one ConfigFileError naming the file, the line and the problem (never a confidential
file's content)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from kpchain.configfile import ConfigFile
from kpchain.errors import ConfigError, ConfigFileError, ConfigProblem

SECRET = "tok-5551234"


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern="^https://")
    tries: int = 1


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: dict[str, Entry] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list)


def _file(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def _refusal(path: Path, schema: type[BaseModel] = Settings, **options: object) -> ConfigFileError:
    with pytest.raises(ConfigFileError) as caught:
        ConfigFile.read(path, what="test file", **options).validate(schema)
    return caught.value


def test_yaml_and_json_files_load_into_the_model(tmp_path: Path) -> None:
    yaml_path = _file(tmp_path, "t.yaml", "entries:\n  NO: {url: 'https://no.example', tries: 3}\n")
    json_path = _file(tmp_path, "t.json", '{"entries": {"NO": {"url": "https://no.example"}}}')

    from_yaml = ConfigFile.read(yaml_path, what="test file").validate(Settings)
    from_json = ConfigFile.read(json_path, what="test file").validate(Settings)

    # YAML 1.2 booleans: Norway's code NO stays a string; numbers stay numbers.
    assert from_yaml.entries["NO"] == Entry(url="https://no.example", tries=3)
    assert from_json.entries["NO"] == Entry(url="https://no.example")


def test_strings_loader_keeps_every_value_a_string(tmp_path: Path) -> None:
    path = _file(tmp_path, "t.yaml", "NO: yes\nAE: 0x1234\nBW: 10\n")

    assert ConfigFile.read(path, what="test file", strings=True).data == {
        "NO": "yes",
        "AE": "0x1234",
        "BW": "10",
    }
    assert ConfigFile.read(path, what="test file").data == {"NO": "yes", "AE": 4660, "BW": 10}


def test_empty_file_validates_as_empty_mapping(tmp_path: Path) -> None:
    path = _file(tmp_path, "t.yaml", "# nothing configured\n")

    assert ConfigFile.read(path, what="test file").validate(Settings) == Settings()


def test_format_json_reads_json_whatever_the_file_name(tmp_path: Path) -> None:
    path = _file(tmp_path, "t.yaml", "entries: {}\n")

    error = _refusal(path, format="JSON")

    assert error.message.startswith(f"cannot read test file {path}: not valid JSON near line 1")


def test_invalid_settings_are_each_named_with_their_line(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "t.yaml",
        "entries:\n"
        "  BW:\n"
        "    url: http://bw.example\n"
        "  AE: {url: 'https://ae.example', colour: blue}\n"
        "labels:\n"
        "  - a\n"
        "  - [b]\n",
    )

    error = _refusal(path)

    assert error.message == (
        f"test file {path} is malformed: "
        "entries.BW.url: String should match pattern '^https://' (line 3); "
        "entries.AE.colour: Extra inputs are not permitted (line 4); "
        "labels.1: Input should be a valid string (line 7)"
    )
    assert error.problems[0] == ConfigProblem(
        "entries.BW.url", 3, "String should match pattern '^https://'"
    )
    assert error.line == 3
    assert error.detail == {"test_file": str(path), "line": 3}
    assert isinstance(error, ConfigError)


def test_missing_setting_is_placed_on_the_line_of_its_entry(tmp_path: Path) -> None:
    path = _file(tmp_path, "t.yaml", "entries:\n  BW:\n    tries: 2\n")

    error = _refusal(path)

    assert (
        error.message == f"test file {path} is malformed: entries.BW.url: Field required (line 2)"
    )


def test_one_line_file_gives_no_line_and_whole_file_says_top(tmp_path: Path) -> None:
    one_line = _file(tmp_path, "t.json", '{"entries": {"BW": {"url": "ftp://x"}}}')
    a_list = _file(tmp_path, "list.yaml", "- a\n- b\n")

    assert _refusal(one_line).message == (
        f"test file {one_line} is malformed: entries.BW.url: String should match pattern "
        "'^https://'"
    )
    assert _refusal(a_list).message == (
        f"test file {a_list} is malformed: (top): Input should be a valid dictionary or "
        "instance of Settings"
    )


def test_validate_at_checks_a_part_and_names_it_by_its_full_path(tmp_path: Path) -> None:
    path = _file(tmp_path, "t.yaml", "members:\n  BW:\n    url: x\n")
    file = ConfigFile.read(path, what="test file")

    with pytest.raises(ConfigFileError) as caught:
        file.validate(TypeAdapter(dict[str, Entry]), at=("members",), headline="is not right")

    assert caught.value.message == (
        f"test file {path} is not right: members.BW.url: String should match pattern "
        "'^https://' (line 3)"
    )


def test_invalid_settings_never_quote_their_values(tmp_path: Path) -> None:
    path = _file(tmp_path, "t.yaml", f"entries:\n  BW:\n    url: '{SECRET}'\n    tries: {SECRET}\n")

    error = _refusal(path, confidential=True)

    assert "entries.BW.url" in error.message
    assert "entries.BW.tries" in error.message
    assert SECRET not in str(error)


def test_yaml_that_does_not_parse_is_refused_with_line_column_and_problem(tmp_path: Path) -> None:
    path = _file(tmp_path, "t.yaml", "entries:\n  BW: url: x\n")

    error = _refusal(path)

    assert error.message == (
        f"cannot read test file {path}: not valid YAML near line 2, column 10: mapping values "
        "are not allowed here\n      BW: url: x\n             ^"
    )
    assert error.line == 2
    assert error.__cause__ is None


def test_confidential_yaml_that_does_not_parse_is_never_quoted(tmp_path: Path) -> None:
    path = _file(tmp_path, "t.yaml", f"entries: {{BW: {{url: '{SECRET}'}}\n")

    error = _refusal(path, confidential=True)

    assert error.message == (
        f"cannot read test file {path}: not valid YAML near line 2, column 1: expected ',' or "
        "'}', but got '<stream end>' (while parsing a flow mapping, line 1)"
    )
    assert SECRET not in str(error)


def test_json_that_does_not_parse_is_refused_with_line_and_column(tmp_path: Path) -> None:
    path = _file(tmp_path, "t.json", f'{{\n  "entries": "{SECRET}",\n}}\n')

    error = _refusal(path)

    assert error.message == (
        f"cannot read test file {path}: not valid JSON near line 3, column 1: Expecting "
        "property name enclosed in double quotes"
    )


def test_file_that_is_not_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    path = _file(tmp_path, "t.yaml", b"entries:\n  BW: {url: \xff}\n")

    error = _refusal(path)

    assert error.message == (
        f"cannot read test file {path}: not UTF-8 text near line 2, column 13: invalid start byte"
    )


def test_missing_file_is_refused_with_the_reason_and_the_hint(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    error = _refusal(path, hint="check KPCHAIN_TEST_FILE")

    assert error.message == (
        f"cannot read test file {path}: FileNotFoundError (No such file or directory); "
        "check KPCHAIN_TEST_FILE"
    )
    assert error.detail == {"test_file": str(path)}
