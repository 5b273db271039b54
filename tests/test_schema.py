"""course.schema: MySQL DDL read by sqlglot, built in SQLite, queries explained; errors carry line numbers."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from course.errors import CourseInputError
from course.schema import (
    FAMILIES, Schema, assert_schema, check_schema, load_sqlite, needs_sort, parse_schema, query_plan, sqlite_ddl,
    uses_index,
)

EXAMPLE = """\
CREATE TABLE messages (
    chat_id     BIGINT      NOT NULL,
    seq         BIGINT      NOT NULL,
    sender_id   BIGINT      NOT NULL,
    content     TEXT        NOT NULL,
    status      ENUM('sent','delivered','read') NOT NULL DEFAULT 'sent',
    created_at  TIMESTAMP   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (chat_id, seq),
    INDEX idx_sender (sender_id)
);
CREATE INDEX idx_created ON messages (created_at);
"""

SEED = """\
CREATE TABLE messages (
    message_id VARCHAR(36) PRIMARY KEY,
    chat_id VARCHAR(36),
    sender_id VARCHAR(36),
    recipient_id VARCHAR(36),
    content TEXT,
    timestamp TIMESTAMP,
    message_status ENUM('sent', 'delivered', 'read')
);
CREATE INDEX idx_chat_timestamp ON messages(chat_id, timestamp);
"""

HISTORY = "SELECT * FROM messages WHERE chat_id = ? AND seq < ? ORDER BY seq DESC LIMIT 50"
SEED_HISTORY = "SELECT * FROM messages WHERE chat_id = ? ORDER BY timestamp DESC LIMIT 50"
NO_INDEX = "CREATE TABLE messages (chat_id BIGINT NOT NULL, seq BIGINT NOT NULL, content TEXT);"
CHAT_ONLY_INDEX = NO_INDEX + "\nCREATE INDEX idx_chat ON messages (chat_id);"
COLUMNS = {"chat_id": "integer", "seq|message_id": "integer", "content": "text", "created_at|timestamp": "timestamp"}


# --- the model ---------------------------------------------------------------------------------------


def test_example_schema_is_read_into_the_model():
    schema = parse_schema(EXAMPLE)
    (table,) = schema.tables
    assert isinstance(schema, Schema) and schema.table("MESSAGES") is table
    assert [c.name for c in table.columns] == ["chat_id", "seq", "sender_id", "content", "status", "created_at"]
    assert [c.family for c in table.columns] == ["integer", "integer", "integer", "text", "enum", "timestamp"]
    assert not any(c.nullable for c in table.columns)
    assert table.primary_key == ("chat_id", "seq")
    status = table.column("status")
    assert status.enum_values == ("sent", "delivered", "read") and status.default == "'sent'"
    assert table.column("created_at").default == "CURRENT_TIMESTAMP"
    assert [(i.name, i.columns, i.unique, i.line) for i in table.indexes] == [
        ("idx_sender", ("sender_id",), False, 9), ("idx_created", ("created_at",), False, 11)]
    assert table.line == 1 and table.column("seq").line == 3


def test_seed_schema_has_a_random_uuid_key_and_a_chat_timestamp_index():
    table = parse_schema(SEED).table("messages")
    assert table.primary_key == ("message_id",)
    assert table.column("message_id").type == "VARCHAR(36)" and table.column("message_id").family == "text"
    assert not table.column("message_id").nullable  # a primary key is NOT NULL in MySQL
    assert table.column("chat_id").nullable
    assert table.column("timestamp").family == "timestamp"
    assert table.column("message_status").family == "enum"
    assert [(i.name, i.columns) for i in table.indexes] == [("idx_chat_timestamp", ("chat_id", "timestamp"))]


@pytest.mark.parametrize("sql_type, family", [
    ("INT", "integer"), ("BIGINT", "integer"), ("BIGINT UNSIGNED", "integer"), ("TINYINT", "integer"),
    ("VARCHAR(36)", "text"), ("CHAR(7)", "text"), ("TEXT", "text"), ("LONGTEXT", "text"),
    ("DATETIME", "timestamp"), ("TIMESTAMP", "timestamp"), ("TIMESTAMP(3)", "timestamp"), ("DATE", "timestamp"),
    ("BOOLEAN", "boolean"), ("BOOL", "boolean"), ("TINYINT(1)", "boolean"),
    ("DECIMAL(10,2)", "decimal"), ("NUMERIC(5)", "decimal"), ("FLOAT", "float"), ("DOUBLE", "float"),
    ("JSON", "json"), ("BLOB", "blob"), ("VARBINARY(16)", "blob"), ("ENUM('a','b')", "enum"), ("SET('a','b')", "other"),
])
def test_types_fall_into_families_and_run_in_sqlite(sql_type, family):
    ddl = f"CREATE TABLE t (c {sql_type});"
    column = parse_schema(ddl).table("t").column("c")
    assert column.family == family and family in FAMILIES
    load_sqlite(ddl).close()


def test_keys_unique_constraints_and_foreign_keys():
    schema = parse_schema("""\
CREATE TABLE users (id BIGINT PRIMARY KEY AUTO_INCREMENT, email VARCHAR(255) NOT NULL UNIQUE, handle CHAR(7));
CREATE TABLE members (
    chat_id BIGINT,
    user_id BIGINT REFERENCES users(id),
    role VARCHAR(10),
    PRIMARY KEY (chat_id, user_id),
    UNIQUE KEY uq_role (chat_id, role),
    KEY (role),
    CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE UNIQUE INDEX uq_handle ON users (handle);
""")
    users, members = schema.tables
    assert users.primary_key == ("id",) and users.column("id").auto_increment
    assert users.unique_keys == (("email",), ("handle",))
    assert [i.name for i in users.indexes] == ["email", "uq_handle"]  # MySQL names an unnamed index after its column
    assert members.primary_key == ("chat_id", "user_id")
    assert members.unique_keys == (("chat_id", "role"),)
    assert [i.name for i in members.indexes] == ["uq_role", "role"]
    assert [(f.columns, f.ref_table, f.ref_columns) for f in members.foreign_keys] == [
        (("user_id",), "users", ("id",)), (("user_id",), "users", ("id",))]


# --- SQLite ------------------------------------------------------------------------------------------


def test_sqlite_ddl_moves_inline_indexes_out_and_checks_enums():
    ddl = sqlite_ddl(EXAMPLE)
    assert "INDEX idx_sender (" not in ddl
    assert 'CREATE INDEX "idx_sender" ON "messages" ("sender_id");' in ddl
    assert 'CHECK ("status" IN (\'sent\', \'delivered\', \'read\'))' in ddl
    assert 'PRIMARY KEY ("chat_id", "seq")' in ddl


def test_the_schema_really_runs_in_sqlite():
    connection = load_sqlite(EXAMPLE)
    try:
        connection.execute("INSERT INTO messages (chat_id, seq, sender_id, content) VALUES (1, 1, 7, 'hi')")
        status, created_at = connection.execute("SELECT status, created_at FROM messages").fetchone()
        assert status == "sent" and created_at  # both defaults applied
        with pytest.raises(sqlite3.IntegrityError):  # the ENUM's CHECK
            connection.execute("INSERT INTO messages (chat_id, seq, sender_id, content, status) VALUES (1, 2, 7, 'x', 'lost')")
        with pytest.raises(sqlite3.IntegrityError):  # the composite primary key
            connection.execute("INSERT INTO messages (chat_id, seq, sender_id, content) VALUES (1, 1, 8, 'again')")
        names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"idx_sender", "idx_created"} <= names
    finally:
        connection.close()


def test_auto_increment_unique_and_without_rowid_in_sqlite():
    connection = load_sqlite("""\
CREATE TABLE users (id BIGINT PRIMARY KEY AUTO_INCREMENT, email VARCHAR(255) UNIQUE, uid CHAR(36) DEFAULT (UUID()));
CREATE TABLE inbox (user_id BIGINT, seq BIGINT, PRIMARY KEY (user_id, seq)) WITHOUT ROWID;
""")
    try:
        connection.execute("INSERT INTO users (email) VALUES ('a@x')")
        connection.execute("INSERT INTO users (email) VALUES ('b@x')")
        assert [r[0] for r in connection.execute("SELECT id FROM users ORDER BY id")] == [1, 2]
        with pytest.raises(sqlite3.IntegrityError):
            connection.execute("INSERT INTO users (email) VALUES ('a@x')")
        plan = query_plan(connection, "SELECT * FROM inbox WHERE user_id = ? AND seq > ?")
        assert plan == ["SEARCH inbox USING PRIMARY KEY (user_id=? AND seq>?)"]
    finally:
        connection.close()


def test_index_names_are_made_unique_across_tables_for_sqlite():
    ddl = ("CREATE TABLE a (x INT, INDEX idx_x (x));\n"
           "CREATE TABLE b (x INT, INDEX idx_x (x));\n")
    assert 'CREATE INDEX "b_idx_x" ON "b" ("x")' in sqlite_ddl(ddl)
    plan = query_plan(ddl, "SELECT * FROM b WHERE x = 1")
    assert uses_index(plan, "b")


# --- plans -------------------------------------------------------------------------------------------


def test_history_query_uses_the_composite_primary_key():
    plan = query_plan(EXAMPLE, HISTORY)
    assert uses_index(plan, "messages") and not needs_sort(plan)


def test_history_query_without_an_index_scans_and_sorts():
    plan = query_plan(NO_INDEX, HISTORY)
    assert "SCAN messages" in plan
    assert not uses_index(plan, "messages") and needs_sort(plan)


def test_an_index_on_chat_id_alone_finds_rows_but_sorts():
    plan = query_plan(CHAT_ONLY_INDEX, HISTORY)
    assert uses_index(plan, "messages") and needs_sort(plan)


@pytest.mark.parametrize("line, expected", [
    ("SEARCH messages USING INDEX idx_chat_seq (chat_id=? AND seq<?)", True),
    ("SEARCH TABLE messages USING INDEX idx_chat_seq (chat_id=?)", True),  # SQLite before 3.36
    ("SEARCH TABLE messages AS m USING COVERING INDEX idx (chat_id=?)", True),
    ("SEARCH messages USING COVERING INDEX idx (chat_id=?)", True),
    ("SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)", True),
    ("SEARCH messages USING PRIMARY KEY (chat_id=?)", True),
    ("SCAN messages", False),
    ("SCAN TABLE messages", False),
    ("SCAN messages USING COVERING INDEX idx", False),  # reads the whole index
    ("SEARCH messages USING AUTOMATIC COVERING INDEX (chat_id=?)", False),  # SQLite's own, built per query
    ("SEARCH chats USING INDEX idx (chat_id=?)", False),
    ("SEARCH messages_archive USING INDEX idx (chat_id=?)", False),
])
def test_uses_index_reads_every_sqlite_wording(line, expected):
    assert uses_index([line], "messages") is expected


def test_a_scan_anywhere_means_no_index():
    assert not uses_index(["SEARCH messages USING INDEX i (a=?)", "SCAN messages"], "messages")


@pytest.mark.parametrize("line, expected", [
    ("USE TEMP B-TREE FOR ORDER BY", True),
    ("USE TEMP B-TREE FOR RIGHT PART OF ORDER BY", True),
    ("USE TEMP B-TREE FOR LAST 2 TERMS OF ORDER BY", True),
    ("USE TEMP B-TREE FOR GROUP BY", False),
    ("SCAN messages", False),
])
def test_needs_sort(line, expected):
    assert needs_sort([line]) is expected


def test_query_plan_binds_parameters_or_nulls():
    assert query_plan(EXAMPLE, HISTORY, (1, 100)) == query_plan(EXAMPLE, HISTORY)
    named = "SELECT * FROM messages WHERE chat_id = :chat AND content = '?'"
    assert uses_index(query_plan(EXAMPLE, named, {"chat": 1}), "messages")


def test_query_plan_reuses_a_connection_without_closing_it():
    connection = load_sqlite(EXAMPLE)
    try:
        query_plan(connection, HISTORY)
        assert connection.execute("SELECT count(*) FROM messages").fetchone() == (0,)
    finally:
        connection.close()


def test_a_bad_query_is_one_clear_error():
    with pytest.raises(CourseInputError, match="SQLite cannot run this query: no such column: seq"):
        query_plan(SEED, HISTORY)


# --- bad DDL -----------------------------------------------------------------------------------------

BAD_DDL = [
    ("CREATE TABLE t (\n  a INT,\n  b VARCHAR(10) NOT NUL\n);", 3, "SQL syntax error near `NOT`"),
    ("CREATE TABLE t (\n  a INT,\n  b FOO\n);", 3, "unknown column type `FOO`"),
    ("CREATE TABLE t (\n  a INT", 2, "the statement ends before it is complete"),
    ("CREATE TABLE t (\n  a VARCHAR(3) DEFAULT 'abc,\n  b INT\n);", 2, "unterminated string"),
    ("CREATE TABLE t (a INT);\n/* note", 2, "comment is never closed"),
    ("CREATE TABLE t (\n  a INT,\n  b INT,\n);", 3, "stray comma"),
    ("CREATE TABLE t (a INT)\nCREATE INDEX i ON t (a);", 2, "a ';' is missing"),
    ("CREATE TABLE t (a INT);\n\nSELECT * FROM t;", 3, "not SELECT"),
    ("DROP TABLE IF EXISTS t;\nCREATE TABLE t (a INT);", 1, "not DROP TABLE"),
    ("CREATE TABLE t (a INT);\nCREATE VIEW v AS SELECT a FROM t;", 2, "not CREATE VIEW"),
    ("CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1);", 2, "not INSERT"),
    ("CREATE TABLE t (a INT);\nALTER TABLE t ADD INDEX i (a);", 2, "not ALTER TABLE"),
    ("CREATE TABEL t (a INT);", 1, "cannot read this statement"),
    ("CREATE TABLE t AS SELECT 1;", 1, "must list its columns"),
    ("CREATE TABLE t (\n  a,\n  b INT\n);", 2, "column a has no type"),
    ("CREATE TABLE t (\n  a INT,\n  PRIMARY KEY (b)\n);", 3, "PRIMARY KEY names column b"),
    ("CREATE TABLE t (\n  a INT PRIMARY KEY,\n  b INT PRIMARY KEY\n);", 3, "primary key is declared twice"),
    ("CREATE TABLE t (\n  a INT,\n  a BIGINT\n);", 3, "column a is declared twice"),
    ("CREATE TABLE t (a INT);\nCREATE TABLE T (b INT);", 2, "table T is created twice"),
    ("CREATE TABLE t (a INT);\nCREATE INDEX i ON t (zz);", 2, "index i names column zz"),
    ("CREATE TABLE t (a INT);\nCREATE INDEX i ON u (a);", 2, "on table u, which is not created"),
    ("CREATE TABLE t (a INT, INDEX i (a));\nCREATE INDEX i ON t (a);", 2, "already has an index named i"),
    ("CREATE TABLE t (a INT);\nCREATE INDEX i ON t ((lower(a)));", 2, "an index on an expression"),
    ("CREATE TABLE t (\n  a INT\n) WITHOUT ROWID;", 1, "SQLite rejected table t: PRIMARY KEY missing"),
]


@pytest.mark.parametrize("ddl, line, fragment", BAD_DDL)
def test_bad_ddl_names_the_problem_and_its_line(ddl, line, fragment):
    with pytest.raises(CourseInputError) as caught:
        load_sqlite(ddl).close()
    error = caught.value
    assert error.line == line
    assert str(error).startswith(f"line {line}: ") and fragment in str(error)
    assert error.text == ddl.splitlines()[line - 1]  # the student's line is quoted
    assert "\x1b[" not in str(error) and "sqlglot" not in str(error)  # never sqlglot's own message
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


@pytest.mark.parametrize("ddl, fragment", [
    ("", "the schema is empty"),
    ("  -- only a comment\n/* and another */\n", "the schema is empty"),
    ("CREATE INDEX i ON t (a);", "no CREATE TABLE statement"),
])
def test_empty_schema(ddl, fragment):
    with pytest.raises(CourseInputError, match=fragment):
        parse_schema(ddl)


def test_a_schema_must_be_text():
    with pytest.raises(CourseInputError, match="expected the schema as a string"):
        parse_schema(None)


def test_nothing_reaches_stderr_or_the_log(capsys, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CourseInputError):
        parse_schema("CREATE TABEL t (a INT);")  # sqlglot falls back to a Command and would warn
    load_sqlite("CREATE TABLE t (a INT) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;").close()
    assert capsys.readouterr().err == ""
    assert not [r for r in caplog.records if r.name.startswith("sqlglot")]


# --- checks ------------------------------------------------------------------------------------------


def test_example_schema_passes_every_check(capsys):
    kwargs = dict(table="messages", primary_key=["chat_id", "seq"], required_columns=COLUMNS,
                  indexed_query=HISTORY, no_sort=True, query_name="history query")
    assert check_schema(EXAMPLE, **kwargs) == []
    assert_schema(EXAMPLE, **kwargs)
    out = capsys.readouterr()
    assert out.out == ("✓ schema: table messages, primary key (chat_id, seq), columns chat_id, seq, content, "
                       "created_at, history query uses the primary key (chat_id, seq) without a sort\n")
    assert out.err == ""


def test_seed_schema_problems_say_what_was_expected_and_found():
    problems = check_schema(SEED, table="messages", primary_key=("chat_id", "seq"), required_columns=COLUMNS,
                            indexed_query=HISTORY, query_name="history query")
    assert problems == [
        "primary key of messages: expected (chat_id, seq), found (message_id)",
        "column chat_id: expected an integer type, found VARCHAR(36) (text)",
        "column message_id: expected an integer type, found VARCHAR(36) (text)",
        f"history query cannot run on this schema: no such column: seq (query: {HISTORY})",
    ]


def test_seed_schema_serves_its_own_history_query(capsys):
    assert check_schema(SEED, table="messages", indexed_query=SEED_HISTORY, no_sort=True) == []
    assert_schema(SEED, table="messages", indexed_query=SEED_HISTORY, no_sort=True)
    assert capsys.readouterr().out == ("✓ schema: table messages, primary key (message_id), the query uses "
                                       "index idx_chat_timestamp (chat_id, timestamp) without a sort\n")


def test_required_columns_match_case_insensitively_and_through_alternatives():
    assert check_schema(SEED, table="Messages", required_columns={
        "CHAT_ID": "text", "seq|message_id": "integer|text", "created_at|Timestamp": "timestamp"}) == []
    (problem,) = check_schema(SEED, table="messages", required_columns={"seq|msg_seq": "integer"})
    assert problem.startswith("table messages has no column seq (or msg_seq), an integer (its columns: message_id, ")


def test_full_scan_names_the_plan_and_the_fix():
    (problem,) = check_schema(NO_INDEX, table="messages", indexed_query=HISTORY, query_name="history query")
    assert problem.startswith('history query does a full table scan of messages (plan: "SCAN messages"')
    assert "add a composite index or a primary key starting with (chat_id, seq)" in problem


def test_a_sort_after_the_index_is_a_problem_only_with_no_sort():
    assert check_schema(CHAT_ONLY_INDEX, table="messages", indexed_query=HISTORY) == []
    (problem,) = check_schema(CHAT_ONLY_INDEX, table="messages", indexed_query=HISTORY, no_sort=True)
    assert "finds its rows with index idx_chat (chat_id) but then sorts them" in problem
    assert '"USE TEMP B-TREE FOR ORDER BY"' in problem and "(chat_id, seq)" in problem
    assert "; " not in problem  # "; " separates the problems of assert_schema


def test_a_query_through_an_alias_is_recognised():
    query = "SELECT m.* FROM messages AS m WHERE m.chat_id = ? ORDER BY m.seq DESC LIMIT 50"
    assert check_schema(EXAMPLE, table="messages", indexed_query=query, no_sort=True) == []
    (problem,) = check_schema(NO_INDEX, table="messages", indexed_query=query)
    assert '"SCAN m"' in problem and "(chat_id, seq)" in problem


def test_missing_table_lists_the_tables_found():
    assert check_schema(EXAMPLE, table="chats|conversations", primary_key=["chat_id"]) == [
        "expected a table named chats or conversations, found only messages"]


def test_assert_schema_failure_lists_every_problem():
    with pytest.raises(AssertionError) as caught:
        assert_schema(SEED, table="messages", primary_key="chat_id, seq", required_columns={"seq": "integer"})
    message = str(caught.value)
    assert message.startswith("schema: primary key of messages: expected (chat_id, seq), found (message_id); ")
    assert message.count("; ") == 1 and "no column seq" in message


def test_assert_schema_on_unparsable_ddl_raises_the_input_error():
    with pytest.raises(CourseInputError, match="line 3"):
        assert_schema(BAD_DDL[0][0], table="t")


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(required_columns={"seq": "number"}), "unknown type family 'number'"),
    (dict(no_sort=True), "no_sort=True needs an indexed_query"),
    (dict(required_columns={" | ": "integer"}), "empty column name"),
])
def test_bad_check_arguments(kwargs, fragment):
    with pytest.raises(CourseInputError, match=fragment):
        check_schema(EXAMPLE, table="messages", **kwargs)
