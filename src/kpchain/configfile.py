"""The one loader of kpchain's configuration files: the signers file, the founders file (or the
consortium's network.json), the webhooks file and a member's public parts.

`ConfigFile.read` reads a file as JSON (``.json``, or any file whose format is fixed) or YAML
(anything else), and `ConfigFile.validate` checks it against a pydantic model. Every failure is a
`ConfigFileError` naming the file, the line and the problem:

- cannot read signers file /etc/kp/signers.yaml: not valid YAML near line 4, column 3: …
- signers file /etc/kp/signers.yaml is malformed: participants.BW.address: … (line 3)

YAML is read with YAML 1.2's booleans (`Yaml12Loader`: YAML 1.1 reads no/yes/on/off/y/n as
booleans, which would turn Norway's participant code NO into False), or, for a file whose values
are all text, with PyYAML's base loader (``strings=True``), which builds nothing but strings,
lists and mappings. A file marked confidential (one that may hold a secret, such as the signers
file's header tokens) is never quoted: its messages give lines and columns only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import TypeAdapter, ValidationError

from kpchain.errors import ConfigFileError, ConfigProblem

T = TypeVar("T")

Format = Literal["JSON", "YAML"]
Location = tuple[int | str, ...]


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 booleans (true/false only)."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def dotted(loc: Location) -> str:
    """A validation error's location as the file spells it: "participants.BW.address", or
    "(top)" for the whole file."""
    return ".".join(str(part) for part in loc) or "(top)"


@dataclass(frozen=True)
class ConfigFile:
    """A configuration file, read and parsed (see the module docstring).

    Attributes:
        path: the file.
        what: what it is, for messages ("signers file").
        format: how it was parsed.
        data: its content (None for an empty YAML file).
        confidential: whether messages may quote it.
    """

    path: Path
    what: str
    format: Format
    data: Any
    confidential: bool = False
    text: str = field(default="", repr=False)
    loader: type[yaml.BaseLoader | yaml.SafeLoader] = field(default=Yaml12Loader, repr=False)

    @classmethod
    def read(
        cls,
        path: Path,
        *,
        what: str,
        format: Format | None = None,
        strings: bool = False,
        confidential: bool = False,
        hint: str | None = None,
    ) -> ConfigFile:
        """Reads and parses `path`.

        Args:
            path: the file.
            what: what it is, for messages ("signers file").
            format: JSON or YAML whatever the file's name; by default JSON for ``.json``,
                YAML otherwise.
            strings: read YAML with the base loader, which keeps every value a string.
            confidential: the file may hold secrets: messages never quote it.
            hint: what to check, added to the message when the file cannot be read.

        Raises:
            ConfigFileError: it cannot be read, is not UTF-8 text, or does not parse.
        """
        try:
            raw = path.read_bytes()
        except OSError as exc:
            reason = type(exc).__name__ + (f" ({exc.strerror})" if exc.strerror else "")
            raise ConfigFileError.unreadable(what, path, reason, hint=hint) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            reason = f"not UTF-8 text near line {line}, column {column}: {exc.reason}"
            raise ConfigFileError.unreadable(what, path, reason, line=line) from None
        chosen: Format = format or ("JSON" if path.suffix.lower() == ".json" else "YAML")
        loader: type[yaml.BaseLoader | yaml.SafeLoader] = (
            yaml.BaseLoader if strings else Yaml12Loader
        )
        try:
            data = json.loads(text) if chosen == "JSON" else yaml.load(text, Loader=loader)
        except json.JSONDecodeError as exc:
            raise _unparsable(
                what, path, chosen, exc.msg, line=exc.lineno, column=exc.colno
            ) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "unexpected content"
            if exc.context and exc.problem and exc.context_mark is not None:
                problem += f" ({exc.context}, line {exc.context_mark.line + 1})"
            snippet = None if confidential or mark is None else mark.get_snippet()
            raise _unparsable(
                what,
                path,
                chosen,
                problem,
                line=None if mark is None else mark.line + 1,
                column=None if mark is None else mark.column + 1,
                snippet=snippet,
            ) from None
        except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
            # A value PyYAML reads but cannot build (an impossible date), or nesting too deep.
            problem = type(exc).__name__ + ("" if confidential else f": {exc}")
            raise _unparsable(what, path, chosen, problem) from None
        return cls(path, what, chosen, data, confidential, text, loader)

    def validate(
        self,
        schema: type[T] | TypeAdapter[T],
        *,
        at: Location = (),
        context: Mapping[str, Any] | None = None,
        location: Callable[[Location], str] = dotted,
        headline: str = "is malformed",
    ) -> T:
        """The file's content (or its part at `at`) as `schema`; an empty file is an empty
        mapping.

        Args:
            schema: a pydantic model, or a type adapter (`dict[str, Entry]`).
            at: the path of the part to validate (``("members",)``); the caller knows it exists.
            context: pydantic's validation context.
            location: how an error's location is written (default: `dotted`).
            headline: what the message says of a file that does not fit ("is malformed").

        Raises:
            ConfigFileError: some settings break `schema`; every one is named with its line
                (never with its value, which may be a secret).
        """
        adapter = schema if isinstance(schema, TypeAdapter) else TypeAdapter(schema)
        data = self.data
        for part in at:
            data = data[part]
        try:
            return adapter.validate_python({} if data is None else data, context=context)
        except ValidationError as exc:
            root = self._nodes()
            problems = [
                ConfigProblem(
                    location((*at, *error["loc"])),
                    _line(root, (*at, *error["loc"])),
                    error["msg"],
                )
                for error in exc.errors(include_url=False, include_input=False)
            ]
            raise ConfigFileError.invalid(
                self.what, self.path, problems, headline=headline
            ) from None

    def _nodes(self) -> yaml.Node | None:
        """The file's YAML node tree (JSON is YAML too), for the lines of its settings; None
        when it cannot be built, or when the file is one line (whose number says nothing)."""
        if "\n" not in self.text.strip():
            return None
        try:
            return yaml.compose(self.text, Loader=self.loader)
        except (yaml.YAMLError, ValueError, RecursionError):
            return None


def _unparsable(
    what: str,
    path: Path,
    format: Format,
    problem: str,
    *,
    line: int | None = None,
    column: int | None = None,
    snippet: str | None = None,
) -> ConfigFileError:
    where = ""
    if line is not None:
        where = f" near line {line}" + (f", column {column}" if column is not None else "")
    reason = f"not valid {format}{where}: {problem}" + (f"\n{snippet}" if snippet else "")
    return ConfigFileError.unreadable(what, path, reason, line=line)


def _line(root: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """The line (1-based) of the deepest setting on the path `loc` that the file spells out: a
    key, or an item of a list. Parts the file does not hold (a missing field, a union's tag) are
    passed over."""
    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    node, line = value, key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
    return line
