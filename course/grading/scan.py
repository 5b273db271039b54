"""A static scan of a submission for code that reaches into the grading machinery, for a person to review.

    python -m course scan submitted/*/session1_chat/*.ipynb

:func:`scan_notebook` reads every code cell the student can change (cells nbgrader restores from the
gradebook at grading, the locked set-up and the test cells, are skipped when the course's source
notebook is found), turns IPython syntax (``%magic``, ``!cmd``) into Python the way the kernel does,
scans the code inside cell magics (``%%capture``, ``%%time``, ``%%timeit``, ``%%prun``, ``%%debug``; and
``%%python``, ``%%writefile`` on their own) and line magics (``%time``, ``%timeit``...) too, and walks the
syntax tree. Each finding names its rule, the cell by its position (1-based, among all cells: never the
cell's id or grade id, which the student controls) and the line::

    builtins-patch: cell 14 line 2: builtins.abs = ...

Rules: ``ipython-hooks`` (input/AST transformers, events, run_cell, the shell's internals),
``custom-exc`` (set_custom_exc, sys.excepthook), ``builtins-patch`` (changing ``builtins`` or shadowing
a builtin the checks use), ``sys-modules`` (sys.modules, import hooks, sys.path), ``course-internals``
(changing a ``course`` module or object, private names, ``course.grading``), ``monkeypatch`` (changing
another imported module or class), ``rigged-object`` (a class overriding comparison or identity:
``__eq__``, ``__class__``, ``__instancecheck__``...), ``hard-coded`` (a function of a scenario that
ignores it and returns a constant), ``introspection`` (gc, frames, ``__globals__``/``__closure__``/
``__code__``, ctypes), ``dynamic-code`` (eval, exec, compile, ``__import__``, importlib), ``settrace``
(trace, profile and audit hooks), ``threads``, ``file-access`` (absolute or ``..`` paths, the notebook
files or the gradebook, non-literal paths), ``subprocess`` (os.system, subprocess, ``!cmd``, ``%%bash``),
``signal``, ``exit`` (sys.exit, os._exit, quit), ``network``, ``frontend-code`` (``%%html``,
``%%javascript``: code for the browser) and ``unscanned``.

``unscanned``: a cell (or a magic's body) the scan could not read: it does not parse, it is nested too
deeply (a very long expression), it is too large. The scan never comes back empty because it failed: a
cell it cannot read is a flag, and a statement nested too deeply for the full scan still gets a shallow
one (the names and attributes it uses). A cell that does not parse does not run either, so this flag is
often an honest unfinished cell.

A finding is a reason for a person to look, never a grade: the scan over-reports on purpose (few honest
answers in this course need any of it), and obfuscated code can slip past it; grading itself does not
trust the kernel, and the sandbox keeps files and network out of reach.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Finding", "RULES", "scan_notebook", "scan_source", "strip_hidden", "trusted_sources"]

RULES = (
    "ipython-hooks", "custom-exc", "builtins-patch", "sys-modules", "course-internals", "monkeypatch",
    "rigged-object", "hard-coded", "introspection", "dynamic-code", "settrace", "threads", "file-access",
    "subprocess", "signal", "exit", "network", "frontend-code", "unscanned",
)
#: A cell longer than this is not parsed (one flag instead); one with more syntax nodes stops there.
MAX_CELL_CHARS = 500_000
MAX_NOTEBOOK_CHARS = 2_000_000
MAX_NODES = 400_000
_MAX_EMBEDDED = 8  # magics inside magics inside...

# The shell's machinery: reaching any of these through get_ipython() changes how cells run.
_SHELL_ATTRS = {
    "input_transformers_cleanup", "input_transformers_post", "input_transformer_manager", "input_splitter",
    "ast_transformers", "events", "run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell",
    "transform_ast", "showtraceback", "_showtraceback", "showsyntaxerror", "display_pub", "displayhook",
    "display_formatter", "display_trap", "builtin_trap", "set_hook", "register_magic_function",
    "register_magics", "magics_manager", "extension_manager", "kernel", "shell_handlers", "history_manager",
    "payload_manager", "prefilter_manager", "compile", "user_ns", "user_global_ns", "user_ns_hidden",
    "execution_count", "last_execution_result", "init_user_ns", "reset", "del_var", "should_run_async",
    "loop_runner", "ask_exit", "exit_now", "excepthook", "object_inspect",
}
# Attribute names that only IPython's machinery uses, flagged whatever they are reached through.
_HOOK_ATTRS = {"input_transformers_cleanup", "input_transformers_post", "input_transformer_manager",
               "ast_transformers", "register_magic_function", "shell_handlers", "display_pub"}
_CUSTOM_EXC = {"set_custom_exc", "CustomTB", "custom_exceptions", "InteractiveTB", "SyntaxTB", "excepthook",
               "showtraceback", "_showtraceback"}
#: Builtins the checks and the hidden tests rely on; a notebook-level name that shadows one is flagged.
SHADOWED = {
    "abs", "all", "any", "bool", "callable", "compile", "dict", "eval", "exec", "filter", "float", "getattr",
    "globals", "hasattr", "hash", "int", "isinstance", "issubclass", "iter", "len", "list", "locals", "map",
    "max", "min", "next", "object", "open", "print", "range", "repr", "round", "set", "setattr", "sorted",
    "str", "sum", "super", "tuple", "type", "vars", "zip", "__import__", "__build_class__",
}
_COMPARISON_DUNDERS = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__float__",
                       "__int__", "__index__", "__instancecheck__", "__subclasscheck__", "__subclasshook__",
                       "__class__", "__getattribute__", "__abs__", "__round__", "__len__"}
_INTROSPECTION_ATTRS = {"__globals__", "__closure__", "__code__", "__defaults__", "__kwdefaults__",
                        "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "f_trace", "tb_frame",
                        "gi_frame", "cr_frame", "ag_frame", "__subclasses__", "__bases__", "__mro__",
                        "cell_contents", "co_consts", "__func__", "__self__"}
_IMPORT_RULES = {
    "builtins": "builtins-patch", "__builtin__": "builtins-patch",
    "gc": "introspection", "ctypes": "introspection", "_ctypes": "introspection", "inspect": "introspection",
    "importlib": "dynamic-code", "runpy": "dynamic-code", "marshal": "dynamic-code", "pickle": "dynamic-code",
    "code": "dynamic-code", "codeop": "dynamic-code",
    "threading": "threads", "_thread": "threads", "multiprocessing": "threads", "concurrent": "threads",
    "subprocess": "subprocess", "pty": "subprocess", "pexpect": "subprocess", "sh": "subprocess",
    "signal": "signal", "faulthandler": "signal", "atexit": "exit",
    "socket": "network", "ssl": "network", "urllib": "network", "http": "network", "requests": "network",
    "httpx": "network", "aiohttp": "network", "ftplib": "network", "smtplib": "network", "telnetlib": "network",
    "websocket": "network", "websockets": "network", "paramiko": "network", "xmlrpc": "network",
    "shutil": "file-access", "glob": "file-access", "tempfile": "file-access", "sqlite3": None,
    "IPython": "ipython-hooks", "ipykernel": "ipython-hooks", "traitlets": "ipython-hooks",
    "nbgrader": "course-internals", "nbformat": "course-internals", "nbclient": "course-internals",
    "jupyter_client": "course-internals",
}
# from IPython import these is harmless (display helpers); anything else of IPython is flagged.
_IPYTHON_HARMLESS = {"IPython.display", "IPython.core.display"}
_CALL_RULES = {
    "eval": "dynamic-code", "exec": "dynamic-code", "compile": "dynamic-code", "__import__": "dynamic-code",
    "breakpoint": "dynamic-code",
    "exit": "exit", "quit": "exit", "sys.exit": "exit", "os._exit": "exit", "os.abort": "exit",
    "os.kill": "signal", "os.killpg": "signal",
    "sys.settrace": "settrace", "sys.setprofile": "settrace", "threading.settrace": "settrace",
    "threading.setprofile": "settrace", "sys.addaudithook": "settrace", "sys._getframe": "introspection",
    "sys._current_frames": "introspection", "sys.setrecursionlimit": "settrace",
    "os.system": "subprocess", "os.popen": "subprocess", "os.fork": "subprocess", "os.forkpty": "subprocess",
    "os.posix_spawn": "subprocess", "os.posix_spawnp": "subprocess",
    "globals": "introspection", "vars": "introspection", "locals": "introspection",
    "get_ipython().system": "subprocess", "get_ipython().getoutput": "subprocess",
    "get_ipython().system_piped": "subprocess", "get_ipython().system_raw": "subprocess",
    "sys.path.insert": "sys-modules", "sys.path.append": "sys-modules", "sys.path.extend": "sys-modules",
    "types.FunctionType": "dynamic-code", "types.CodeType": "dynamic-code", "types.ModuleType": "sys-modules",
}
# What get_ipython() is for in ordinary notebooks (magics, !cmd): judged by their own rules, not as a hook.
_SHELL_CALLS = {"run_line_magic", "run_cell_magic", "magic", "system", "getoutput", "system_piped", "system_raw"}
_SYS_ATTRS = {"modules": "sys-modules", "meta_path": "sys-modules", "path_hooks": "sys-modules",
              "path_importer_cache": "sys-modules", "settrace": "settrace", "setprofile": "settrace",
              "monitoring": "settrace", "addaudithook": "settrace", "excepthook": "custom-exc",
              "displayhook": "ipython-hooks", "_getframe": "introspection", "_current_frames": "introspection",
              "stdout": None, "stderr": None}
_SHELL_MAGICS = {"bash", "sh", "script", "system", "sx", "perl", "ruby", "python", "python2", "python3", "pypy",
                 "writefile", "load", "run", "load_ext", "reload_ext", "env", "set_env", "cd", "pushd",
                 "popd", "bookmark", "alias", "rehashx", "store", "reset", "xdel", "config", "killbgscripts"}
_MAGIC_RULES = {"bash": "subprocess", "sh": "subprocess", "script": "subprocess", "system": "subprocess",
                "sx": "subprocess", "perl": "subprocess", "ruby": "subprocess", "python": "subprocess",
                "python2": "subprocess", "python3": "subprocess", "pypy": "subprocess", "killbgscripts": "subprocess",
                "writefile": "file-access", "load": "file-access", "run": "dynamic-code", "load_ext": "ipython-hooks",
                "reload_ext": "ipython-hooks", "env": "file-access", "set_env": "file-access", "cd": "file-access",
                "pushd": "file-access", "popd": "file-access", "bookmark": "file-access", "alias": "subprocess",
                "rehashx": "subprocess", "store": "file-access", "reset": "ipython-hooks", "xdel": "ipython-hooks",
                "config": "ipython-hooks",
                "html": "frontend-code", "javascript": "frontend-code", "js": "frontend-code",
                "pip": "subprocess", "conda": "subprocess", "mamba": "subprocess", "micromamba": "subprocess",
                "man": "subprocess", "pastebin": "network",
                "save": "file-access", "logstart": "file-access", "logon": "file-access", "notebook": "file-access",
                "pycat": "file-access", "pfile": "file-access", "less": "file-access", "more": "file-access",
                "edit": "file-access", "loadpy": "file-access", "file": "file-access",
                "rerun": "dynamic-code", "recall": "dynamic-code", "macro": "dynamic-code",
                "history": "introspection", "autocall": "ipython-hooks", "alias_magic": "ipython-hooks",
                "code_wrap": "ipython-hooks", "unload_ext": "ipython-hooks", "autoawait": "ipython-hooks"}
# Magics whose argument or body is Python run in the kernel: scanned like the rest of the cell.
_KERNEL_PY_MAGICS = {"capture", "time", "timeit", "prun", "debug"}
# Magics whose body is Python run somewhere else (another process, a file): scanned on their own.
_OTHER_PY_MAGICS = {"python", "python3", "pypy", "writefile", "file"}
# Magics whose body is a shell or another language: only the paths it mentions are looked at.
_TEXT_MAGICS = {"bash", "sh", "script", "perl", "ruby", "system", "sx", "python2"}
# Magics whose body is for display: nothing to scan (``frontend-code`` flags html and javascript).
_DISPLAY_MAGICS = {"html", "javascript", "js", "svg", "latex", "markdown"}
_FILE_CALLS = {"open", "io.open", "os.open", "os.listdir", "os.scandir", "os.walk", "os.remove", "os.unlink",
               "os.rename", "os.replace", "os.chdir", "os.makedirs", "os.mkdir", "os.rmdir", "os.stat", "os.access",
               "os.path.exists", "os.path.isfile", "os.path.isdir", "os.path.getsize", "os.chmod", "os.symlink",
               "os.link", "os.truncate", "pathlib.Path", "pathlib.PurePath", "sqlite3.connect", "os.fdopen",
               "codecs.open", "io.FileIO", "pandas.read_csv", "pandas.read_json", "pandas.read_sql",
               "os.getcwd", "pathlib.Path.cwd", "pathlib.Path.home", "os.path.expanduser"}
_PATH_WORDS = ("gradebook", ".ipynb", "autograded", "submitted", "nbgrader", "release/", "source/", "feedback/",
               "/proc", "/etc", "/root", "/home", ".db")
_PATH_METHODS = {"read_text", "read_bytes", "write_text", "write_bytes", "iterdir", "glob", "rglob", "unlink",
                 "rmdir", "mkdir", "rename", "replace", "touch", "open", "parent", "parents", "resolve", "absolute",
                 "expanduser", "home", "cwd"}


@dataclass(frozen=True, order=True)
class Finding:
    """One flag: the cell (1-based position among all cells), the line in that cell, the rule and what was seen.

    Never the cell's id or grade id: the student controls those.
    """

    cell: int
    line: int
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: cell {self.cell} line {self.line}: {_clean(self.detail)}"


def _clean(text: str, limit: int = 160) -> str:
    """A detail fit for one CSV field and one terminal line: printable, no ``;`` (flags are joined with ``; ``)."""
    out = "".join(ch if ch.isprintable() else "?" for ch in " ".join(str(text).split()))
    out = out.replace(";", ",")
    return out if len(out) <= limit else out[: limit - 3] + "..."


_ESCAPED_LINE = re.compile(r"^\s*[!%?,;/]|=\s*[!%]|\?\s*$")
_PROMPT_LINE = re.compile(r"^\s*(>>>|\.\.\.|In \[\d+\]:)", re.MULTILINE)
#: IPython re-tokenizes the whole cell once per magic it rewrites: past this (magics × characters), the
#: magic lines are rewritten one by one instead (same result for one-line magics, linear time).
_TRANSFORM_BUDGET = 2_000_000


def _python(source: str) -> tuple[str, int, bool]:
    """A cell as Python the way IPython's own transformer makes it (``%magic``, ``!cmd`` become calls).

    Returns the text, how many leading blank lines IPython dropped (to keep the cell's line numbers) and
    whether IPython could transform it (when it cannot, the kernel would not run it either).
    """
    lines = source.split("\n")
    shift = 0
    while shift < len(lines) - 1 and not lines[shift].strip():
        shift += 1
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython is a dependency of nbgrader
        return source, 0, True
    escaped = [i for i, line in enumerate(lines) if _ESCAPED_LINE.search(line)]
    cell_magic = lines[shift].lstrip().startswith("%%")
    if not escaped and not cell_magic and not lines[shift][:1].isspace() and not _PROMPT_LINE.search(source):
        return source, 0, True  # nothing IPython would rewrite: skip its tokenizer (most cells)
    try:
        if cell_magic or len(escaped) * len(source) <= _TRANSFORM_BUDGET:
            return TransformerManager().transform_cell(source), shift, True
        manager = TransformerManager()
        for i in escaped:
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            rewritten = manager.transform_cell(lines[i].strip()).rstrip("\n")
            lines[i] = indent + rewritten if "\n" not in rewritten else lines[i]
        return "\n".join(lines), 0, True
    except Exception:  # noqa: BLE001 - untransformable text is parsed as it is
        return source, 0, False


class _TooLarge(Exception):
    """The cell has more syntax nodes than :data:`MAX_NODES`."""


class _Aliases(dict):
    """The import aliases, keeping the set of their root modules up to date (``_imported`` asks it per node)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.roots: dict[str, int] = {}
        for value in self.values():
            self._count(value, 1)

    def _count(self, value: str, step: int) -> None:
        root = str(value).split(".")[0].split("[")[0]
        self.roots[root] = self.roots.get(root, 0) + step
        if self.roots[root] <= 0:
            del self.roots[root]

    def __setitem__(self, key, value) -> None:
        if key in self:
            self._count(self[key], -1)
        super().__setitem__(key, value)
        self._count(value, 1)

    def __delitem__(self, key) -> None:
        self._count(self[key], -1)
        super().__delitem__(key)

    def pop(self, key, *default):
        if key in self:
            self._count(self[key], -1)
        return super().pop(key, *default)


class _Scanner(ast.NodeVisitor):
    """Walks one cell; ``aliases`` (name → dotted origin) carries imports from cell to cell."""

    def __init__(self, aliases: dict[str, str]) -> None:
        self.aliases = aliases
        self.found: list[tuple[int, str, str]] = []
        self.depth = 0  # > 0 inside a function or class body
        self.scopes: list[set[str]] = []  # local names of the enclosing functions (they hide the imports)
        self.nodes = 0
        # Code that runs from a string: (line, magic, kind, code) of %%capture bodies, %time arguments...
        self.embedded: list[tuple[int, str, str, str]] = []

    def visit(self, node: ast.AST):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooLarge
        return super().visit(node)

    # -- helpers -----------------------------------------------------------------------------------
    def flag(self, node: ast.AST, rule: str, detail: str) -> None:
        self.found.append((getattr(node, "lineno", 1), rule, detail))

    def qualname(self, node: ast.AST) -> str | None:
        """``course.checks.check`` for ``checks.check`` after ``from course import checks``, and so on."""
        if isinstance(node, ast.Name):
            if any(node.id in scope for scope in self.scopes):
                return node.id
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            func = self.qualname(node.func)
            if func in ("get_ipython", "IPython.get_ipython", "IPython.core.getipython.get_ipython"):
                return "get_ipython()"
            if func == "__import__" and node.args and isinstance(node.args[0], ast.Constant):
                return str(node.args[0].value)
            if func in ("importlib.import_module",) and node.args and isinstance(node.args[0], ast.Constant):
                return str(node.args[0].value)
            if func in ("pathlib.Path", "pathlib.PurePath"):
                return "pathlib.Path()"
            if func == "type" and node.args:
                inner = self.qualname(node.args[0])
                return f"type({inner})" if inner else None
        if isinstance(node, ast.Subscript):
            base = self.qualname(node.value)
            return f"{base}[]" if base else None
        return None

    @staticmethod
    def _root(name: str) -> str:
        return name.split(".")[0].split("[")[0]

    def _imported(self, name: str | None) -> bool:
        """Does the dotted name start at something imported (a module or an object from one)?"""
        if not name:
            return False
        root = self._root(name)
        roots = self.aliases.roots if isinstance(self.aliases, _Aliases) else {self._root(v) for v in self.aliases.values()}
        return root in roots or root in ("builtins", "sys", "course", "get_ipython()")

    # -- imports -----------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_import(node, alias.name)
            bound = alias.asname or alias.name.split(".")[0]
            self.aliases[bound] = alias.name if alias.asname else alias.name.split(".")[0]
            self._check_binding(node, bound)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            self.flag(node, "sys-modules", f"relative import from {'.' * node.level}{module}")
        for alias in node.names:
            full = f"{module}.{alias.name}" if module else alias.name
            self._check_import(node, full, from_module=module)
            if module.split(".")[0] == "course" and alias.name.startswith("_"):
                self.flag(node, "course-internals", f"imports the private name {full}")
            if alias.name == "*":
                continue
            bound = alias.asname or alias.name
            self.aliases[bound] = full
            self._check_binding(node, bound)

    def _check_import(self, node: ast.AST, name: str, from_module: str | None = None) -> None:
        root = name.split(".")[0]
        if root == "course":
            if name.startswith(("course.grading", "course.nbgrader_ext")) or (
                    from_module == "course" and name.split(".")[1] in ("grading", "nbgrader_ext")):
                self.flag(node, "course-internals", f"imports {name} (the grading machinery)")
            return
        if root == "IPython":
            module = from_module if from_module is not None else name
            if module in _IPYTHON_HARMLESS or name in ("IPython.get_ipython", "IPython.display"):
                return
        if root == "os" and name not in ("os", "os.path"):
            tail = name.split(".", 1)[1]
            rule = _CALL_RULES.get(f"os.{tail}")
            if rule:
                self.flag(node, rule, f"imports {name}")
            return
        if root == "sys" and name != "sys":
            rule = _SYS_ATTRS.get(name.split(".")[1])
            if rule:
                self.flag(node, rule, f"imports {name}")
            return
        rule = _IMPORT_RULES.get(root)
        if root == "asyncio":
            return
        if rule:
            self.flag(node, rule, f"imports {name}")

    # -- bindings at notebook level ----------------------------------------------------------------
    def _check_binding(self, node: ast.AST, name: str) -> None:
        if self.depth == 0 and name in SHADOWED:
            self.flag(node, "builtins-patch", f"shadows the builtin {name!r}")

    def _bind_target(self, node: ast.AST, target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self._check_binding(node, target.id)
            if isinstance(node, ast.Assign) and self.qualname(node.value) == "get_ipython()":
                self.aliases[target.id] = "get_ipython()"
            elif target.id in self.aliases and self.depth == 0:
                value = getattr(node, "value", None)
                origin = self.qualname(value) if value is not None else None
                before = self.aliases[target.id]
                if self._root(before) == "course" and origin != before and before.count(".") >= 2:
                    self.flag(node, "course-internals", f"rebinds {target.id} (the course's {before})")
                if origin and self._imported(origin):
                    self.aliases[target.id] = origin
                else:
                    self.aliases.pop(target.id, None)
            elif self.depth == 0 and isinstance(node, ast.Assign):
                origin = self.qualname(node.value)
                if origin and self._imported(origin):
                    self.aliases[target.id] = origin
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind_target(node, element)
        elif isinstance(target, ast.Starred):
            self._bind_target(node, target.value)
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            self._changed(node, target)

    def _changed(self, node: ast.AST, target: ast.AST) -> None:
        """An assignment or deletion of ``x.attr`` or ``x[key]``: whose is ``x``?"""
        base_node = target.value
        base = self.qualname(base_node)
        shown = ast.unparse(target)
        attr = target.attr if isinstance(target, ast.Attribute) else None
        if base is None:
            if attr in _INTROSPECTION_ATTRS:
                self.flag(node, "introspection", f"{shown} = ...")
            return
        root = self._root(base)
        if base.startswith("sys.modules") or base in ("sys.meta_path", "sys.path_hooks", "sys.path_importer_cache"):
            self.flag(node, "sys-modules", f"{shown} = ...")
        elif root in ("builtins", "__builtins__"):
            self.flag(node, "builtins-patch", f"{shown} = ...")
        elif root == "sys":
            rule = _SYS_ATTRS.get(attr or "", "monkeypatch") if base == "sys" else "monkeypatch"
            self.flag(node, rule or "monkeypatch", f"{shown} = ...")
        elif root == "get_ipython()":
            rule = "custom-exc" if attr in _CUSTOM_EXC else "ipython-hooks"
            self.flag(node, rule, f"{shown} = ...")
        elif root == "course" or base.startswith("type(course"):
            self.flag(node, "course-internals", f"{shown} = ...")
        elif self._imported(base) or base.startswith("type("):
            self.flag(node, "monkeypatch", f"{shown} = ...")
        elif attr in _INTROSPECTION_ATTRS or attr == "__class__":
            self.flag(node, "introspection", f"{shown} = ...")

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        for target in node.targets:
            self._bind_target(node, target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.generic_visit(node)
        self._bind_target(node, node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.generic_visit(node)
        self._bind_target(node, node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.generic_visit(node)
        self._bind_target(node, node.target)

    def visit_Delete(self, node: ast.Delete) -> None:
        self.generic_visit(node)
        for target in node.targets:
            if isinstance(target, (ast.Attribute, ast.Subscript)):
                self._changed(node, target)

    def visit_For(self, node: ast.For) -> None:
        self._bind_target(node, node.target)
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                self._bind_target(node, item.optional_vars)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            if name in SHADOWED:
                self.flag(node, "builtins-patch", f"global {name} (shadows the builtin)")

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._check_binding(node, node.name)
        self._check_hard_coded(node)
        for decorator in node.decorator_list:
            self.visit(decorator)
        arguments = node.args
        local = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
        local |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                local.add(inner.id)
            elif isinstance(inner, (ast.Global, ast.Nonlocal)):
                local -= set(inner.names)
        self.depth += 1
        self.scopes.append(local)
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._check_binding(node, node.name)
        for expression in [*node.bases, *[k.value for k in node.keywords], *node.decorator_list]:
            self.visit(expression)
        rigged = sorted({item.name for item in node.body
                         if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in _COMPARISON_DUNDERS}
                        | {t.id for item in node.body if isinstance(item, ast.Assign) for t in item.targets
                           if isinstance(t, ast.Name) and t.id in _COMPARISON_DUNDERS})
        if rigged:
            self.flag(node, "rigged-object", f"class {node.name} defines {', '.join(rigged)}")
        if any(k.arg == "metaclass" for k in node.keywords):
            self.flag(node, "rigged-object", f"class {node.name} has a metaclass")
        self.depth += 1
        for statement in node.body:
            self.visit(statement)
        self.depth -= 1

    def _check_hard_coded(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        params = [a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
                  if a.arg not in ("self", "cls")]
        if not params or self.depth:
            return
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        returns = [n for n in ast.walk(node) if isinstance(n, ast.Return) and n.value is not None]
        if not used & set(params) and returns and all(_constant(r.value) for r in returns):
            self.flag(node, "hard-coded", f"{node.name}({', '.join(params)}) ignores its input and returns a constant")

    # -- uses --------------------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if node.id == "__builtins__":
            self.flag(node, "builtins-patch", "uses __builtins__")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.generic_visit(node)
        base = self.qualname(node.value)
        name = f"{base}.{node.attr}" if base else f"….{node.attr}"
        if base == "get_ipython()":
            if node.attr in _CUSTOM_EXC:
                self.flag(node, "custom-exc", name)
            elif node.attr in _SHELL_ATTRS:
                self.flag(node, "ipython-hooks", name)
            return
        if node.attr in _HOOK_ATTRS or (node.attr in ("register", "unregister") and base and base.endswith(".events")):
            self.flag(node, "ipython-hooks", name)
        elif node.attr in ("set_custom_exc", "CustomTB", "custom_exceptions"):
            self.flag(node, "custom-exc", name)
        elif node.attr in _INTROSPECTION_ATTRS:
            self.flag(node, "introspection", name)
        elif base == "sys" and _SYS_ATTRS.get(node.attr):
            self.flag(node, _SYS_ATTRS[node.attr], name)
        elif base and self._root(base) == "course":
            if node.attr.startswith("_") and not node.attr.startswith("__"):
                self.flag(node, "course-internals", f"{name} (a private name)")
            elif name.startswith(("course.grading", "course.nbgrader_ext")):
                self.flag(node, "course-internals", name)
            elif node.attr == "__dict__":
                self.flag(node, "course-internals", name)
        elif base and self._root(base) in ("builtins", "__builtins__") and node.attr == "__dict__":
            self.flag(node, "builtins-patch", name)
        elif node.attr in _PATH_METHODS and base and base.startswith("pathlib.Path()"):
            self.flag(node, "file-access", f"{name}")

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        func = self.qualname(node.func)
        if func is None:
            return
        if func in ("get_ipython", "IPython.get_ipython"):
            parent = getattr(node, "parent", None)
            if not (isinstance(parent, ast.Attribute) and parent.attr in _SHELL_CALLS):
                self.flag(node, "ipython-hooks", "get_ipython()")
            return
        shown = func
        rule = _CALL_RULES.get(func)
        if rule is None and func.startswith("os.") and func.split(".")[1].startswith(("exec", "spawn")):
            rule = "subprocess"
        if rule is None and func.startswith("subprocess."):
            rule = "subprocess"
        if rule is None and func.startswith("signal."):
            rule = "signal"
        if rule is None and func in ("setattr", "delattr", "object.__setattr__", "type.__setattr__"):
            target = self.qualname(node.args[0]) if node.args else None
            if target:
                root = self._root(target)
                rule = ("builtins-patch" if root in ("builtins", "__builtins__") else
                        "course-internals" if root == "course" else
                        "sys-modules" if target.startswith("sys.modules") else
                        "ipython-hooks" if root == "get_ipython()" else
                        "monkeypatch" if self._imported(target) else None)
                shown = f"{func}({target}, ...)"
        if rule is None and func in ("get_ipython().run_line_magic", "get_ipython().run_cell_magic",
                                     "get_ipython().magic"):
            magic = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            words = str(magic).split() if isinstance(magic, str) else []
            name = words[0].lstrip("%") if words else ""
            rule = _MAGIC_RULES.get(name) or _MAGIC_RULES.get(name.lower())
            cell_magic = func.endswith("run_cell_magic")
            shown = f"{'%%' if cell_magic else '%'}{_safe_word(name)} magic"
            self._embedded(node, name, cell_magic, func.endswith(".magic"))
        if rule is None and (func in _FILE_CALLS or func.startswith(("shutil.", "glob."))):
            if _outside_copy(node):
                rule = "file-access"
                shown = ast.unparse(node)[:120]
        if rule is None and func == "getattr" and len(node.args) >= 2 and not isinstance(node.args[1], ast.Constant):
            target = self.qualname(node.args[0])
            if target and self._root(target) in ("builtins", "__builtins__", "course", "sys", "get_ipython()"):
                rule = "dynamic-code"
                shown = f"getattr({target}, <computed name>)"
        if rule:
            plain = shown.endswith((")", " magic")) or rule == "file-access"
            self.flag(node, rule, shown if plain else f"{shown}(...)")

    def _embedded(self, node: ast.Call, name: str, cell_magic: bool, old_style: bool) -> None:
        """Remember the Python a magic runs from its string arguments, to scan it too."""
        args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
        line = getattr(node, "lineno", 1)
        key = name.lower()
        if old_style:  # get_ipython().magic("time x = f()")
            text = args[0] if args else None
            if text is not None and key in _KERNEL_PY_MAGICS:
                self.embedded.append((line, name, "options", text.strip().lstrip("%")[len(name):]))
            return
        if cell_magic:
            first = args[1] if len(args) > 1 else None
            body = args[2] if len(args) > 2 else None
            if key == "timeit" and first:
                self.embedded.append((line, name, "options", first))
            if body is None:
                return
            if key == "script" and first and first.split()[0].split("/")[-1].startswith(("python", "pypy")):
                key = "python"
            kind = ("kernel" if key in _KERNEL_PY_MAGICS else "other" if key in _OTHER_PY_MAGICS else
                    "text" if key in _TEXT_MAGICS else "display" if key in _DISPLAY_MAGICS else "unknown")
            if key in ("writefile", "file"):
                kind = "file"
            self.embedded.append((line, name, kind, body))
        elif key in _KERNEL_PY_MAGICS and len(args) > 1 and args[1] is not None:
            self.embedded.append((line, name, "options", args[1]))

    def visit_Raise(self, node: ast.Raise) -> None:
        self.generic_visit(node)
        if node.exc is not None:
            name = self.qualname(node.exc.func if isinstance(node.exc, ast.Call) else node.exc)
            if name in ("SystemExit", "KeyboardInterrupt", "builtins.SystemExit"):
                self.flag(node, "exit", f"raise {name}")

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and _suspicious_path(node.value):
            self.flag(node, "file-access", f"mentions the path {node.value!r}")


def _constant(node: ast.AST) -> bool:
    """A literal, or arithmetic and calls (``q("57 msg/s")``, ``57 * u.msg / u.s``) over literals and names."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_constant(e) for e in node.elts)
    if isinstance(node, ast.BinOp):
        return _constant(node.left) and _constant(node.right)
    if isinstance(node, ast.UnaryOp):
        return _constant(node.operand)
    if isinstance(node, ast.Attribute):  # u.msg
        return isinstance(node.value, ast.Name)
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.args and all(_constant(a) for a in node.args) and not node.keywords
    return False


def _suspicious_path(text: str) -> bool:
    """A string that points out of the notebook's folder, or at the grading files."""
    stripped = text.strip()
    if not stripped or len(stripped) > 300 or any(ch.isspace() for ch in stripped):
        return False
    if stripped.startswith("..") or "/../" in stripped or "gradebook" in stripped or stripped.endswith(".ipynb"):
        return True
    return stripped.startswith(("/", "~")) and any(word in stripped for word in _PATH_WORDS)


def _outside_copy(call: ast.Call) -> bool:
    """A file call whose path is absolute, climbs out with ``..``, names the grading files, or is computed."""
    args = [*call.args, *[k.value for k in call.keywords if k.arg in (None, "file", "path", "database", "name")]]
    if not args:
        return True  # os.getcwd(), Path.home(), os.listdir()
    first = args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        text = first.value
        return (text.startswith(("/", "~")) or ".." in text or any(w in text for w in _PATH_WORDS)) and text != ":memory:"
    if isinstance(first, ast.Constant):
        return False
    return True  # a computed path cannot be shown to stay inside the copy


def _safe_word(text: str, limit: int = 40) -> str:
    """A magic's name as the student typed it, reduced to ``[A-Za-z0-9_-]`` (at most ``limit`` characters)."""
    return "".join(ch for ch in text[: limit * 4] if ch.isascii() and (ch.isalnum() or ch in "_-"))[:limit]


def _reason(exc: BaseException) -> str:
    """Why a cell could not be scanned, in words that do not quote the cell."""
    if isinstance(exc, RecursionError):
        return "nested too deeply (RecursionError)"
    if isinstance(exc, MemoryError):
        return "too large (MemoryError)"
    if isinstance(exc, _TooLarge):
        return f"too large (over {MAX_NODES} syntax nodes)"
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {_clean(exc.msg or 'invalid syntax', 80)}"
    return f"{type(exc).__name__}: {_clean(str(exc), 80)}" if str(exc) else type(exc).__name__


def _options_then_code(text: str) -> str | None:
    """``-n 10 -r 3 x = f()`` (a %timeit or %prun argument) → ``x = f()``: the shortest tail that parses."""
    words = text.strip().split(" ")
    for start in range(len(words) + 1):
        candidate = " ".join(words[start:]).strip()
        if start and not words[start - 1].startswith("-") and not (start > 1 and words[start - 2].startswith("-")):
            break  # past the options: what is left is not code
        try:
            ast.parse(candidate)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        return candidate
    return None


_SHALLOW_ATTRS = {
    **{a: "ipython-hooks" for a in _HOOK_ATTRS}, **{a: "custom-exc" for a in _CUSTOM_EXC},
    **{a: "introspection" for a in _INTROSPECTION_ATTRS},
    "modules": "sys-modules", "meta_path": "sys-modules", "path_hooks": "sys-modules",
    "settrace": "settrace", "setprofile": "settrace", "addaudithook": "settrace", "_getframe": "introspection",
    "system": "subprocess", "popen": "subprocess", "Popen": "subprocess", "_exit": "exit",
}
_SHALLOW_NAMES = {"__builtins__": "builtins-patch", "builtins": "builtins-patch", "get_ipython": "ipython-hooks",
                  "setattr": "monkeypatch", "delattr": "monkeypatch",
                  **{k: v for k, v in _CALL_RULES.items() if "." not in k and "(" not in k}}


def _shallow(node: ast.AST, scanner: _Scanner, offset: int) -> None:
    """The names, attributes, imports and paths of a statement too deep for the full scan (no recursion)."""
    seen: set[tuple[int, str, str]] = set()
    for inner in ast.walk(node):
        line = getattr(inner, "lineno", getattr(node, "lineno", 1)) + offset
        finding = None
        if isinstance(inner, (ast.Import, ast.ImportFrom)):
            before = len(scanner.found)
            scanner.visit(inner)
            scanner.found[before:] = [(ln + offset, rule, detail) for ln, rule, detail in scanner.found[before:]]
        elif isinstance(inner, ast.Name) and inner.id in _SHALLOW_NAMES:
            finding = (line, _SHALLOW_NAMES[inner.id], f"uses {inner.id} (shallow scan)")
        elif isinstance(inner, ast.Attribute) and inner.attr in _SHALLOW_ATTRS:
            finding = (line, _SHALLOW_ATTRS[inner.attr], f"….{inner.attr} (shallow scan)")
        elif isinstance(inner, ast.Constant) and isinstance(inner.value, str) and _suspicious_path(inner.value):
            finding = (line, "file-access", f"mentions the path {inner.value!r}")
        if finding and finding not in seen:
            seen.add(finding)
            scanner.found.append(finding)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUOTED = re.compile(r"""(?:'([^'\\]{1,300})'|"([^"\\]{1,300})")""")


def _token_scan(text: str, offset: int) -> list[tuple[int, str, str]]:
    """Words and quoted paths, line by line, of code too deep to parse: what it could reach, roughly."""
    found = []
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) > 100_000:
            line = line[:100_000]
        words = dict.fromkeys(_WORD.findall(line))
        importing = "import" in words
        for word in words:
            rule = _SHALLOW_NAMES.get(word) or _SHALLOW_ATTRS.get(word) or (_IMPORT_RULES.get(word) if importing else None)
            if rule:
                found.append((number + offset, rule, f"uses {word} (token scan)"))
        for match in _QUOTED.finditer(line):
            path = match.group(1) or match.group(2)
            if _suspicious_path(path):
                found.append((number + offset, "file-access", f"mentions the path {path!r}"))
    return found


def _text_paths(body: str, line: int) -> list[tuple[int, str, str]]:
    """The paths a shell (or other language) body mentions that point out of the notebook's folder."""
    found = []
    for number, text in enumerate(body.split("\n"), start=1):
        for word in text.replace("'", " ").replace('"', " ").split():
            if _suspicious_path(word):
                found.append((line + number, "file-access", f"mentions the path {word!r}"))
                break
    return found


def _scan_python(source: str, aliases: dict, offset: int, found: list, *, must_parse: bool, level: int) -> None:
    """Scan one piece of IPython code whose line 1 is line ``offset + 1`` of the cell; findings go to ``found``."""
    if len(source) > MAX_CELL_CHARS:
        found.append((offset + 1, "unscanned", f"could not be scanned: too large ({len(source)} characters, "
                                               f"over {MAX_CELL_CHARS})"))
        found.extend(_token_scan(source[:20 * MAX_CELL_CHARS], offset))
        return
    text, shift, transformed = _python(source)
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        if must_parse or isinstance(exc, (RecursionError, MemoryError)):
            line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
            found.append((offset + shift + (line or 1) if transformed else offset + (line or 1), "unscanned",
                          f"could not be scanned: {_reason(exc)}"))
        if isinstance(exc, (RecursionError, MemoryError)):  # Python may still run it: look at its words
            found.extend(_token_scan(text, offset + (shift if transformed else 0)))
        return
    offset += shift
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            child.parent = parent  # type: ignore[attr-defined]
    scanner = _Scanner(aliases)
    for statement in tree.body:
        before = len(scanner.found)
        try:
            scanner.visit(statement)
        except RecursionError:
            del scanner.found[before:]
            scanner.depth, scanner.scopes = 0, []
            line = getattr(statement, "lineno", 1) + offset
            found.append((line, "unscanned", "could not be scanned in full: nested too deeply (RecursionError); "
                                             "a shallow scan was made"))
            _shallow(statement, scanner, offset)
            found.extend(scanner.found[before:])
            del scanner.found[before:]
            continue
        found.extend((line + offset, rule, detail) for line, rule, detail in scanner.found[before:])
        del scanner.found[before:]
    for line, name, kind, code in scanner.embedded:
        _scan_embedded(line + offset, name, kind, code, aliases, found, level)


def _scan_embedded(line: int, name: str, kind: str, code: str, aliases: dict, found: list, level: int) -> None:
    """The Python a magic runs from a string (``%%capture`` body, ``%time`` argument), scanned in its turn."""
    if level >= _MAX_EMBEDDED:
        found.append((line, "unscanned", "could not be scanned: magics nested too deeply"))
        return
    shown = _safe_word(name)
    if kind == "options":
        code_text = _options_then_code(code)
        if code_text is None:
            if code.strip():
                found.append((line, "unscanned", f"could not be scanned: the argument of %{shown} is not Python"))
            return
        _scan_python(code_text, aliases, line - 1, found, must_parse=True, level=level + 1)
    elif kind == "kernel":
        _scan_python(code, aliases, line, found, must_parse=True, level=level + 1)
    elif kind in ("other", "file"):  # another process or a file: its imports do not reach the notebook
        _scan_python(code, _Aliases(), line, found, must_parse=kind == "other", level=level + 1)
    elif kind == "text":
        found.extend(_text_paths(code, line))
    elif kind == "unknown":
        before = len(found)
        _scan_python(code, aliases, line, found, must_parse=True, level=level + 1)
        if any(rule == "unscanned" for _, rule, _ in found[before:]):
            found[before:] = [f for f in found[before:] if f[1] != "unscanned"]
            found.append((line, "unscanned", f"could not be scanned: the body of %%{shown}, a magic the scan "
                                             "does not know, is not Python"))


def scan_source(source: str, aliases: dict[str, str] | None = None) -> list[tuple[int, str, str]]:
    """``(line, rule, detail)`` for one cell's code (IPython syntax allowed); ``aliases`` carries imports.

    Never raises: what cannot be scanned is an ``unscanned`` finding.
    """
    aliases = _Aliases() if aliases is None else aliases
    found: list[tuple[int, str, str]] = []
    try:
        _scan_python(source, aliases, 0, found, must_parse=True, level=0)
    except Exception as exc:  # noqa: BLE001 - RecursionError, MemoryError, _TooLarge, a bug: a flag, never a crash
        found.append((1, "unscanned", f"could not be scanned: {_reason(exc)}"))
    return found


def strip_hidden(source: str) -> str:
    """A test cell as the release shows it: the ``### BEGIN/END HIDDEN TESTS`` block removed."""
    begin, end = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
    lines, out, hidden = source.split("\n"), [], False
    for line in lines:
        if line.strip() == begin:
            hidden = True
        elif line.strip() == end:
            hidden = False
        elif not hidden:
            out.append(line)
    return "\n".join(out)


def trusted_sources(path: str | Path) -> set[str]:
    """Cell texts nbgrader restores at grading (set-up, locked and test cells) of the notebook's assignment.

    Looks for ``source/<assignment>/<notebook>.ipynb`` in the folders above ``path`` (a course) and in
    this repository; the assignment is the notebook's folder name, or its name. Empty when none is found.
    """
    path = Path(path).resolve()
    root_here = Path(__file__).resolve().parents[2]
    for assignment in dict.fromkeys((path.parent.name, path.stem)):
        for folder in [*path.parents, root_here]:
            candidate = folder / "source" / assignment / f"{path.stem}.ipynb"
            if candidate.is_file() and candidate.resolve() != path:
                try:
                    cells = json.loads(candidate.read_text(encoding="utf-8")).get("cells", [])
                except (OSError, ValueError):
                    return set()
                out = set()
                for cell in cells:
                    meta = cell.get("metadata", {}).get("nbgrader", {})
                    if cell.get("cell_type") != "code" or meta.get("solution"):
                        continue
                    text = "".join(cell.get("source", "")) if isinstance(cell.get("source"), list) else cell.get("source", "")
                    out |= {text, strip_hidden(text)}
                return out
    return set()


def _cell_text(source) -> str:
    """A cell's source as one string, whatever the JSON holds."""
    if isinstance(source, str):
        return source
    if isinstance(source, list):
        return "".join(part if isinstance(part, str) else str(part) for part in source)
    return "" if source is None else str(source)


def scan_notebook(path: str | Path, trusted: Iterable[str] | None = None) -> list[str]:
    """The flags of one notebook, as ``"rule: cell N line L: what"`` strings, in notebook order.

    ``N`` is the cell's position (1-based, among all cells), never its id or grade id.

    ``trusted`` are cell texts not to scan (default :func:`trusted_sources`); pass ``()`` to scan every cell.
    A notebook that cannot be read gives one ``unreadable`` flag.
    """
    path = Path(path)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError, MemoryError) as exc:
        return [f"unreadable: {_safe_word(path.stem)}.ipynb: {type(exc).__name__}"]
    if not isinstance(cells, list):
        return [f"unreadable: {_safe_word(path.stem)}.ipynb: no list of cells"]
    try:
        trusted_set = trusted_sources(path) if trusted is None else set(trusted)
    except Exception:  # noqa: BLE001 - without the course's source every cell is scanned
        trusted_set = set()
    aliases = _Aliases()
    findings: list[Finding] = []
    budget = MAX_NOTEBOOK_CHARS
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = _cell_text(cell.get("source", ""))
        budget -= len(source)
        if budget < 0 and source not in trusted_set:
            found = [(1, "unscanned", f"could not be scanned in full: the notebook's code is over "
                                      f"{MAX_NOTEBOOK_CHARS} characters (a token scan was made)"),
                     *_token_scan(source[:MAX_CELL_CHARS], 0)]
        else:
            found = scan_source(source, aliases)  # trusted cells still teach the aliases (the set-up's imports)
        if source in trusted_set:
            continue
        for line, rule, detail in found:
            findings.append(Finding(number, line, rule, detail))
    best: dict[tuple[int, int, str], Finding] = {}  # one flag per rule and line: the most telling one
    for finding in findings:
        key = (finding.cell, finding.line, finding.rule)
        if key not in best or len(finding.detail) > len(best[key].detail):
            best[key] = finding
    return [str(best[key]) for key in sorted(best)]


def main(argv: list[str] | None = None) -> int:
    """``python -m course scan PATH...``: the flags of each notebook (folders are searched); exit 1 if any."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m course scan", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="notebooks, or folders to search for them")
    parser.add_argument("--all-cells", action="store_true",
                        help="scan the set-up and test cells too (by default those nbgrader restores are skipped)")
    args = parser.parse_args(argv)
    notebooks: list[Path] = []
    for name in args.paths:
        path = Path(name)
        if path.is_dir():
            notebooks += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        else:
            notebooks.append(path)
    flagged = 0
    for path in notebooks:
        flags = scan_notebook(path, trusted=() if args.all_cells else None)
        if flags:
            flagged += 1
            print(f"{path}: {len(flags)} flag{'s' if len(flags) != 1 else ''}")
            for flag in flags:
                print(f"  {flag}")
        else:
            print(f"{path}: clean")
    print(f"\n{flagged} of {len(notebooks)} notebook{'s' if len(notebooks) != 1 else ''} flagged for review.")
    return 1 if flagged else 0
