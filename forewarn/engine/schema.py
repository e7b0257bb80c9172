"""The config schema read back from its own structs: every key, its default and its meaning.

The meaning of a key is the line its struct's docstring gives it (``name: what it is``, see
``forewarn/engine/config.py``), so ``forewarn config show --defaults`` — and the shipped
``deploy/forewarn.sample.toml``, which a test keeps equal to it — cannot drift from the code.
The same walk tells a misspelt key what was meant (:func:`did_you_mean`).

>>> from forewarn.engine.config import Config
>>> keys = dict((k.path, k) for k in walk(Config()))
>>> keys["detectors.delivery_late.grace_hours"].value
12.0
>>> keys["detectors.delivery_late.grace_hours"].meaning.split(" (")[0]
'how long past ``estimated_delivery_at`` a parcel may still arrive before it counts as late'
>>> did_you_mean("detectors.delivery_late", "grace_hour")
"did you mean 'grace_hours'?"
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

import msgspec
import msgspec.inspect as mi


class Key(NamedTuple):
    """One key of the config: its dotted path, its value, its meaning, its table."""

    path: str
    value: Any
    meaning: str
    struct: type  # the struct (TOML table) it belongs to


def meanings(struct: type) -> dict[str, str]:
    """Field name -> its one-line meaning, from the struct's docstring.

    A field is documented by a docstring line ``name: text`` (continued on indented lines),
    or by ``name: text`` after a ``; `` within such a text; ``a, b: text`` documents both.
    """
    if struct.__doc__ is None:
        return {}
    doc = inspect.cleandoc(struct.__doc__)
    names = {f.encode_name for f in _fields(struct)} | {f.name for f in _fields(struct)}
    alternatives = "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
    entries: list[str] = []
    current: list[str] | None = None
    for line in doc.splitlines():
        start = re.match(rf"((?:{alternatives})(?:, (?:{alternatives}))*): ", line)
        if start:
            current = [line]
            entries.append(current)  # type: ignore[arg-type]
        elif current is not None and line.startswith((" ", "\t")) and line.strip():
            current.append(line.strip())
        else:
            current = None
    out: dict[str, str] = {}
    for entry in entries:
        text = " ".join(entry)  # type: ignore[arg-type]
        marks = list(re.finditer(rf"(?:^|; )((?:{alternatives})(?:, (?:{alternatives}))*): ", text))
        for i, m in enumerate(marks):
            stop = marks[i + 1].start() if i + 1 < len(marks) else len(text)
            for name in m.group(1).split(", "):
                out.setdefault(name, text[m.end():stop].strip())
    return out


def _fields(struct: type):
    return mi.type_info(struct).fields


def walk(value: msgspec.Struct, prefix: str = "") -> Iterator[Key]:
    """Every key of a config value, depth first, in declaration order."""
    struct = type(value)
    docs = meanings(struct)
    for f in _fields(struct):
        v = getattr(value, f.name)
        path = f"{prefix}{f.encode_name}"
        if isinstance(v, msgspec.Struct) and isinstance(f.type, mi.StructType):
            yield from walk(v, path + ".")
        else:
            yield Key(path, v, docs.get(f.encode_name) or docs.get(f.name, ""), struct)


def struct_at(root: type, path: str) -> type | None:
    """The struct type at a dotted path (``detectors.delivery_late``), or None."""
    node: Any = mi.type_info(root)
    for part in [p for p in re.split(r"[.\[\]]", path) if p]:
        if isinstance(node, mi.StructType):
            match = [f for f in node.fields if f.encode_name == part]
            if not match:
                return None
            node = match[0].type
        elif isinstance(node, mi.DictType):
            node = node.value_type
        elif isinstance(node, mi.ListType) and part.isdigit():
            node = node.item_type
        else:
            return None
    while isinstance(node, (mi.ListType, mi.DictType)) and not isinstance(node, mi.StructType):
        node = node.item_type if isinstance(node, mi.ListType) else node.value_type
    return node.cls if isinstance(node, mi.StructType) else None


def did_you_mean(table: str, key: str, root: type | None = None) -> str:
    """``did you mean 'x'?`` for an unknown key in a table, or the keys it has."""
    if root is None:
        from forewarn.engine.config import Config

        root = Config
    struct = struct_at(root, table)
    if struct is None:
        return ""
    names = [f.encode_name for f in _fields(struct)]
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return "allowed: " + ", ".join(names)


_UNKNOWN = re.compile(r"Object contains unknown field `(?P<key>[^`]*)`(?: - at `\$(?P<at>[^`]*)`)?")


def explain_unknown(message: str) -> str | None:
    """msgspec's unknown-field error as ``table.key: unknown key; did you mean ...``, else None."""
    m = _UNKNOWN.search(message)
    if m is None:
        return None
    table = (m.group("at") or "").lstrip(".")
    where = f"{table}.{m.group('key')}" if table else m.group("key")
    hint = did_you_mean(table, m.group("key"))
    return f"{where}: unknown key" + (f"; {hint}" if hint else "")


# --- TOML -----------------------------------------------------------------------------------

def toml_value(v: Any) -> str:
    """A value as TOML: booleans, numbers, strings, lists, inline tables (anything else as its text)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_bare(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _bare(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_value(key)


def _plain(text: str) -> str:
    """Docstring markup out of a comment: ````x```` -> ```x```."""
    return text.replace("``", "`")


def _comment(meaning: str) -> str:
    return f"# {_plain(meaning)}\n" if meaning else ""


def to_toml(config: msgspec.Struct, header: str = "") -> str:
    """The whole config as TOML: a table per struct, each key under its meaning.

    A key whose default is "not set" (None) is written commented out; a list of tables
    (``routing.rules``) as ``[[...]]`` entries.
    """
    out = [header] if header else []
    tables: dict[str, list[Key]] = {}
    for key in walk(config):
        tables.setdefault(key.path.rsplit(".", 1)[0], []).append(key)
    for table, keys in tables.items():
        doc = (inspect.getdoc(keys[0].struct) or "").split("\n", 1)[0]
        out.append(f"\n[{table}]\n" + (f"# {_plain(doc)}\n" if doc.startswith("``[") else ""))
        later: list[str] = []
        for key in keys:
            name = key.path.rsplit(".", 1)[1]
            builtin = msgspec.to_builtins(key.value)
            if key.value is None:
                out.append(_comment(key.meaning) + f"# {_bare(name)} =  (not set)\n")
            elif isinstance(builtin, list) and builtin and all(isinstance(x, dict) for x in builtin):
                later.append(_comment(key.meaning) + "".join(
                    f"[[{key.path}]]\n" + "".join(f"{_bare(k)} = {toml_value(v)}\n" for k, v in row.items())
                    for row in builtin))
            else:
                out.append(_comment(key.meaning) + f"{_bare(name)} = {toml_value(builtin)}\n")
        if later:
            out.append("\n" + "\n".join(later))
    return "".join(out)


def undocumented(config: msgspec.Struct) -> list[str]:
    """Keys whose struct docstring gives them no meaning (a test keeps this empty)."""
    return [k.path for k in walk(config) if not k.meaning]
