"""A static scan of a submission for code that reaches into the grading machinery, for a person to review.

    python -m course scan submitted/*/session1_chat/*.ipynb

:func:`scan_notebook` reads every code cell the student can change (cells nbgrader restores from the
gradebook at grading, the locked set-up and the test cells, are skipped when the course's source
notebook is found), turns IPython syntax (``%magic``, ``!cmd``) into Python and walks its syntax tree.
Each finding names its rule, the cell and the line::

    builtins-patch: cell 14 (traffic) line 2: builtins.abs = ...

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
``signal``, ``exit`` (sys.exit, os._exit, quit) and ``network``.

A finding is a reason to look, not a verdict: the scan over-reports on purpose (few honest answers in
this course need any of it), and obfuscated code can slip past it; the in-kernel guard
(``course.grading.guard``) and the sandbox are the other layers.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Finding", "RULES", "scan_notebook", "scan_source", "strip_hidden", "trusted_sources"]

RULES = (
    "ipython-hooks", "custom-exc", "builtins-patch", "sys-modules", "course-internals", "monkeypatch",
    "rigged-object", "hard-coded", "introspection", "dynamic-code", "settrace", "threads", "file-access",
    "subprocess", "signal", "exit", "network",
)

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
                "config": "ipython-hooks"}
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
    """One flag: the cell (1-based, among all cells), the line in that cell, the rule and what was seen."""

    cell: int
    line: int
    rule: str
    detail: str
    label: str = ""

    def __str__(self) -> str:
        where = f"cell {self.cell}" + (f" ({self.label})" if self.label else "")
        return f"{self.rule}: {where} line {self.line}: {self.detail}"


def _python(source: str) -> str:
    """A cell as Python: IPython's own transformer turns ``%magic`` and ``!cmd`` into calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython is a dependency of nbgrader
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - untransformable text is scanned as it is
        return source


class _Scanner(ast.NodeVisitor):
    """Walks one cell; ``aliases`` (name → dotted origin) carries imports from cell to cell."""

    def __init__(self, aliases: dict[str, str]) -> None:
        self.aliases = aliases
        self.found: list[tuple[int, str, str]] = []
        self.depth = 0  # > 0 inside a function or class body
        self.scopes: list[set[str]] = []  # local names of the enclosing functions (they hide the imports)

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
        return root in {self._root(v) for v in self.aliases.values()} or root in ("builtins", "sys", "course",
                                                                                   "get_ipython()")

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
            rule = _MAGIC_RULES.get(str(magic).split()[0] if magic else "", None)
            shown = f"%{magic} magic"
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


def scan_source(source: str, aliases: dict[str, str] | None = None) -> list[tuple[int, str, str]]:
    """``(line, rule, detail)`` for one cell's code (IPython syntax allowed); ``aliases`` carries imports."""
    aliases = {} if aliases is None else aliases
    text = _python(source)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []  # a cell that does not parse does not run either
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            child.parent = parent  # type: ignore[attr-defined]
    scanner = _Scanner(aliases)
    scanner.visit(tree)
    return scanner.found


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


def scan_notebook(path: str | Path, trusted: Iterable[str] | None = None) -> list[str]:
    """The flags of one notebook, as ``"rule: cell N (grade id) line L: what"`` strings, in notebook order.

    ``trusted`` are cell texts not to scan (default :func:`trusted_sources`); pass ``()`` to scan every cell.
    A notebook that cannot be read gives one ``unreadable`` flag.
    """
    path = Path(path)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"unreadable: {path.name}: {type(exc).__name__}"]
    trusted_set = trusted_sources(path) if trusted is None else set(trusted)
    aliases: dict[str, str] = {}
    findings: list[Finding] = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        found = scan_source(source, aliases)  # trusted cells still teach the aliases (the set-up's imports)
        if source in trusted_set:
            continue
        label = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or ""
        for line, rule, detail in found:
            findings.append(Finding(number, line, rule, detail, label))
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
