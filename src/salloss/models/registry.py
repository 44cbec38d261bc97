"""The model registry: architecture name → builder, so configs and the pipeline name models.

A builder is any callable ``builder(**options) -> nn.Module`` with explicit keyword parameters;
`build` checks the options against the builder's signature, so a typo in a config key fails
with the list of valid options instead of a bare ``TypeError``. Add an architecture with::

    from salloss.models import register

    @register("my_net")
    def build_my_net(*, weights: str = "imagenet", activation: str = "relu") -> nn.Module:
        ...
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from salloss.errors import ConfigError

Builder = Callable[..., nn.Module]

# name → builder; plain dict so users can inspect it (and, deliberately, add to it).
MODELS: dict[str, Builder] = {}


def register(name: str, *, replace: bool = False) -> Callable[[Builder], Builder]:
    """Decorator adding ``builder`` to `MODELS` under ``name``.

    Registering an existing name raises `ConfigError` unless ``replace=True`` (a silent
    override would make a config mean different things depending on import order).
    """
    if not name or not isinstance(name, str):
        raise ConfigError(f"model name must be a non-empty string, got {name!r}")

    def decorator(builder: Builder) -> Builder:
        if name in MODELS and not replace and MODELS[name] is not builder:
            raise ConfigError(
                f"model {name!r} is already registered (by {MODELS[name].__qualname__}); "
                "pass replace=True to override it"
            )
        MODELS[name] = builder
        return builder

    return decorator


def available() -> list[str]:
    """Registered architecture names, sorted."""
    return sorted(MODELS)


def build(name: str, **options: Any) -> nn.Module:
    """Build the architecture ``name`` with keyword ``options`` (e.g. ``weights='none'``).

    Raises `ConfigError` for an unknown name or an option the builder does not take, listing
    the valid choices in both cases.
    """
    try:
        builder = MODELS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown model {name!r}; valid choices: {', '.join(available())}"
        ) from None
    valid = builder_options(builder)
    if valid is not None:
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise ConfigError(
                f"model {name!r} got unknown option(s) {', '.join(unknown)}; "
                f"valid options: {', '.join(sorted(valid)) or '(none)'}"
            )
    return builder(**options)


def builder_options(builder: Builder) -> list[str] | None:
    """Keyword options a builder accepts, or None when it takes ``**kwargs`` (anything goes)."""
    params = inspect.signature(builder).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return [
        p.name
        for p in params
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]


def count_trainable(model: nn.Module) -> int:
    """Number of scalar parameters that receive gradients (``requires_grad``), shared ones once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
