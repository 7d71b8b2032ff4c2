"""The review's narrow allowances for idioms of ordinary Freqtrade strategies, decided on the whole module.

The review judges names, attributes and calls one node at a time. A few idioms that community
strategies use everywhere are harmless only in context: a logger that only ever logs, a dict of
reduction names that only ever feeds ``.agg``, a private helper reached through a ``self`` that can
only be the strategy, metadata such as ``__author__ = "..."``. Each is decided here, before the
review walks the module, and each holds only when every binding and every use of the name fits it;
otherwise the per-node rules refuse the code exactly as before.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

# pandas methods that call a function given by name: ``df.apply("to_csv", path_or_buf=...)`` would
# reach any method. Their function argument must be a lambda, a reference, or a harmless name.
DISPATCHING_METHODS = frozenset({"apply", "agg", "aggregate", "transform", "map", "applymap", "pipe"})
SAFE_FUNCTION_NAMES = frozenset(
    {
        "mean", "sum", "min", "max", "std", "var", "median", "count", "first", "last", "prod", "size",
        "nunique", "sem", "skew", "kurt", "cumsum", "cumprod", "cummax", "cummin", "abs", "diff",
        "pct_change", "rank", "shift", "idxmin", "idxmax", "any", "all", "round", "quantile",
    }
)  # fmt: skip
LOGGING_MODULE = "logging"
LOG_METHODS = frozenset({"debug", "info", "warning", "error", "exception", "critical"})
# Module globals the interpreter or the import system defines or reads: not metadata, whatever the value.
MODULE_DUNDERS = frozenset(
    {
        "__builtins__", "__name__", "__qualname__", "__module__", "__doc__", "__file__", "__cached__",
        "__loader__", "__spec__", "__package__", "__path__", "__annotations__", "__dict__", "__class__",
        "__all__", "__getattr__", "__dir__", "__debug__", "__import__",
    }
)  # fmt: skip
# Decorators that leave ``self`` the strategy: Freqtrade's informative (called with the strategy) and property.
TRUSTED_DECORATORS = {"informative": ("freqtrade.strategy", "freqtrade.strategy.informative_decorator")}
BUILTIN_DECORATORS = frozenset({"property"})


@dataclass
class Context:
    """What the per-node rules must not flag (``exempt``: ``id()`` of nodes) and the names allowed in context."""

    logging_aliases: frozenset[str] = frozenset()
    loggers: frozenset[str] = frozenset()
    aggregations: frozenset[str] = frozenset()
    own_methods: frozenset[str] = frozenset()  # private methods of the strategy, reachable as ``self._name``
    exempt: set[int] = field(default_factory=set)
    misused: list[ast.AST] = field(default_factory=list)  # other bindings of a logger's name


def _bindings(tree: ast.Module) -> dict[str, list[ast.AST]]:
    """Every place a name is bound (assigned, deleted, a parameter, imported, defined, caught)."""
    sites: dict[str, list[ast.AST]] = defaultdict(list)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            sites[node.id].append(node)
        elif isinstance(node, ast.arg):
            sites[node.arg].append(node)
        elif isinstance(node, ast.alias):
            sites[(node.asname or node.name).split(".")[0]].append(node)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.ExceptHandler):
            if node.name:  # an ``except`` without ``as`` binds nothing
                sites[node.name].append(node)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            sites[node.name].append(node)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            sites[node.rest].append(node)
    return sites


def _loads(tree: ast.Module) -> dict[str, list[ast.Name]]:
    uses: dict[str, list[ast.Name]] = defaultdict(list)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            uses[node.id].append(node)
    return uses


def _single_name_assignments(tree: ast.Module) -> Iterator[tuple[ast.Name, ast.expr]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            yield node.targets[0], node.value


def is_literal(node: ast.expr) -> bool:
    """A constant, or a tuple, list, set or dict of constants: data that cannot run anything."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, int | float)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return all(is_literal(element) for element in node.elts)
    if isinstance(node, ast.Dict):
        return all(key is not None and is_literal(key) for key in node.keys) and all(map(is_literal, node.values))
    return False


def is_reduction_literal(node: ast.expr) -> bool:
    """``"mean"``, ``["min", "max"]`` or ``{"open": "first", "close": ["last"]}``: reduction names only."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value in SAFE_FUNCTION_NAMES
    if isinstance(node, ast.List | ast.Tuple):
        return bool(node.elts) and all(is_reduction_literal(element) for element in node.elts)
    if isinstance(node, ast.Dict):
        return (
            bool(node.values)
            and all(isinstance(key, ast.Constant) for key in node.keys)
            and all(is_reduction_literal(value) for value in node.values)
        )
    return False


def dispatch_arguments(call: ast.Call) -> list[ast.expr]:
    """The arguments of ``x.apply(...)`` & co that name the function to call."""
    if not (isinstance(call.func, ast.Attribute) and call.func.attr in DISPATCHING_METHODS):
        return []
    return call.args[:1] + [keyword.value for keyword in call.keywords if keyword.arg in ("func", "arg")]


def _only(name: str, sites: dict[str, list], allowed: set[int]) -> bool:
    return all(id(site) in allowed for site in sites.get(name, ()))


def _aggregations(tree: ast.Module, bindings: dict[str, list[ast.AST]], loads: dict[str, list[ast.Name]]) -> set[str]:
    """Names only ever bound to reduction names and only ever passed to ``.agg`` & co (so never changed)."""
    targets: dict[str, set[int]] = defaultdict(set)
    for target, value in _single_name_assignments(tree):
        if is_reduction_literal(value):
            targets[target.id].add(id(target))
    dispatched = {id(arg) for call in ast.walk(tree) if isinstance(call, ast.Call) for arg in dispatch_arguments(call)}
    return {name for name, ids in targets.items() if _only(name, bindings, ids) and _only(name, loads, dispatched)}


def _logger_call(value: ast.expr, aliases: frozenset[str]) -> list[ast.AST] | None:
    """The nodes of ``logging.getLogger(__name__)`` (or of a literal name) the per-node rules skip; else None."""
    if not (isinstance(value, ast.Call) and len(value.args) == 1 and not value.keywords):
        return None
    func, (argument,) = value.func, value.args
    if not (isinstance(func, ast.Attribute) and func.attr == "getLogger"):
        return None
    if not (isinstance(func.value, ast.Name) and func.value.id in aliases):
        return None
    if isinstance(argument, ast.Name) and argument.id == "__name__":
        return [func, func.value, argument]
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return [func, func.value]
    return None


def _add_loggers(tree: ast.Module, context: Context, bindings: dict[str, list[ast.AST]]) -> None:
    """``logger = logging.getLogger(__name__)``, then only ``logger.info(...)`` and the other level methods."""
    context.logging_aliases = frozenset(
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == LOGGING_MODULE
    )
    if not context.logging_aliases:
        return
    targets: dict[str, set[int]] = defaultdict(set)
    for target, value in _single_name_assignments(tree):
        parts = _logger_call(value, context.logging_aliases)
        if parts is not None:
            targets[target.id].add(id(target))
            context.exempt.update(id(part) for part in [target, *parts])
    context.loggers = frozenset(targets)
    for call in ast.walk(tree):
        receiver = call.func.value if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) else None
        if isinstance(receiver, ast.Name) and receiver.id in targets and call.func.attr in LOG_METHODS:
            context.exempt.add(id(receiver))
    for name, ids in targets.items():
        context.misused += [site for site in bindings[name] if id(site) not in ids and not isinstance(site, ast.Name)]


def _metadata(tree: ast.Module, context: Context) -> None:
    """Module-level ``__author__ = "..."`` and the like: a literal under a name nothing reads."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name.startswith("__") and name.endswith("__") and name not in MODULE_DUNDERS and is_literal(node.value):
                context.exempt.add(id(node.targets[0]))


def _trusted_decorator(decorator: ast.expr, bindings: dict[str, list[ast.AST]], imports: dict[int, str]) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if not isinstance(target, ast.Name):
        return False
    if target.id in BUILTIN_DECORATORS:
        return not bindings.get(target.id) and not isinstance(decorator, ast.Call)
    modules = TRUSTED_DECORATORS.get(target.id)
    sites = bindings.get(target.id, [])
    return bool(modules and sites) and all(imports.get(id(site)) in modules for site in sites)


def _freqtrade_internal(name: str) -> bool:
    """A private name Freqtrade's IStrategy uses itself (its methods, or what it sets on the instance, which
    would shadow a method of that name): not a helper of the strategy's own."""
    from freqtrade.strategy import IStrategy  # already imported by the review of any strategy's imports

    return name.startswith(("_ft_", "_IStrategy__")) or hasattr(IStrategy, name)


def _own_methods(
    tree: ast.Module, strategy: ast.ClassDef, bindings: dict[str, list[ast.AST]], loads: dict[str, list[ast.Name]]
) -> frozenset[str]:
    """The strategy's private methods ``self._name`` may reach, or none unless ``self`` can only be the strategy:
    ``self`` is bound only as the first parameter of the strategy's methods, no method is decorated with
    anything that could call it with another first argument, and neither the class nor any of its methods
    is reached by name (``Probe.method(other)``, ``type(self)``), so nothing calls a method on another object."""
    methods = [node for node in strategy.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    private = frozenset(
        m.name
        for m in methods
        if m.name.startswith("_") and not m.name.startswith("__") and not _freqtrade_internal(m.name)
    )
    if not private:
        return frozenset()
    first_params = {id(params[0]) for m in methods if (params := m.args.posonlyargs + m.args.args)}
    imports = {
        id(alias): node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    if not _only("self", bindings, first_params):
        return frozenset()
    if not all(_trusted_decorator(d, bindings, imports) for m in methods for d in m.decorator_list):
        return frozenset()
    if any(loads.get(name) for name in [strategy.name, "type", *(m.name for m in methods)]):
        return frozenset()
    return private


def module_context(tree: ast.Module, strategy: ast.ClassDef | None) -> Context:
    """The allowances that hold for this module (``strategy``: its one strategy class, if there is one)."""
    bindings, loads = _bindings(tree), _loads(tree)
    context = Context(aggregations=frozenset(_aggregations(tree, bindings, loads)))
    _add_loggers(tree, context, bindings)
    _metadata(tree, context)
    if strategy is not None:
        context.own_methods = _own_methods(tree, strategy, bindings, loads)
    return context
