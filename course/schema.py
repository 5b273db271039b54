"""DDL checks in SQLite: read a student's MySQL-flavoured schema, build it for real, and explain queries on it.

The pipeline: DDL text --sqlglot (``read="mysql"``)--> :class:`Schema` (a small typed model) --this
module--> SQLite DDL --> an in-memory ``sqlite3`` database, so "the schema runs" and "the query uses an
index" are facts read off SQLite's own ``EXPLAIN QUERY PLAN``, not guesses.

Understood: ``CREATE TABLE`` (column types, ``NOT NULL``/``NULL``, ``DEFAULT``, ``AUTO_INCREMENT``,
inline or table ``PRIMARY KEY``, ``UNIQUE``, ``REFERENCES``/``FOREIGN KEY``, inline ``INDEX``/``KEY``/
``UNIQUE KEY``, a trailing SQLite ``WITHOUT ROWID``) and ``CREATE [UNIQUE] INDEX``. Comments, ``CHECK``,
generated columns, charsets and table options (``ENGINE=...``) are accepted and ignored. Any other
statement (``SELECT``, ``DROP``, ``ALTER``, ``CREATE VIEW``...) is refused with its line number.

Type families (``Column.family``): integer (``INT``, ``BIGINT``, ``SERIAL``...), float (``FLOAT``, ``DOUBLE``,
``REAL``), decimal (``DECIMAL``/``NUMERIC``), text (``CHAR``, ``VARCHAR``, ``TEXT``, ``UUID``...), timestamp
(``DATETIME``, ``TIMESTAMP``, ``DATE``, ``TIME``, ``YEAR``), boolean (``BOOLEAN``, ``TINYINT(1)``, ``BIT(1)``),
blob (``BLOB``, ``BINARY``, ``VARBINARY``), enum, json, and other (``SET``, spatial types...).

In SQLite: every index (inline ones included, and ``UNIQUE`` constraints, which MySQL stores as unique
indexes) becomes its own ``CREATE INDEX``; an index name already taken in the database (SQLite names are
global, MySQL's are per table) is prefixed with its table's name. ``ENUM`` becomes ``TEXT`` with a
``CHECK``; a single integer primary key with ``AUTO_INCREMENT`` becomes ``INTEGER PRIMARY KEY
AUTOINCREMENT`` (elsewhere SQLite has no equivalent, so it is dropped); a default SQLite cannot evaluate
(``(UUID())``) is left out. Foreign keys are declared but, as SQLite's default, not enforced.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.tokens import Token, TokenType

from .checks import CheckFailed, fail
from .errors import CourseInputError

__all__ = [
    "FAMILIES", "Column", "Index", "ForeignKey", "Table", "Schema",
    "parse_schema", "sqlite_ddl", "load_sqlite", "query_plan", "uses_index", "needs_sort",
    "check_schema", "assert_schema",
]

#: The normalized type families a column can have.
FAMILIES = ("integer", "float", "decimal", "text", "timestamp", "boolean", "blob", "enum", "json", "other")

_FAMILY_OF_TYPE = {
    name: family
    for family, names in {
        "integer": "TINYINT SMALLINT MEDIUMINT INT BIGINT UTINYINT USMALLINT UMEDIUMINT UINT UBIGINT SERIAL BIT",
        "float": "FLOAT DOUBLE UFLOAT UDOUBLE",
        "decimal": "DECIMAL UDECIMAL BIGDECIMAL MONEY SMALLMONEY",
        "text": "CHAR NCHAR VARCHAR NVARCHAR TEXT TINYTEXT MEDIUMTEXT LONGTEXT UUID NAME",
        "timestamp": "DATETIME DATETIME2 DATETIME64 SMALLDATETIME TIMESTAMP TIMESTAMPTZ TIMESTAMPLTZ "
                     "TIMESTAMP_S TIMESTAMP_MS TIMESTAMP_NS DATE DATE32 TIME TIMETZ YEAR",
        "boolean": "BOOLEAN",
        "blob": "BLOB TINYBLOB MEDIUMBLOB LONGBLOB BINARY VARBINARY IMAGE",
        "enum": "ENUM ENUM8 ENUM16",
        "json": "JSON JSONB",
    }.items()
    for name in names.split()
}

_SQLITE_TYPE = {
    "integer": "INTEGER", "float": "REAL", "decimal": "NUMERIC", "text": "TEXT", "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN", "blob": "BLOB", "enum": "TEXT", "json": "TEXT", "other": "",
}

# Defaults SQLite evaluates the same way MySQL does (as rendered by sqlglot's MySQL generator).
_PORTABLE_DEFAULT = re.compile(r"^(?:NULL|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|'(?:[^']|'')*')$", re.IGNORECASE)
_CLOCK_DEFAULT = re.compile(r"^(?:CURRENT_TIMESTAMP|NOW|LOCALTIMESTAMP|LOCALTIME)(?:\(\d*\))?$", re.IGNORECASE)


@dataclass(frozen=True)
class Column:
    """One column: its type as written, its type family, nullability and default (as SQL text)."""

    name: str
    type: str
    family: str
    nullable: bool = True
    default: str | None = None
    auto_increment: bool = False
    enum_values: tuple[str, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class Index:
    """A secondary index (a ``UNIQUE`` constraint is a unique index). Unnamed ones get MySQL's default name."""

    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool = False
    line: int | None = None


@dataclass(frozen=True)
class ForeignKey:
    """``columns`` reference ``ref_columns`` of ``ref_table`` (declared only: SQLite does not enforce it)."""

    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    line: int | None = None


@dataclass(frozen=True)
class Table:
    """A table: columns in order, primary-key columns in key order, indexes and foreign keys."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    indexes: tuple[Index, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    without_rowid: bool = False
    line: int | None = None

    def column(self, name: str) -> Column | None:
        """The column called ``name`` (case-insensitive), or None."""
        return next((c for c in self.columns if c.name.lower() == name.lower()), None)

    @property
    def unique_keys(self) -> tuple[tuple[str, ...], ...]:
        """Column lists that must be unique, besides the primary key."""
        return tuple(index.columns for index in self.indexes if index.unique)


@dataclass(frozen=True)
class Schema:
    """The tables of a DDL text, in the order they were created; ``source`` is the text itself."""

    tables: tuple[Table, ...]
    source: str = field(default="", repr=False)

    def table(self, name: str) -> Table | None:
        """The table called ``name`` (case-insensitive), or None."""
        return next((t for t in self.tables if t.name.lower() == name.lower()), None)


# --- reading the DDL ---------------------------------------------------------------------------------

# Makes the error for a problem in a statement, at the line of the node given (else the statement's).
_Fail = Callable[[str, exp.Expression | None], CourseInputError]


@contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    """Silence sqlglot's logger (its fallback warnings would reach stderr, which nbgrader scores as a failure)."""
    logger = logging.getLogger("sqlglot")
    was_disabled = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was_disabled


def parse_schema(ddl: str) -> Schema:
    """Read ``CREATE TABLE`` / ``CREATE INDEX`` statements (MySQL flavour) into a :class:`Schema`.

    Bad SQL, another kind of statement, an empty text, or a key naming a missing column raises
    :class:`CourseInputError` with the 1-based line of the problem.
    """
    __tracebackhide__ = True
    if not isinstance(ddl, str):
        raise CourseInputError(f"expected the schema as a string of SQL, got a {type(ddl).__name__}")
    lines = ddl.splitlines()
    tables: list[Table] = []
    separate_indexes: list[Index] = []
    for tokens in _statements(ddl):
        statement, without_rowid = _parse_statement(ddl, tokens, lines)
        line = tokens[0].line
        if statement.kind == "TABLE":
            table = _read_table(statement, line, without_rowid, lines)
            if any(t.name.lower() == table.name.lower() for t in tables):
                raise CourseInputError(f"table {table.name} is created twice", line=line, text=_line(lines, line))
            tables.append(table)
        else:
            separate_indexes.append(_read_create_index(statement, line, lines))
    if not tables:
        raise CourseInputError("the schema has no CREATE TABLE statement: write at least one table")
    for index in separate_indexes:
        tables = _attach_index(tables, index, lines)
    return Schema(tuple(tables), ddl)


def _statements(ddl: str) -> list[list[Token]]:
    """The tokens of each statement (split at semicolons), with line numbers of the whole text."""
    __tracebackhide__ = True
    try:
        with _quiet_sqlglot():
            tokens = sqlglot.tokenize(ddl, read="mysql")
    except TokenError:
        where = _unterminated(ddl)
        if where is None:
            raise CourseInputError("cannot read the SQL: it has a character or quote SQL does not allow") from None
        line, problem = where
        raise CourseInputError(problem, line=line, text=_line(ddl.splitlines(), line)) from None
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(token)
    found = [s for s in statements if s]
    if not found:
        raise CourseInputError("the schema is empty: write at least one CREATE TABLE statement")
    return found


def _unterminated(text: str) -> tuple[int, str] | None:
    """Where a quote or ``/*`` comment opens and never closes: (line, problem), or None."""
    i, line, n = 0, 1, len(text)
    while i < n:
        char = text[i]
        if char == "\n":
            line += 1
        elif char == "#" or text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                return line, "a /* comment is never closed with */"
            line += text.count("\n", i, end)
            i = end + 2
            continue
        elif char in "'\"`":
            end = i + 1
            while end < n and text[end] != char:
                end += 2 if text[end] == "\\" and char != "`" else 1
            if end >= n:
                what = "quoted name" if char == "`" else "string"
                return line, f"unterminated {what}: the {char} opened on this line is never closed"
            line += text.count("\n", i, end)
            i = end + 1
            continue
        i += 1
    return None


def _parse_statement(ddl: str, tokens: list[Token], lines: list[str]) -> tuple[exp.Create, bool]:
    """Parse one statement with sqlglot; (the CREATE expression, whether it ends in WITHOUT ROWID)."""
    __tracebackhide__ = True
    first = tokens[0]
    _check_punctuation(tokens, lines)
    without_rowid = len(tokens) > 2 and [t.text.upper() for t in tokens[-2:]] == ["WITHOUT", "ROWID"]
    last = tokens[-3] if without_rowid else tokens[-1]
    # Blank out the text before the statement so that sqlglot's line and column numbers are the student's.
    padded = re.sub(r"[^\n]", " ", ddl[: first.start]) + ddl[first.start : last.end + 1]
    try:
        with _quiet_sqlglot():
            statement = sqlglot.parse_one(padded, read="mysql")
    except ParseError as error:
        raise _syntax_error(error, tokens, lines) from None
    except SqlglotError as error:
        raise CourseInputError(f"cannot read this statement: {error}", line=first.line,
                               text=_line(lines, first.line)) from None
    where = dict(line=first.line, text=_line(lines, first.line))
    if isinstance(statement, exp.Command):  # sqlglot's fallback for syntax it does not know
        raise CourseInputError("cannot read this statement as CREATE TABLE or CREATE INDEX "
                               "(a misspelt keyword, or syntax MySQL does not have?)", **where)
    if not isinstance(statement, exp.Create) or statement.kind not in ("TABLE", "INDEX"):
        words = 2 if first.token_type in (TokenType.CREATE, TokenType.DROP, TokenType.ALTER) else 1
        what = " ".join(t.text.upper() for t in tokens[:words])
        raise CourseInputError(f"a schema holds only CREATE TABLE and CREATE INDEX statements, not {what}", **where)
    return statement, without_rowid


def _check_punctuation(tokens: list[Token], lines: list[str]) -> None:
    """Catch what sqlglot forgives but MySQL refuses: a stray comma, a missing ';' between statements."""
    __tracebackhide__ = True
    for before, after in zip(tokens, tokens[1:]):
        if before.token_type == TokenType.COMMA and after.token_type in (TokenType.COMMA, TokenType.R_PAREN):
            raise CourseInputError(f"stray comma before `{after.text}`", line=before.line,
                                   text=_line(lines, before.line))
        if after.token_type == TokenType.CREATE:
            raise CourseInputError("a ';' is missing before this statement", line=after.line,
                                   text=_line(lines, after.line))


def _syntax_error(error: ParseError, tokens: list[Token], lines: list[str]) -> CourseInputError:
    """Our one-sentence message for a sqlglot ParseError, at the line sqlglot points to."""
    detail = error.errors[0] if error.errors else {}
    line = detail.get("line") or tokens[0].line
    near = (detail.get("highlight") or "").strip()
    description = str(detail.get("description") or "").split(" but got ")[0]
    description = "something is missing before it" if description.startswith("Required keyword") else description
    description = description[:1].lower() + description[1:]
    at = next((i for i, t in enumerate(tokens) if (t.line, t.col) == (line, detail.get("col"))), None)
    if at == len(tokens) - 1 and tokens[at].token_type != TokenType.R_PAREN:
        return CourseInputError(f"the statement ends before it is complete: {description or 'something is missing'}",
                                line=line, text=_line(lines, line))
    if (at is not None and at >= 2 and tokens[at].token_type == TokenType.VAR
            and tokens[at - 2].token_type in (TokenType.L_PAREN, TokenType.COMMA)):
        # `(name FOO` or `, name FOO`: FOO stands where a column type belongs.
        return CourseInputError(f"unknown column type `{near}` (MySQL types: BIGINT, INT, VARCHAR(n), TEXT, "
                                "TIMESTAMP, DATETIME, BOOLEAN, DECIMAL(p,s), ENUM(...), JSON, BLOB)",
                                line=line, text=_line(lines, line))
    message = f"SQL syntax error near `{near}`" if near else "SQL syntax error"
    if description:
        message += f": {description}"
    return CourseInputError(message, line=line, text=_line(lines, line))


def _line(lines: list[str], line: int | None) -> str | None:
    return lines[line - 1] if line is not None and 0 < line <= len(lines) else None


def _line_of(node: exp.Expression, default: int) -> int:
    """The line of the first identifier in ``node`` (sqlglot keeps token positions on identifiers)."""
    for child in node.walk():
        if isinstance(child, exp.Identifier) and "line" in child.meta:
            return int(child.meta["line"])
    return default


def _read_table(statement: exp.Create, line: int, without_rowid: bool, lines: list[str]) -> Table:
    """Build a :class:`Table` from a sqlglot ``CREATE TABLE`` expression."""
    __tracebackhide__ = True
    body = statement.this
    name = body.name if isinstance(body, exp.Table) else body.this.name if isinstance(body, exp.Schema) else "?"
    if not isinstance(body, exp.Schema) or statement.expression is not None:
        raise CourseInputError(f"CREATE TABLE {name} must list its columns, like CREATE TABLE {name} (id BIGINT, ...)",
                               line=line, text=_line(lines, line))

    def fail(message: str, node: exp.Expression | None = None) -> CourseInputError:
        at = line if node is None else _line_of(node, line)
        return CourseInputError(f"table {name}: {message}", line=at, text=_line(lines, at))

    columns: list[Column] = []
    primary_key: list[tuple[tuple[str, ...], exp.Expression]] = []
    indexes: list[tuple[str | None, tuple[str, ...], bool, exp.Expression]] = []
    foreign_keys: list[tuple[ForeignKey, exp.Expression]] = []
    for element in body.expressions:
        named = element.this.name if isinstance(element, exp.Constraint) else None
        inner = element.expressions[0] if isinstance(element, exp.Constraint) and element.expressions else element
        if isinstance(element, exp.ColumnDef):
            column, constraints = _read_column(element, line, fail)
            if any(c.name.lower() == column.name.lower() for c in columns):
                raise fail(f"column {column.name} is declared twice", element)
            columns.append(column)
            for kind in constraints:
                if isinstance(kind, exp.PrimaryKeyColumnConstraint):
                    primary_key.append(((column.name,), element))
                elif isinstance(kind, exp.UniqueColumnConstraint):
                    indexes.append((None, (column.name,), True, element))
                elif isinstance(kind, exp.Reference):
                    foreign_keys.append((_reference((column.name,), kind, _line_of(element, line)), element))
        elif isinstance(inner, exp.PrimaryKey):
            primary_key.append((_key_columns(inner.expressions, fail, inner), inner))
        elif isinstance(inner, exp.UniqueColumnConstraint):
            target = inner.this
            index_name = target.this.name if isinstance(target, exp.Schema) and target.this else named
            parts = target.expressions if isinstance(target, exp.Schema) else []
            indexes.append((index_name, _key_columns(parts, fail, inner), True, inner))
        elif isinstance(inner, exp.IndexColumnConstraint):
            index_name = inner.this.name if inner.this else None
            indexes.append((index_name, _key_columns(inner.expressions, fail, inner), False, inner))
        elif isinstance(inner, exp.ForeignKey):
            keys = _key_columns(inner.expressions, fail, inner)
            foreign_keys.append((_reference(keys, inner.args["reference"], _line_of(inner, line)), inner))
        elif isinstance(element, exp.Identifier):
            raise fail(f"column {element.name} has no type (write, for example, {element.name} BIGINT NOT NULL)",
                       element)
        # CHECK constraints and anything else sqlglot accepts are ignored.

    known = {c.name.lower(): c.name for c in columns}

    def resolve(names: tuple[str, ...], what: str, node: exp.Expression) -> tuple[str, ...]:
        for n in names:
            if n.lower() not in known:
                raise fail(f"{what} names column {n}, which the table does not have "
                           f"(columns: {', '.join(c.name for c in columns)})", node)
        return tuple(known[n.lower()] for n in names)

    if len(primary_key) > 1:
        raise fail("the primary key is declared twice: declare one, listing all its columns, "
                   "like PRIMARY KEY (a, b)", primary_key[1][1])
    key: tuple[str, ...] = ()
    if primary_key:
        key = resolve(primary_key[0][0], "PRIMARY KEY", primary_key[0][1])
        columns = [replace(c, nullable=False) if c.name in key else c for c in columns]
    built: list[Index] = []
    for index_name, index_columns, unique, node in indexes:
        resolved = resolve(index_columns, f"index {index_name}" if index_name else "an index", node)
        index = Index(index_name or "", name, resolved, unique, _line_of(node, line))
        built = _add_index(built, index, lines)
    references = tuple(replace(fk, columns=resolve(fk.columns, "FOREIGN KEY", node)) for fk, node in foreign_keys)
    return Table(name, tuple(columns), key, tuple(built), references, without_rowid, line)


def _read_column(node: exp.ColumnDef, line: int, fail: _Fail) -> tuple[Column, list[exp.Expression]]:
    """A :class:`Column` and the constraint nodes the table must act on (key, unique, reference)."""
    __tracebackhide__ = True
    kind = node.args.get("kind")
    if not isinstance(kind, exp.DataType):
        raise fail(f"column {node.name} has no type (write, for example, {node.name} BIGINT NOT NULL)", node)
    constraints = [c.args.get("kind") for c in node.args.get("constraints") or []]
    nullable, default, auto_increment = True, None, False
    for constraint in constraints:
        if isinstance(constraint, exp.NotNullColumnConstraint):
            nullable = bool(constraint.args.get("allow_null"))
        elif isinstance(constraint, exp.DefaultColumnConstraint):
            default = re.sub(r"^(CURRENT_\w+)\(\)$", r"\1", constraint.this.sql("mysql"))
        elif isinstance(constraint, exp.AutoIncrementColumnConstraint):
            auto_increment = True
    family = _family(kind)
    values = tuple(e.name for e in kind.expressions) if family == "enum" else ()
    column = Column(node.name, kind.sql("mysql"), family, nullable, default, auto_increment, values,
                    _line_of(node, line))
    return column, constraints


def _family(kind: exp.DataType) -> str:
    """The normalized type family of a sqlglot data type (``TINYINT(1)`` and ``BIT(1)`` are booleans)."""
    name = kind.this.name
    sizes = [p.name for p in kind.expressions if isinstance(p, exp.DataTypeParam)]
    if (name == "TINYINT" and sizes == ["1"]) or (name == "BIT" and sizes in ([], ["1"])):
        return "boolean"
    return _FAMILY_OF_TYPE.get(name, "other")


def _key_columns(parts: Sequence[exp.Expression], fail: _Fail, node: exp.Expression) -> tuple[str, ...]:
    """Column names of a key: plain columns, ``col DESC`` and MySQL prefixes ``col(10)``; no expressions."""
    __tracebackhide__ = True
    names = []
    for part in parts:
        part = part.this if isinstance(part, exp.Ordered) else part
        if isinstance(part, (exp.Column, exp.Identifier, exp.ColumnPrefix)):
            names.append(part.name)
        elif isinstance(part, exp.Anonymous) and all(isinstance(a, exp.Literal) for a in part.expressions):
            names.append(part.name)  # sqlglot reads the prefix `col(10)` of CREATE INDEX as a call
        else:
            raise fail(f"an index on an expression ({part.sql('mysql')}) is not supported: "
                       "list plain columns, like (chat_id, seq)", node)
    return tuple(names)


def _reference(columns: tuple[str, ...], reference: exp.Reference, line: int) -> ForeignKey:
    target = reference.this
    table = target.this.name if isinstance(target, exp.Schema) else target.name
    ref_columns = tuple(e.name for e in target.expressions) if isinstance(target, exp.Schema) else ()
    return ForeignKey(columns, table, ref_columns, line)


def _add_index(indexes: list[Index], index: Index, lines: list[str]) -> list[Index]:
    """Append ``index`` to a table's indexes, naming an unnamed one as MySQL does (first column, _2, _3...)."""
    __tracebackhide__ = True
    taken = {i.name.lower(): i for i in indexes}
    if not index.name:
        base, n = index.columns[0], 2
        name = base
        while name.lower() in taken:
            name, n = f"{base}_{n}", n + 1
        index = replace(index, name=name)
    elif index.name.lower() in taken:
        first = taken[index.name.lower()]
        raise CourseInputError(f"table {index.table} already has an index named {index.name} (line {first.line})",
                               line=index.line, text=_line(lines, index.line))
    return [*indexes, index]


def _read_create_index(statement: exp.Create, line: int, lines: list[str]) -> Index:
    __tracebackhide__ = True
    node = statement.this
    table = node.args["table"].name

    def fail(message: str, _node: exp.Expression | None = None) -> CourseInputError:
        return CourseInputError(message, line=line, text=_line(lines, line))

    if not node.name:
        raise fail("CREATE INDEX needs a name, like CREATE INDEX idx_chat_seq ON messages (chat_id, seq)")
    params = node.args.get("params")
    parts = (params.args.get("columns") or []) if params else []
    if not parts:
        raise fail(f"CREATE INDEX {node.name} lists no columns: write ON {table} (column, ...)")
    return Index(node.name, table, _key_columns(parts, fail, node), bool(statement.args.get("unique")), line)


def _attach_index(tables: list[Table], index: Index, lines: list[str]) -> list[Table]:
    """Add a ``CREATE INDEX`` to its table, checking the table and columns exist."""
    __tracebackhide__ = True
    where = dict(line=index.line, text=_line(lines, index.line))
    position = next((i for i, t in enumerate(tables) if t.name.lower() == index.table.lower()), None)
    if position is None:
        raise CourseInputError(f"CREATE INDEX {index.name} is on table {index.table}, which is not created "
                               f"(tables: {', '.join(t.name for t in tables)})", **where)
    table = tables[position]
    resolved = []
    for name in index.columns:
        column = table.column(name)
        if column is None:
            raise CourseInputError(f"index {index.name} names column {name}, which table {table.name} does not have "
                                   f"(columns: {', '.join(c.name for c in table.columns)})", **where)
        resolved.append(column.name)
    index = replace(index, table=table.name, columns=tuple(resolved))
    updated = replace(table, indexes=tuple(_add_index(list(table.indexes), index, lines)))
    return [*tables[:position], updated, *tables[position + 1 :]]


# --- building it in SQLite ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Statement:
    """One generated SQLite statement and where it came from, to point at the student's line if it fails."""

    sql: str
    line: int | None
    what: str


def _as_schema(schema_or_ddl: Schema | str) -> Schema:
    __tracebackhide__ = True
    return schema_or_ddl if isinstance(schema_or_ddl, Schema) else parse_schema(schema_or_ddl)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_default(default: str | None) -> str | None:
    """The default in SQLite, or None when SQLite cannot evaluate it (``(UUID())``)."""
    if default is None:
        return None
    if _PORTABLE_DEFAULT.match(default):
        return default
    if default.upper() in ("TRUE", "FALSE"):
        return "1" if default.upper() == "TRUE" else "0"
    if _CLOCK_DEFAULT.match(default):
        return "CURRENT_TIMESTAMP"
    if default.upper() in ("CURRENT_DATE", "CURRENT_TIME"):
        return default.upper()
    return None


def _sqlite_index_names(schema: Schema) -> dict[tuple[str, str], str]:
    """SQLite name of each (table, index): index names are global in SQLite and shared with tables."""
    taken = {t.name.lower() for t in schema.tables}
    names = {}
    for table in schema.tables:
        for index in table.indexes:
            base = index.name if index.name.lower() not in taken else f"{table.name}_{index.name}"
            name, n = base, 2
            while name.lower() in taken:
                name, n = f"{base}_{n}", n + 1
            taken.add(name.lower())
            names[(table.name, index.name)] = name
    return names


def _sqlite_table(table: Table) -> str:
    key = table.column(table.primary_key[0]) if len(table.primary_key) == 1 else None
    rowid_alias = key is not None and key.family == "integer" and key.auto_increment and not table.without_rowid
    parts = []
    for column in table.columns:
        text = f"{_quote(column.name)} {_SQLITE_TYPE[column.family]}".rstrip()
        if rowid_alias and column is key:
            text += " PRIMARY KEY AUTOINCREMENT"
        if not column.nullable:
            text += " NOT NULL"
        default = _sqlite_default(column.default)
        if default is not None:
            text += f" DEFAULT {default}"
        if column.enum_values:
            values = ", ".join("'" + v.replace("'", "''") + "'" for v in column.enum_values)
            text += f" CHECK ({_quote(column.name)} IN ({values}))"
        parts.append(text)
    if table.primary_key and not rowid_alias:
        parts.append(f"PRIMARY KEY ({', '.join(map(_quote, table.primary_key))})")
    for fk in table.foreign_keys:
        referenced = f" ({', '.join(map(_quote, fk.ref_columns))})" if fk.ref_columns else ""
        parts.append(f"FOREIGN KEY ({', '.join(map(_quote, fk.columns))}) REFERENCES {_quote(fk.ref_table)}{referenced}")
    rowid = " WITHOUT ROWID" if table.without_rowid else ""
    return f"CREATE TABLE {_quote(table.name)} (\n    " + ",\n    ".join(parts) + f"\n){rowid}"


def _sqlite_statements(schema: Schema) -> list[_Statement]:
    statements = [_Statement(_sqlite_table(t), t.line, f"table {t.name}") for t in schema.tables]
    names = _sqlite_index_names(schema)
    for table in schema.tables:
        for index in table.indexes:
            unique = "UNIQUE " if index.unique else ""
            columns = ", ".join(map(_quote, index.columns))
            sql = f"CREATE {unique}INDEX {_quote(names[(table.name, index.name)])} ON {_quote(table.name)} ({columns})"
            statements.append(_Statement(sql, index.line, f"index {index.name}"))
    return statements


def sqlite_ddl(schema_or_ddl: Schema | str) -> str:
    """The SQLite DDL that :func:`load_sqlite` runs for this schema (to show what was built)."""
    __tracebackhide__ = True
    return "".join(f"{s.sql};\n" for s in _sqlite_statements(_as_schema(schema_or_ddl)))


def _no_files(action: int, *args: object) -> int:
    """SQLite authorizer: refuse attaching (or creating) database files; everything in memory is allowed."""
    return sqlite3.SQLITE_DENY if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH) else sqlite3.SQLITE_OK


def load_sqlite(schema_or_ddl: Schema | str) -> sqlite3.Connection:
    """Build the schema in a fresh in-memory SQLite database and return the connection."""
    __tracebackhide__ = True
    schema = _as_schema(schema_or_ddl)
    connection = sqlite3.connect(":memory:")
    connection.set_authorizer(_no_files)  # the grader runs this on students' text: no ATTACH, no files
    for statement in _sqlite_statements(schema):
        try:
            connection.execute(statement.sql)
        except sqlite3.Error as error:
            connection.close()
            raise CourseInputError(f"SQLite rejected {statement.what}: {error}", line=statement.line,
                                   text=_line(schema.source.splitlines(), statement.line)) from None
    return connection


# --- query plans -------------------------------------------------------------------------------------

# One access of a table in EXPLAIN QUERY PLAN, old ("SEARCH TABLE t AS a") and new ("SEARCH a") wording.
_ACCESS = re.compile(r"^(?P<op>SEARCH|SCAN) (?:TABLE )?(?P<name>\S+)(?: AS (?P<alias>\S+))?"
                     r"(?: USING (?P<using>.+?))?(?: \((?P<terms>.*)\))?$")
# A lookup through the student's key; AUTOMATIC indexes are SQLite's own, built per query.
_KEY_LOOKUP = re.compile(r"^(?:COVERING )?INDEX (?P<index>\S+)$|^(?:INTEGER )?PRIMARY KEY$")
_SORT = re.compile(r"^USE TEMP B-TREE FOR (?:.+ )?ORDER BY$")


def _placeholders(sql: str) -> int:
    """How many ``?`` placeholders ``sql`` has (outside strings and comments)."""
    try:
        with _quiet_sqlglot():
            tokens = sqlglot.tokenize(sql, read="sqlite")
    except SqlglotError:
        return 0
    return sum(1 for t in tokens if t.token_type == TokenType.PLACEHOLDER and t.text == "?")


def _explain(connection: sqlite3.Connection, sql: str,
             params: Sequence[object] | Mapping[str, object]) -> list[str]:
    """The plan's detail lines; raises sqlite3.Error for a query SQLite cannot prepare."""
    if not params:
        params = [None] * _placeholders(sql)
    return [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", params)]


def query_plan(schema_or_ddl: Schema | str | sqlite3.Connection, sql: str,
               params: Sequence[object] | Mapping[str, object] = ()) -> list[str]:
    """The detail lines of SQLite's ``EXPLAIN QUERY PLAN`` for ``sql`` on the schema.

    ``?`` placeholders without ``params`` are bound to NULL: the plan does not depend on the values.
    """
    __tracebackhide__ = True
    if isinstance(schema_or_ddl, sqlite3.Connection):
        connection, owned = schema_or_ddl, False
    else:
        connection, owned = load_sqlite(schema_or_ddl), True
    try:
        return _explain(connection, sql, params)
    except (sqlite3.Error, sqlite3.Warning, ValueError) as error:
        raise CourseInputError(f"SQLite cannot run this query: {error}", text=sql) from None
    finally:
        if owned:
            connection.close()


def _accesses(plan_lines: Sequence[str], names: set[str]) -> list[tuple[str, str | None]]:
    """(SEARCH or SCAN, key used or None) for each plan line reading a table called or aliased ``names``."""
    found = []
    for line in plan_lines:
        match = _ACCESS.match(line.strip())
        if match and {match["name"].lower(), (match["alias"] or "").lower()} & names:
            key = _KEY_LOOKUP.match(match["using"] or "")
            found.append((match["op"], (key["index"] or "PRIMARY KEY") if key else None))
    return found


def uses_index(plan_lines: Sequence[str], table: str) -> bool:
    """True when the plan looks rows of ``table`` up through an index or the primary key, with no full scan.

    ``table`` is the name the plan shows: the table's, or its alias when the query gives it one.
    """
    accesses = _accesses(plan_lines, {table.lower()})
    return any(op == "SEARCH" and key for op, key in accesses) and not any(op == "SCAN" for op, _ in accesses)


def needs_sort(plan_lines: Sequence[str]) -> bool:
    """True when SQLite sorts the result in a temporary B-tree for ORDER BY (no index gives the order)."""
    return any(_SORT.match(line.strip()) for line in plan_lines)


# --- checks ------------------------------------------------------------------------------------------


def _choices(spec: str, what: str) -> list[str]:
    """The alternatives of ``"seq|message_id"``, in order."""
    __tracebackhide__ = True
    names = [name.strip() for name in str(spec).split("|") if name.strip()]
    if not names:
        raise CourseInputError(f"empty {what} name in the check")
    return names


def _article(phrase: str) -> str:
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


def _conjuncts(condition: exp.Expression | None) -> Iterator[exp.Expression]:
    """The terms of ``a AND (b AND c)``."""
    if isinstance(condition, exp.And):
        yield from _conjuncts(condition.this)
        yield from _conjuncts(condition.expression)
    elif isinstance(condition, exp.Paren):
        yield from _conjuncts(condition.this)
    elif condition is not None:
        yield condition


def _suggest_key(sql: str, names: set[str]) -> tuple[tuple[str, ...], bool]:
    """The key a query wants (equality columns, then its range or sort column), and whether it has both."""
    try:
        with _quiet_sqlglot():
            tree = sqlglot.parse_one(sql, read="sqlite")
    except SqlglotError:
        return (), False

    def column_of(term: exp.Expression) -> str | None:
        sides = [term.this] if isinstance(term, (exp.In, exp.Between)) else [term.this, term.expression]
        mine = [s for s in sides if isinstance(s, exp.Column) and (not s.table or s.table.lower() in names)]
        return mine[0].name if len(mine) == 1 and sum(isinstance(s, exp.Column) for s in sides) == 1 else None

    where = tree.args.get("where")
    equal, ranged = [], []
    for term in _conjuncts(where.this if where else None):
        if isinstance(term, (exp.EQ, exp.In)) and (name := column_of(term)):
            equal.append(name)
        elif isinstance(term, (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between)) and (name := column_of(term)):
            ranged.append(name)
    order = tree.args.get("order")
    for ordered in order.expressions if order else []:
        if isinstance(ordered.this, exp.Column) and (not ordered.this.table or ordered.this.table.lower() in names):
            ranged.append(ordered.this.name)
    key = list(dict.fromkeys(equal))
    then = [name for name in ranged if name not in key][:1]
    return tuple(key + then), bool(key and then)


def _aliases(sql: str, table: str) -> set[str]:
    """The names the plan may show for ``table`` in ``sql``: its own and any alias the query gives it."""
    names = {table.lower()}
    try:
        with _quiet_sqlglot():
            tree = sqlglot.parse_one(sql, read="sqlite")
    except SqlglotError:
        return names
    return names | {t.alias.lower() for t in tree.find_all(exp.Table) if t.name.lower() == table.lower() and t.alias}


def _evaluate(ddl: Schema | str, table: str, primary_key: Sequence[str] | str | None,
              required_columns: Mapping[str, str] | None, indexed_query: str | None, no_sort: bool,
              query_name: str) -> tuple[list[str], list[str]]:
    """(problems, what passed) of :func:`check_schema`."""
    __tracebackhide__ = True
    if no_sort and not indexed_query:
        raise CourseInputError("no_sort=True needs an indexed_query whose plan to read")
    schema = _as_schema(ddl)
    names = _choices(table, "table")
    found = next((t for t in map(schema.table, names) if t is not None), None)
    if found is None:
        have = ", ".join(t.name for t in schema.tables)
        return [f"expected a table named {' or '.join(names)}, found only {have}"], []
    problems: list[str] = []
    passed = [f"table {found.name}"]
    key = f"({', '.join(found.primary_key)})" if found.primary_key else "none"
    if primary_key is not None:
        wanted = [_choices(c, "column") for c in (primary_key.split(",") if isinstance(primary_key, str) else primary_key)]
        same = len(wanted) == len(found.primary_key) and all(
            have.lower() in (c.lower() for c in choices) for have, choices in zip(found.primary_key, wanted))
        if same:
            passed.append(f"primary key {key}")
        else:
            shown = ", ".join(" or ".join(choices) for choices in wanted)
            problems.append(f"primary key of {found.name}: expected ({shown}), found {key}")
    elif found.primary_key:
        passed.append(f"primary key {key}")
    if required_columns:
        present = _check_columns(found, required_columns, problems)
        if present:
            passed.append(f"columns {', '.join(present)}")
    if indexed_query:
        _check_query(schema, found, indexed_query, no_sort, query_name, problems, passed)
    return problems, passed


def _check_columns(table: Table, required: Mapping[str, str], problems: list[str]) -> list[str]:
    """Append a problem per missing or mistyped column; return the names of the columns that passed."""
    __tracebackhide__ = True
    present = []
    for spec, family_spec in required.items():
        names = _choices(spec, "column")
        families = [f.lower() for f in _choices(family_spec, "type family")]
        for family in families:
            if family not in FAMILIES:
                raise CourseInputError(f"unknown type family {family!r} for column {spec}: use one of {', '.join(FAMILIES)}")
        wanted = " or ".join(families)
        column = next((c for c in map(table.column, names) if c is not None), None)
        if column is None:
            also = f" (or {' or '.join(names[1:])})" if len(names) > 1 else ""
            problems.append(f"table {table.name} has no column {names[0]}{also}, {_article(wanted)} "
                            f"(its columns: {', '.join(c.name for c in table.columns)})")
        elif column.family not in families:
            problems.append(f"column {column.name}: expected {_article(wanted)} type, "
                            f"found {column.type} ({column.family})")
        else:
            present.append(column.name)
    return present


def _check_query(schema: Schema, table: Table, sql: str, no_sort: bool, query_name: str,
                 problems: list[str], passed: list[str]) -> None:
    """Plan ``sql`` on the schema and say whether it finds its rows through a key (and without a sort)."""
    __tracebackhide__ = True
    connection = load_sqlite(schema)
    try:
        plan = _explain(connection, sql, ())
    except (sqlite3.Error, sqlite3.Warning, ValueError) as error:
        problems.append(f"{query_name} cannot run on this schema: {error} (query: {sql})")
        return
    finally:
        connection.close()
    names = _aliases(sql, table.name)
    accesses = _accesses(plan, names)
    shown = ", ".join(f'"{line}"' for line in plan)
    key, composite = _suggest_key(sql, names)
    columns = f"({', '.join(key)})"
    used = [k for op, k in accesses if op == "SEARCH" and k]
    if not accesses:
        problems.append(f"{query_name} does not read table {table.name} (plan: {shown})")
        return
    if not used or any(op == "SCAN" for op, _ in accesses):
        if composite:
            fix = (f"add a composite index or a primary key starting with {columns}: "
                   "the equality columns first, then the range or sort column")
        else:
            fix = f"add an index on {columns}" if key else "add an index on the columns it filters on"
        problems.append(f"{query_name} does a full table scan of {table.name} (plan: {shown}): {fix}")
        return
    index_names = {sqlite: model for (owner, model), sqlite in _sqlite_index_names(schema).items() if owner == table.name}
    if used[0] == "PRIMARY KEY" or used[0].startswith("sqlite_autoindex_"):
        how = f"the primary key ({', '.join(table.primary_key)})"
    else:
        index = next(i for i in table.indexes if i.name == index_names.get(used[0], used[0]))
        how = f"index {index.name} ({', '.join(index.columns)})"
    if no_sort and needs_sort(plan):
        problems.append(f"{query_name} finds its rows with {how} but then sorts them (plan: {shown}): "
                        f"make the sort column follow the equality columns in one index, e.g. {columns}")
        return
    passed.append(f"{query_name} uses {how}" + (" without a sort" if no_sort else ""))


def check_schema(ddl: Schema | str, *, table: str, primary_key: Sequence[str] | str | None = None,
                 required_columns: Mapping[str, str] | None = None, indexed_query: str | None = None,
                 no_sort: bool = False, query_name: str = "the query") -> list[str]:
    """Problems with a schema, in plain English (what was expected, what was found); empty when it passes.

    ``table`` and column names match case-insensitively and may list alternatives (``"seq|message_id"``);
    ``required_columns`` maps names to type families (``{"created_at": "timestamp|integer"}``);
    ``primary_key`` lists the key's columns in order. ``indexed_query`` must find its rows of ``table``
    through an index or the primary key (no full scan) and, with ``no_sort``, in ORDER BY order.
    A schema that does not parse raises :class:`CourseInputError`.
    """
    __tracebackhide__ = True
    return _evaluate(ddl, table, primary_key, required_columns, indexed_query, no_sort, query_name)[0]


def assert_schema(ddl: Schema | str, *, table: str, primary_key: Sequence[str] | str | None = None,
                  required_columns: Mapping[str, str] | None = None, indexed_query: str | None = None,
                  no_sort: bool = False, query_name: str = "the query") -> None:
    """Like :func:`check_schema`, but raise :class:`CheckFailed` ("schema: ...; ...") or print ✓ and what passed."""
    __tracebackhide__ = True
    problems, passed = _evaluate(ddl, table, primary_key, required_columns, indexed_query, no_sort, query_name)
    if problems:
        fail("schema: " + "; ".join(problems))
    print("✓ schema: " + ", ".join(passed))
