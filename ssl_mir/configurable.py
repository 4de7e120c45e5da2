"""Modules that remember their constructor arguments, so that a config rebuilds them without pickling anything.

Encoders and front ends are `Configurable`. `get_config()` gives the arguments, with a nested configurable (an
encoder's front end) written as {"class_path", "init_args"}; `build` turns such a dict back into a module, importing
only allowed classes.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
from typing import Any

ALLOWED_PREFIXES = ("ssl_mir.",)
TRUST_ENV = "SSL_MIR_TRUST"  # comma-separated packages whose classes exported encoders may name


def trust(*packages: str) -> None:
    """Let exported encoders name classes from these packages (`ssl-mir --trust PKG`), in this process and the
    processes it starts (the list travels in the SSL_MIR_TRUST environment variable)."""
    known = [p for p in os.environ.get(TRUST_ENV, "").split(",") if p]
    os.environ[TRUST_ENV] = ",".join(dict.fromkeys([*known, *(p.strip() for p in packages if p.strip())]))


def allowed_prefixes() -> tuple[str, ...]:
    """ssl_mir's own classes, and those of the packages the user trusts."""
    trusted = [p.strip().rstrip(".") + "." for p in os.environ.get(TRUST_ENV, "").split(",") if p.strip()]
    return (*ALLOWED_PREFIXES, *trusted)


class Configurable:
    """Mixin: the outermost subclass's `__init__` arguments are recorded on the instance."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        signature = inspect.signature(init)

        @functools.wraps(init)
        def recording_init(self: Configurable, *args: Any, **kw: Any) -> None:
            if "_init_args" not in self.__dict__:  # the outermost subclass records its arguments
                bound = signature.bind(self, *args, **kw)
                bound.apply_defaults()
                object.__setattr__(self, "_init_args", {k: v for k, v in bound.arguments.items() if k != "self"})
            init(self, *args, **kw)

        cls.__init__ = recording_init  # type: ignore[method-assign]

    @property
    def class_path(self) -> str:
        return f"{type(self).__module__}.{type(self).__qualname__}"

    def get_config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this module; nested configurables as {class_path, init_args}."""
        return {k: describe(v) if isinstance(v, Configurable) else v
                for k, v in self.__dict__.get("_init_args", {}).items()}


def describe(module: Configurable) -> dict[str, Any]:
    return {"class_path": module.class_path, "init_args": module.get_config()}


def build(config: dict[str, Any], base: type = Configurable, allowed: tuple[str, ...] | None = None) -> Any:
    """Instantiate {class_path, init_args} (nested ones too) as a `base` subclass from an allowed module (default:
    `allowed_prefixes()`)."""
    allowed = allowed_prefixes() if allowed is None else allowed
    class_path = str(config["class_path"])
    if not class_path.startswith(allowed):
        package = class_path.partition(".")[0]
        raise ValueError(f"refusing to import {class_path}: only classes under {allowed} are allowed; if you "
                         f"trust the package, pass --trust {package} (or set {TRUST_ENV}={package})")
    module_name, _, class_name = class_path.rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ValueError(f"{class_path} is not an ssl_mir {base.__name__}")
    init_args = {k: build(v, Configurable, allowed) if isinstance(v, dict) and "class_path" in v else v
                 for k, v in config.get("init_args", {}).items()}
    return cls(**init_args)
