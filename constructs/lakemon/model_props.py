"""`for_model`: what every L2 construct shares to be built from the app config (env, model).

Why each construct maps its own props: an L2 construct takes only what it needs (names, columns,
warehouse, protection, schedule...) as typed props, so a team can use it without a lakemon env
file; which of those props an env file fills is part of that construct, so it lives next to its
`__init__`, as the classmethod `props_for_model(env, model, given) -> <Construct>Props` (a
TypedDict). What is shared, and only that, is here: `for_model` merges the two (explicit props
win) and refuses a prop name the construct does not take, naming the nearest ones (a typo would
otherwise surface as a TypeError from some parent's `__init__`, or not at all).
No construct classes are imported here (base layer).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Self, cast

from .config.model import Environment, Model, _nearest

NO_PROPS: Mapping[str, Any] = MappingProxyType({})
"""`given` when no prop is given explicitly."""

_NOT_PROPS = {"self", "scope", "id"}


def prop_names(cls: type) -> frozenset[str]:
    """The keyword props `cls(scope, id, **props)` takes: those of its `__init__`, and of each
    parent `__init__` it hands `**props` on to (a table's to DeltaTable, a pipeline's to WheelJob),
    less those a class on the way sets itself (its `fixed_props`: a table's role, a job's name)."""
    names: set[str] = set()
    fixed: set[str] = set()
    for klass in cls.__mro__:
        fixed |= set(vars(klass).get("fixed_props", ()))
        init = vars(klass).get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters.values()
        names |= {p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)} - _NOT_PROPS
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            break
    return frozenset(names - fixed)


def check_prop_names(cls: type, given: Mapping[str, Any], method: str) -> None:
    """TypeError naming `cls`, each prop it does not take and the nearest ones it does."""
    known = prop_names(cls)
    unknown = sorted(set(given) - known)
    if unknown:
        wrong = "; ".join(f"{name!r}{_nearest(name, known)}" for name in unknown)
        raise TypeError(
            f"{cls.__name__}.{method} got unknown prop(s) {wrong}; {cls.__name__} takes: {', '.join(sorted(known))}"
        )


class ForModel:
    """Mixin for L2 constructs: `for_model(scope, id, *, env, model, **props)`.

    A construct says what the env file fills by overriding `props_for_model`; a subclass (a
    team's own construct) inherits its parent's mapping.

    Example::

        InferenceLogTable.for_model(stack, "inference-log", env=env, model=env.model(),
                                    warehouse_id=stack.warehouse_id)
    """

    @classmethod
    def props_for_model(cls, env: Environment, model: Model, given: Mapping[str, Any] = NO_PROPS) -> Mapping[str, Any]:
        """The props the env config gives `cls` for `model`; `given` are the explicit ones (which
        win anyway; a construct reads them only where one prop decides another)."""
        raise TypeError(f"{cls.__name__} has no props mapping from (env, model): it defines no props_for_model")

    @classmethod
    def for_model(cls, scope: Any, id: str, *, env: Environment, model: Model, **props: Any) -> Self:
        """`cls(scope, id, ...)` with its props from the env config; explicit `props` win."""
        check_prop_names(cls, props, "for_model")
        merged: dict[str, Any] = {**cls.props_for_model(env, model, props), **props}
        # a mixin: the construct class it is mixed into takes (scope, id, **props)
        return cast(Any, cls)(scope, id, **merged)
