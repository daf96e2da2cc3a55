"""YAML text for generated files, in the style yamllint and ansible-lint accept (indented sequences)."""

from __future__ import annotations

from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """Indents lists under their key (`key:\\n  - item`), which yamllint's default indentation rule wants."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Multi-line text (an armored key) as a literal block, not an escaped one-liner.
    # Port maps and host:port in double quotes: "22:22" unquoted is a YAML 1.1 base-60 number to some parsers.
    style = "|" if "\n" in value else ('"' if ":" in value else None)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, default_flow_style=False, sort_keys=False, width=110,
                     allow_unicode=True)


def block(value: Any, indent: int = 0) -> str:
    """`value` as YAML, every line but the first indented by `indent` spaces (for use after `key:` in a
    template, as `key:{{ x | yaml_block(2) }}`): scalars and empty collections stay on the key's line."""
    if value is None:
        return ""
    if value in ([], {}) or not isinstance(value, list | dict):
        text = yaml.dump(value, Dumper=_Dumper, default_flow_style=True, width=1000).strip()
        if text.endswith("\n..."):
            text = text[: -len("\n...")]
        return " " + text.removesuffix("...").strip()
    pad = " " * indent
    lines = dump(value).rstrip("\n").splitlines()
    return "\n" + "\n".join(pad + line for line in lines)
