"""The training config: validated against the one schema in core/, defaults from it.

core/schema/train-config.schema.json (generated from core/src/config/schema.ts)
is the only definition of the config's fields, bounds and defaults; nothing
here repeats them. The result is a read-only attribute tree, e.g.
`config.method.rank`.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "core" / "schema" / "train-config.schema.json"


class ConfigError(ValueError):
    """An invalid config; the message names the field, e.g. "method.rank: 0 is less than the minimum of 1"."""


@cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def enum(section: str) -> list[str]:
    """The names a registry must hold: the enum of `<section>.name`, or of a `section.field` path (e.g. `data.source`)."""
    section, _, field = section.partition(".")
    properties = schema()["properties"][section]["properties"]
    return list(properties[field or "name"]["enum"])


def _fill_defaults(value: dict, node: dict) -> dict:
    """Copy of `value` with every missing property that has a schema "default" filled in, recursively."""
    out = dict(value)
    for key, prop in node.get("properties", {}).items():
        if key not in out and "default" in prop:
            out[key] = copy.deepcopy(prop["default"])
        if isinstance(out.get(key), dict) and prop.get("type") == "object":
            out[key] = _fill_defaults(out[key], prop)
    return out


class Frozen:
    """A read-only view of a JSON object with attribute access (`config.optimizer.lr`)."""

    def __init__(self, data: dict):
        object.__setattr__(self, "_data", MappingProxyType({k: Frozen(v) if isinstance(v, dict) else v for k, v in data.items()}))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the config is read-only")

    def to_dict(self) -> dict:
        return {k: v.to_dict() if isinstance(v, Frozen) else v for k, v in self._data.items()}

    def __repr__(self) -> str:
        return f"Frozen({self.to_dict()!r})"


def resolve(config: dict) -> dict:
    """Validate a (possibly partial) config and return it with all defaults filled in.

    Raises ConfigError naming the first invalid field.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"config must be an object, got {type(config).__name__}")
    validator = jsonschema.Draft202012Validator(schema())
    for candidate in (config, _fill_defaults(config, schema())):
        error = jsonschema.exceptions.best_match(validator.iter_errors(candidate))
        if error is not None:
            field = ".".join(str(p) for p in error.absolute_path) or "config"
            raise ConfigError(f"{field}: {error.message}")
    return _fill_defaults(config, schema())


def load(config: dict) -> Frozen:
    return Frozen(resolve(config))
