"""A small declarative schema checker whose messages say where, what and how to fix.

Hand-written rather than jsonschema: jsonschema is only in the venv as ansible-lint's dependency (not a
runtime dependency of dockprov), and its messages ("'ustc' is not of type 'array'") name neither the fix
nor the likely typo. Each node below knows how to explain itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import Finding, did_you_mean

# A check on a value that already has the right type: returns (problem, fix) or None.
Check = Callable[[Any], "tuple[str, str] | None"]


def type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string '{value}'"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


@dataclass
class Node:
    kind: str  # str, int, bool, enum, list, dict, map, any_dict
    choices: tuple[str, ...] = ()
    item: Node | None = None  # list items / map values
    fields: dict[str, Node] = field(default_factory=dict)  # dict
    required: tuple[str, ...] = ()  # dict
    check: Check | None = None
    example: str = ""  # how a correct value looks, for fixes


def s(check: Check | None = None, example: str = "") -> Node:
    return Node("str", check=check, example=example)


def enum(*choices: str) -> Node:
    return Node("enum", choices=choices)


def lst(item: Node, example: str = "") -> Node:
    return Node("list", item=item, example=example)


def obj(fields: dict[str, Node], required: tuple[str, ...] = ()) -> Node:
    return Node("dict", fields=fields, required=required)


def validate(node: Node, value: Any, path: str, file: str, out: list[Finding]) -> None:
    """Append a Finding for every problem in `value` (path is the dotted key path, for messages)."""
    leaf = path.rsplit(".", 1)[-1]
    if node.kind == "str":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            out.append(Finding(file, path, f"expected a string, got {type_name(value)}",
                               f"write {leaf}: \"{node.example or '...'}\""))
            return
        if not isinstance(value, str):
            out.append(Finding(file, path, f"expected a string, got {type_name(value)}",
                               f"quote it: {leaf}: \"{value}\" (YAML reads 26.10 as the number 26.1)"))
            return
    elif node.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            out.append(Finding(file, path, f"expected a whole number, got {type_name(value)}",
                               f"write {leaf}: 22 (no quotes)"))
            return
    elif node.kind == "bool":
        if not isinstance(value, bool):
            out.append(Finding(file, path, f"expected true or false, got {type_name(value)}",
                               f"write {leaf}: true or {leaf}: false (YAML 1.2 booleans, no quotes)"))
            return
    elif node.kind == "enum":
        if not isinstance(value, str) or value not in node.choices:
            out.append(Finding(file, path, f"unknown value {type_name(value)}",
                               did_you_mean(str(value), node.choices)))
            return
    elif node.kind == "list":
        if not isinstance(value, list):
            example = f"[{value}]" if isinstance(value, str) else (node.example or "[...]")
            out.append(Finding(file, path, f"expected a list, got {type_name(value)}",
                               f"write it as a list: {leaf}: {example}"))
            return
        assert node.item is not None
        for i, item in enumerate(value):
            validate(node.item, item, f"{path}[{i}]", file, out)
        return
    elif node.kind in ("dict", "map", "any_dict"):
        if not isinstance(value, dict):
            out.append(Finding(file, path, f"expected a mapping (key: value lines), got {type_name(value)}",
                               f"indent the keys of {leaf} under it"))
            return
        if node.kind == "any_dict":
            return
        for key, sub in value.items():
            sub_path = f"{path}.{key}" if path else str(key)
            if node.kind == "map":
                assert node.item is not None
                validate(node.item, sub, sub_path, file, out)
            elif key in node.fields:
                validate(node.fields[key], sub, sub_path, file, out)
            else:
                out.append(Finding(file, sub_path, "unknown key", did_you_mean(str(key), node.fields)))
        for key in node.required:
            if key not in value:
                out.append(Finding(file, f"{path}.{key}" if path else key, "missing",
                                   f"add {key}: under {leaf or 'the top level'}"))
        return
    if node.check is not None:
        found = node.check(value)
        if found:
            out.append(Finding(file, path, *found))
