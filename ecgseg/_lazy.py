"""Public names that load from their submodule on first use (PEP 562), for ``ecgseg`` and ``ecgseg.classify``."""

from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, str], namespace: dict):
    """``__getattr__`` and ``__dir__`` for ``package``: name -> the submodule (relative) that defines it.

    A name, once loaded, is stored in ``namespace`` (the package's globals) so later lookups are plain.
    """
    names = sorted(exports)

    def __getattr__(name):
        if name in exports:
            value = getattr(importlib.import_module(f".{exports[name]}", package), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return list(namespace.get("__all__", names))

    return __getattr__, __dir__
