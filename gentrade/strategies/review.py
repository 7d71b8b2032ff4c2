"""Static review of strategy code before it is written or run (every code path: compiled, LLM, uploaded).

An allow-list, not a sandbox: the code may import only the modules a strategy needs, may not
name the built-ins and modules that reach the file system, the network, processes or the
interpreter's internals, and may not touch dunder attributes (the usual way out of any
restriction). Each rejection names the line and the rule it broke. A few idioms of ordinary
strategies are allowed in context only (:mod:`gentrade.strategies.review_context`).
"""

from __future__ import annotations

import ast
import importlib
import string
from dataclasses import dataclass
from types import ModuleType

from gentrade.strategies.review_context import (
    LOGGING_MODULE,
    SAFE_FUNCTION_NAMES,
    Context,
    dispatch_arguments,
    module_context,
)

# Reaching any of these, by name or as another module's attribute (pandas.io.common.os), is refused.
MODULES_WITH_EFFECTS = frozenset(
    {
        "builtins", "os", "sys", "subprocess", "socket", "importlib", "pickle", "shutil", "ctypes", "marshal",
        "io", "pathlib", "requests", "urllib", "urllib3", "http", "httpx", "aiohttp", "asyncio", "threading",
        "multiprocessing", "tempfile", "shelve", "dbm", "sqlite3", "codecs", "inspect", "gc", "weakref",
        "pty", "fcntl", "ssl", "ftplib", "smtplib", "webbrowser", "zipfile", "tarfile", "posix", "nt",
    }
)  # fmt: skip
ALLOWED_IMPORT_ROOTS = frozenset(
    {"freqtrade", "talib", "technical", "pandas", "numpy", "datetime", "typing", "functools", "math", "__future__"}
)
# Within freqtrade, only what strategies use; e.g. freqtrade.misc writes files.
ALLOWED_FREQTRADE_MODULES = frozenset(
    {
        "freqtrade",
        "freqtrade.strategy",
        "freqtrade.persistence",
        "freqtrade.enums",
        "freqtrade.exchange",
        "freqtrade.constants",
        "freqtrade.vendor.qtpylib",
        "freqtrade.vendor.qtpylib.indicators",
    }
)
# Submodules of freqtrade.strategy that define strategy API, and the names each defines (Freqtrade 2026.9):
# ``from freqtrade.strategy.interface import IStrategy`` is fine; the module itself (its logger, its imports) is not.
STRATEGY_API_NAMES = {
    "freqtrade.strategy.interface": frozenset({"IStrategy"}),
    "freqtrade.strategy.parameters": frozenset(
        {"BaseParameter", "NumericParameter", "IntParameter", "RealParameter", "DecimalParameter"}
        | {"CategoricalParameter", "BooleanParameter"}
    ),
    "freqtrade.strategy.strategy_helper": frozenset(
        {"merge_informative_pair", "stoploss_from_open", "stoploss_from_absolute"}
    ),
    "freqtrade.strategy.informative_decorator": frozenset({"informative"}),
}
FORBIDDEN_NAMES = frozenset(
    {
        "exec", "eval", "compile", "open", "__import__", "globals", "locals", "vars", "dir",
        "getattr", "setattr", "delattr", "breakpoint", "input", "help", "exit", "quit", "memoryview",
        "__builtins__", *MODULES_WITH_EFFECTS,
    }
)  # fmt: skip
# Attribute names that do file or network I/O, evaluate strings, or format their way to attributes.
FORBIDDEN_ATTRIBUTES = frozenset(
    {
        "eval", "query", "format", "format_map", "system", "popen", "spawn", "fork", "load", "loads",
        "save", "savez", "savez_compressed", "loadtxt", "savetxt", "genfromtxt", "fromfile", "tofile",
        "memmap", "DataSource", "fromregex", "ctypeslib", "read_csv", "read_json", "read_pickle",
        "read_parquet", "read_feather", "read_html", "read_sql", "read_sql_query", "read_sql_table",
        "read_excel", "read_hdf", "read_table", "read_clipboard", "read_xml", "read_fwf", "read_sas",
        "read_spss", "read_stata", "read_orc", "read_gbq", "to_csv", "to_pickle", "to_json", "to_parquet",
        "to_feather", "to_sql", "to_excel", "to_hdf", "to_html", "to_clipboard", "to_markdown", "to_latex",
        "to_xml", "to_stata", "to_orc", "to_gbq", "write_text", "write_bytes", "read_text", "read_bytes",
        "file_dump_json", "file_load_json", "connect", "urlopen", "dump", "to_string", "to_iceberg",
        "read_iceberg", "ExcelFile", "ExcelWriter", "HDFStore", "fromtextfile", "openfile", *MODULES_WITH_EFFECTS,
        # Found by the hostile-strategy tests: each of these passed the review and then ran code or did I/O.
        # get_type_hints and singledispatch's register evaluate string annotations: code the review never sees.
        "get_type_hints", "ForwardRef", "evaluate_forward_ref", "get_annotations", "singledispatch",
        "singledispatchmethod",
        # pd.show_versions(as_json=path) writes a file; pd.test / np.test run pytest; np.f2py runs compilers;
        # np.testing.tempdir makes folders; NpzFile opens any path; pandas.core.computation evaluates strings;
        # plotting saves figures and imports the backend module named in an option; Styler renders templates.
        "show_versions", "test", "testing", "f2py", "tempdir", "temppath", "NpzFile", "npyio", "computation",
        "plot", "plotting", "savefig", "style", "Styler",
        # freqtrade.persistence: init_db creates a database file (or connects anywhere); the session runs SQL.
        "init_db", "session", "exec_driver_sql",
    }
)  # fmt: skip
ALLOWED_TOP_LEVEL = (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.Assign, ast.AnnAssign)


@dataclass(frozen=True)
class Violation:
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message} [{self.rule}]"


class ReviewRejected(Exception):
    """The code broke at least one rule; ``violations`` lists each with its line."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("; ".join(str(v) for v in violations))


def _import_allowed(module: str) -> bool:
    root, *parts = module.split(".")
    if root not in ALLOWED_IMPORT_ROOTS:
        return False
    # A submodule is an attribute of its package: pandas.io.common is refused as pd.io.common is.
    if any(part in FORBIDDEN_ATTRIBUTES or part.startswith("_") for part in parts):
        return False
    return root != "freqtrade" or module in ALLOWED_FREQTRADE_MODULES


def _is_dunder(name: str) -> bool:
    return name.startswith("__")


def _plain_format(text: str) -> bool:
    """A format string whose fields are plain (``{}``, ``{0}``, ``{name}``, any spec): ``'{0.__class__}'``
    or ``'{0[key]}'`` would read attributes or items of the arguments, so they are not plain."""
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return False
    for _, name, spec, _ in fields:
        if name is None:
            continue
        if name and not (name.isdigit() or name.isidentifier()):
            return False
        if spec and not _plain_format(spec):  # a spec may nest fields: '{:{width}}'
            return False
    return True


SAFE_BUILTIN_CALLABLES = frozenset({"abs", "min", "max", "sum", "len", "round", "float", "int", "bool"})


def _resolve_module(path: str) -> ModuleType | None:
    """Import a module of an allowed (trusted) library to look at its attributes; None if it is not one."""
    try:
        return importlib.import_module(path)
    except ImportError:
        return None


def _connects(value: object) -> bool:
    """An exchange class: making one connects to the exchange (ccxt) from the strategy's process."""
    if not isinstance(value, type) or not value.__module__.startswith("freqtrade.exchange"):
        return False
    from freqtrade.exchange import Exchange  # only reached for freqtrade.exchange classes, already imported

    return issubclass(value, Exchange)


class _Reviewer(ast.NodeVisitor):
    def __init__(self, functions: set[str], context: Context) -> None:
        self.violations: list[Violation] = []
        self.modules: dict[str, str] = {}  # local name -> module it is bound to
        self.functions = functions  # functions the module defines (safe to pass to apply & co)
        self.context = context
        for node in context.misused:
            self.flag(node, "logging", "a logger's name may only be bound to logging.getLogger(...)")

    def flag(self, node: ast.AST, rule: str, message: str) -> None:
        self.violations.append(Violation(getattr(node, "lineno", 0), rule, message))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == LOGGING_MODULE:
                continue  # its uses are held to logging.getLogger(...) (visit_Name)
            if not _import_allowed(alias.name):
                self.flag(node, "import-allow-list", f"import of {alias.name} is not allowed")
            elif "." in alias.name and not alias.asname:
                # ``import freqtrade.strategy`` binds ``freqtrade``, and with it every loaded submodule.
                self.flag(
                    node, "import-allow-list", f"write `from {alias.name} import ...` or `import {alias.name} as x`"
                )
            else:
                self.modules[alias.asname or alias.name] = alias.name
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.flag(node, "import-allow-list", "relative imports are not allowed")
        elif node.module in STRATEGY_API_NAMES:
            self._strategy_api_names(node, STRATEGY_API_NAMES[node.module])
        elif not _import_allowed(node.module or ""):
            self.flag(node, "import-allow-list", f"import from {node.module} is not allowed")
        for alias in node.names:
            if alias.name == "*":
                self.flag(node, "import-allow-list", "star imports are not allowed")
            elif alias.name in FORBIDDEN_NAMES or _is_dunder(alias.name):
                self.flag(node, "forbidden-name", f"importing {alias.name} is not allowed")
            elif alias.name in FORBIDDEN_ATTRIBUTES:  # ``from numpy import load`` reaches ``numpy.load``
                self.flag(node, "forbidden-attribute", f"importing {alias.name} (I/O or evaluation) is not allowed")
            elif alias.name.startswith("_"):
                self.flag(node, "private-access", f"importing private name {alias.name} is not allowed")
            elif not node.level and node.module and _import_allowed(node.module):
                self._imported_name(node, node.module, alias)
        self.generic_visit(node)

    def _strategy_api_names(self, node: ast.ImportFrom, names: frozenset[str]) -> None:
        for alias in node.names:
            if alias.name != "*" and alias.name not in names:
                self.flag(
                    node,
                    "import-allow-list",
                    f"from {node.module} only {', '.join(sorted(names))} may be imported, not {alias.name}",
                )

    def _imported_name(self, node: ast.ImportFrom, module: str, alias: ast.alias) -> None:
        """``from pandas import io`` imports a module: it must be an allowed one, like any import."""
        package = _resolve_module(module)
        value = getattr(package, alias.name, None) if package is not None else None
        if _connects(value):
            self.flag(node, "network", f"importing {alias.name} (an exchange connection) is not allowed")
        elif isinstance(value, ModuleType) or (value is None and _resolve_module(f"{module}.{alias.name}")):
            path = f"{module}.{alias.name}"
            if not _import_allowed(path):
                self.flag(node, "import-allow-list", f"import of {path} is not allowed")
            else:
                self.modules[alias.asname or alias.name] = path

    def visit_Name(self, node: ast.Name) -> None:
        exempt = id(node) in self.context.exempt
        if node.id in FORBIDDEN_NAMES:
            self.flag(node, "forbidden-name", f"use of {node.id} is not allowed")
        elif _is_dunder(node.id) and not exempt:
            self.flag(node, "dunder-access", f"use of {node.id} is not allowed")
        elif node.id in self.context.logging_aliases and not exempt:
            self.flag(node, "logging", f"of {node.id}, only `logger = {node.id}.getLogger(__name__)` is allowed")
        elif node.id in self.context.loggers and not exempt:
            self.flag(node, "logging", f"{node.id} may only log: {node.id}.info(...), .warning(...), ...")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._check_module_chain(node)
        if _is_dunder(node.attr):
            self.flag(node, "dunder-access", f"access to attribute {node.attr} is not allowed")
        elif node.attr in FORBIDDEN_ATTRIBUTES and not self._plain_format_call(node):
            self.flag(node, "forbidden-attribute", f"attribute {node.attr} (I/O or evaluation) is not allowed")
        elif node.attr.startswith("_") and not self._own_method(node):
            self.flag(node, "private-access", f"access to private attribute {node.attr} is not allowed")
        self.generic_visit(node)

    @staticmethod
    def _plain_format_call(node: ast.Attribute) -> bool:
        """``'ema_{}'.format(n)``: format on a string literal with plain fields only."""
        literal = node.value
        return (
            node.attr == "format"
            and isinstance(literal, ast.Constant)
            and isinstance(literal.value, str)
            and _plain_format(literal.value)
        )

    def _own_method(self, node: ast.Attribute) -> bool:
        """``self._helper`` read, where ``_helper`` is the strategy's own method and ``self`` can only be it."""
        return (
            node.attr in self.context.own_methods
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
            and isinstance(node.ctx, ast.Load)
        )

    def _check_module_chain(self, node: ast.Attribute) -> None:
        """``np.random`` is fine; ``pd.io.common.os`` or ``freqtrade.misc`` reach modules outside the allow-list."""
        chain: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            chain.insert(0, current.attr)
            current = current.value
        if not isinstance(current, ast.Name) or current.id not in self.modules:
            return
        value: object = _resolve_module(self.modules[current.id])
        for attr in chain:
            value = getattr(value, attr, None)
            if _connects(value):
                self.flag(node, "network", f"{attr} (an exchange connection) is not allowed")
            if not isinstance(value, ModuleType):
                return
            if not _import_allowed(value.__name__):
                self.flag(node, "module-access", f"reaching module {value.__name__} is not allowed")
                return

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute):
            for candidate in dispatch_arguments(node):
                if not self._safe_callable(candidate):
                    self.flag(
                        node,
                        "string-dispatch",
                        f"{node.func.attr}() takes a lambda, a function or a reduction name here",
                    )
                    break
        self.generic_visit(node)

    def _safe_callable(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Lambda | ast.Attribute):
            return True
        if isinstance(node, ast.Name):
            return node.id in self.functions | SAFE_BUILTIN_CALLABLES | self.context.aggregations
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str) and node.value in SAFE_FUNCTION_NAMES
        if isinstance(node, ast.List | ast.Tuple):
            return all(self._safe_callable(element) for element in node.elts)
        if isinstance(node, ast.Dict):
            return all(self._safe_callable(value) for value in node.values)
        return False

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if _is_dunder(node.name):
            self.flag(node, "dunder-access", f"defining {node.name} is not allowed")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Global(self, node: ast.Global) -> None:
        self.flag(node, "no-global", "global statements are not allowed")

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.flag(node, "no-global", "nonlocal statements are not allowed")

    def visit_alias(self, node: ast.alias) -> None:
        if node.asname and (node.asname in FORBIDDEN_NAMES or _is_dunder(node.asname)):
            self.flag(node, "forbidden-name", f"alias {node.asname} is not allowed")


def _strategy_classes(tree: ast.Module) -> list[ast.ClassDef]:
    def is_strategy(base: ast.expr) -> bool:
        return (isinstance(base, ast.Name) and base.id == "IStrategy") or (
            isinstance(base, ast.Attribute) and base.attr == "IStrategy"
        )

    return [n for n in tree.body if isinstance(n, ast.ClassDef) and any(is_strategy(b) for b in n.bases)]


def _structure(tree: ast.Module, name: str) -> list[Violation]:
    violations = []
    for index, node in enumerate(tree.body):
        is_docstring = index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if not (isinstance(node, ALLOWED_TOP_LEVEL) or is_docstring):
            violations.append(
                Violation(node.lineno, "top-level", f"top-level {type(node).__name__} statements are not allowed")
            )
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    strategies = _strategy_classes(tree)
    if len(strategies) != 1:
        violations.append(
            Violation(1, "one-strategy", f"expected exactly one IStrategy subclass, found {len(strategies)}")
        )
    elif strategies[0].name != name:
        violations.append(
            Violation(
                strategies[0].lineno, "strategy-name", f"the strategy class is {strategies[0].name}, expected {name}"
            )
        )
    for cls in classes:
        if cls not in strategies:
            violations.append(
                Violation(cls.lineno, "one-strategy", f"class {cls.name} is not allowed beside the strategy")
            )
    return violations


def review(code: str, name: str) -> None:
    """Raise :class:`ReviewRejected` unless ``code`` is an acceptable strategy module named ``name``."""
    try:
        tree = ast.parse(code, filename=f"{name}.py")
        functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        strategies = _strategy_classes(tree)
        reviewer = _Reviewer(functions, module_context(tree, strategies[0] if len(strategies) == 1 else None))
        reviewer.visit(tree)
    except SyntaxError as exc:
        raise ReviewRejected([Violation(exc.lineno or 0, "syntax", f"syntax error: {exc.msg}")]) from None
    except UnicodeEncodeError:  # a lone surrogate: not text a file can hold
        raise ReviewRejected([Violation(0, "syntax", "the code is not UTF-8 text")]) from None
    except (RecursionError, MemoryError):  # the parser or the walk gives up on absurdly nested code
        raise ReviewRejected([Violation(0, "syntax", "the code is nested too deeply to review")]) from None
    violations = sorted(_structure(tree, name) + reviewer.violations, key=lambda v: (v.line, v.rule))
    if violations:
        raise ReviewRejected(violations)
