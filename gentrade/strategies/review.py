"""Static review of strategy code before it is written or run (every code path: compiled and LLM).

An allow-list, not a sandbox: the code may import only the modules a strategy needs, may not
name the built-ins and modules that reach the file system, the network, processes or the
interpreter's internals, and may not touch dunder attributes (the usual way out of any
restriction). Each rejection names the line and the rule it broke.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

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


class _Reviewer(ast.NodeVisitor):
    def __init__(self) -> None:
        self.violations: list[Violation] = []

    def flag(self, node: ast.AST, rule: str, message: str) -> None:
        self.violations.append(Violation(getattr(node, "lineno", 0), rule, message))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if not _import_allowed(alias.name):
                self.flag(node, "import-allow-list", f"import of {alias.name} is not allowed")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.flag(node, "import-allow-list", "relative imports are not allowed")
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
            elif node.module == "freqtrade" and not node.level and not _import_allowed(f"freqtrade.{alias.name}"):
                # ``from freqtrade import misc`` imports the module freqtrade.misc.
                self.flag(node, "import-allow-list", f"import of freqtrade.{alias.name} is not allowed")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in FORBIDDEN_NAMES:
            self.flag(node, "forbidden-name", f"use of {node.id} is not allowed")
        elif _is_dunder(node.id):
            self.flag(node, "dunder-access", f"use of {node.id} is not allowed")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _is_dunder(node.attr):
            self.flag(node, "dunder-access", f"access to attribute {node.attr} is not allowed")
        elif node.attr in FORBIDDEN_ATTRIBUTES:
            self.flag(node, "forbidden-attribute", f"attribute {node.attr} (I/O or evaluation) is not allowed")
        elif node.attr.startswith("_"):
            self.flag(node, "private-access", f"access to private attribute {node.attr} is not allowed")
        self.generic_visit(node)

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
    except SyntaxError as exc:
        raise ReviewRejected([Violation(exc.lineno or 0, "syntax", f"syntax error: {exc.msg}")]) from None
    reviewer = _Reviewer()
    reviewer.visit(tree)
    violations = sorted(_structure(tree, name) + reviewer.violations, key=lambda v: (v.line, v.rule))
    if violations:
        raise ReviewRejected(violations)
