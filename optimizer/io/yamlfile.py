"""The one YAML loader of every input file (network.yaml, scenario and sweep files), with bounds.

:func:`load_yaml` reads a file through :func:`optimizer.io.files.read_input` (a plain file of at
most :data:`~optimizer.io.files.MAX_YAML_BYTES`), refuses control characters (NUL, ESC, NEL ...)
and parses it with :class:`BoundedLoader`, a ``yaml.SafeLoader`` that

- nests at most :data:`MAX_DEPTH` mappings and lists,
- follows at most :data:`MAX_ALIASES` aliases (``*name``) and expands to at most
  :data:`MAX_NODES` values counting every alias in full (so an "alias bomb" fails at once),
- reads numbers as plain decimals only (``12``, ``-3.5``, ``1e6``; no ``1_000``, ``0x10``,
  ``1:30`` or octal ``012``, which YAML 1.1 would otherwise turn into other numbers), and
  refuses integers too large for a float.

Every failure is a :class:`~optimizer.errors.Problem` naming the file and, where known, the line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from optimizer.errors import Problem
from optimizer.io.files import CONTROL, MAX_YAML_BYTES, decode, read_input

#: Deepest nesting of mappings and lists accepted.
MAX_DEPTH = 50
#: Most aliases (``*name``) accepted in one file.
MAX_ALIASES = 100
#: Most values (scalars, mappings and lists, every alias expanded) in one file.
MAX_NODES = 100_000

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"


class _LimitError(yaml.MarkedYAMLError):
    """A bound of :class:`BoundedLoader` was exceeded."""


class BoundedLoader(yaml.SafeLoader):
    """A safe loader with bounded depth, aliases and size, and plain-decimal numbers."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT_TAG, _FLOAT_TAG)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        """A loader over ``stream`` (the whole text), with fresh alias and depth counts."""
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        """Compose one node, counting aliases and nesting depth against the bounds."""
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _LimitError(None, None, f"more than {MAX_ALIASES} aliases (*name); that is the limit "
                                  "of a YAML input file", self.peek_event().start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _LimitError(None, None, f"nested more than {MAX_DEPTH} levels deep; that is the limit "
                                  "of a YAML input file", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


BoundedLoader.add_implicit_resolver(_INT_TAG, re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
BoundedLoader.add_implicit_resolver(
    _FLOAT_TAG,
    re.compile(r"^(?:[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """A decimal integer (leading zeros are not octal); too large for a float is an error."""
    value = int(loader.construct_scalar(node))
    try:
        float(value)
    except OverflowError:
        raise _LimitError(None, None, f"the number {str(value)[:20]}... is too large (over 1.8e308)",
                          node.start_mark) from None
    return value


BoundedLoader.add_constructor(_INT_TAG, _construct_int)


def _code(character: str | int) -> int:
    """The code point of a character PyYAML reports (a str, or an int for some readers)."""
    return character if isinstance(character, int) else ord(character)


def _expanded_size(root: yaml.Node) -> int:
    """Number of values below ``root`` with every alias expanded (shared nodes counted each time)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(item) for item in node.value)
        else:
            total = 1
        sizes[id(node)] = total = min(total, MAX_NODES + 1)
        return total

    return size(root)


def parse_yaml(text: str, display: str, problems: list[Problem]) -> tuple[Any, yaml.Node | None] | None:
    """Parse YAML text within the bounds of :class:`BoundedLoader`.

    Args:
        text: The text.
        display: The file as shown in problems.
        problems: List to append a problem to.

    Returns:
        ``(document, root node)`` (``(None, None)`` for an empty document), or None after a problem.
    """
    bad = CONTROL.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        problems.append(Problem(display, f"control character U+{ord(bad.group()):04X} is not allowed "
                                         "in a YAML file; remove it", line))
        return None
    loader: BoundedLoader | None = None
    try:
        loader = BoundedLoader(text)
        root = loader.get_single_node()
        if root is None:
            return None, None
        if _expanded_size(root) > MAX_NODES:
            problems.append(Problem(display, f"expands to more than {MAX_NODES:,} values (are aliases *name "
                                             "used to repeat large parts?)", root.start_mark.line + 1))
            return None
        return loader.construct_document(root), root
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = str(exc.problem or exc.context)
        if exc.context and exc.problem and exc.context_mark is not None:
            detail += f" ({exc.context} on line {exc.context_mark.line + 1})"
        if not isinstance(exc, _LimitError):
            detail = f"YAML syntax error: {detail}"
        problems.append(Problem(display, detail, mark.line + 1 if mark else None))
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        problems.append(Problem(display, f"character U+{_code(exc.character):04X} is not allowed in a YAML file; "
                                         "remove it", line))
    except yaml.YAMLError as exc:
        problems.append(Problem(display, f"YAML error: {exc}"))
    except RecursionError:
        problems.append(Problem(display, "nested too deeply to be read"))
    finally:
        if loader is not None:
            loader.dispose()
    return None


def load_yaml(path: Path, display: str, problems: list[Problem]) -> tuple[Any, yaml.Node | None] | None:
    """Read and parse a YAML input file within the bounds of this module.

    Args:
        path: The file (a plain file of at most :data:`~optimizer.io.files.MAX_YAML_BYTES`).
        display: The file as shown in problems.
        problems: List to append a problem to.

    Returns:
        ``(document, root node)``, or None after a problem naming the file.
    """
    data = read_input(path, display, problems, MAX_YAML_BYTES)
    if data is None:
        return None
    text = decode(data, display, problems, spreadsheet=False)
    return None if text is None else parse_yaml(text, display, problems)

