"""One registry per axis (method, optimizer, scheduler): a declarative table keyed by the schema's enum names."""

from __future__ import annotations

from typing import Generic, Mapping, TypeVar

T = TypeVar("T")


class UnknownName(LookupError):
    """A name that is not in a registry; the message lists the known ones."""


class Registry(Generic[T]):
    """A named, read-only table with one clear error for an unknown name."""

    def __init__(self, axis: str, entries: Mapping[str, T]):
        self.axis = axis
        self._entries = dict(entries)

    def __getitem__(self, name: str) -> T:
        if name not in self._entries:
            raise UnknownName(f"unknown {self.axis} '{name}'; known: {', '.join(self._entries)}")
        return self._entries[name]

    def names(self) -> list[str]:
        return list(self._entries)

    def items(self):
        return self._entries.items()
