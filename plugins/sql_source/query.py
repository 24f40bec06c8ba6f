"""The admin's query template: ${MAP} expansion and the single-read-only-SELECT check."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

MAP_PLACEHOLDER = "${MAP}"

# Words that only appear in statements that change something. A word directly followed by
# "(" is a function call (MySQL has INSERT(), REPLACE() and TRUNCATE() string/number
# functions), so only bare uses are refused. INTO catches SELECT ... INTO table/OUTFILE.
FORBIDDEN_WORDS = frozenset((
    "insert", "update", "delete", "merge", "upsert", "replace", "truncate", "drop", "alter", "create",
    "grant", "revoke", "exec", "execute", "call", "copy", "lock", "unlock", "handler", "load", "rename",
    "into", "outfile", "dumpfile",
))  # fmt: skip
FIRST_WORDS = ("select", "with")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


class QueryRejected(ValueError):
    """The template is not a single read-only SELECT; the message says why."""


@dataclass(frozen=True)
class Token:
    """A piece of code outside quotes and comments: a word, ``;``, ``(`` or other punctuation."""

    text: str
    pos: int


@dataclass(frozen=True)
class Dialect:
    """The lexical rules that decide where quotes and comments end."""

    name: str
    backslash_escapes: bool = False
    hash_comments: bool = False
    dash_comment_needs_space: bool = False
    nested_comments: bool = False
    dollar_quotes: bool = False
    brackets: bool = False
    refuse_bang_comments: bool = False


def lexers_for(backend: str) -> tuple[Dialect, ...]:
    """The rule sets a statement must pass for ``backend``.

    Whether a backslash escapes a quote depends on server settings (MySQL NO_BACKSLASH_ESCAPES,
    PostgreSQL standard_conforming_strings), so the check runs both ways and both must agree.
    """
    if backend in ("mysql", "mariadb"):
        base = Dialect("mysql", hash_comments=True, dash_comment_needs_space=True, refuse_bang_comments=True)
    elif backend == "postgresql":
        base = Dialect("postgresql", nested_comments=True, dollar_quotes=True)
    else:
        base = Dialect(backend, nested_comments=True, brackets=True)
    return (base, replace(base, backslash_escapes=True))


def tokenize(sql: str, dialect: Dialect) -> list[Token]:
    """Code tokens of ``sql``; raises QueryRejected on an unterminated quote or comment."""
    return list(_Lexer(sql, dialect).tokens())


class _Lexer:
    """A small hand-written scanner; it only needs to know where code is, not parse it."""

    def __init__(self, sql: str, dialect: Dialect) -> None:
        self.sql = sql
        self.d = dialect
        self.i = 0

    def tokens(self) -> Iterator[Token]:
        sql, n = self.sql, len(self.sql)
        while self.i < n:
            c, start = sql[self.i], self.i
            if c.isspace():
                self.i += 1
            elif c in "'\"`" or (c == "[" and self.d.brackets):
                self._skip_quoted("]" if c == "[" else c)
            elif sql.startswith("/*", self.i):
                self._skip_block_comment()
            elif self._is_line_comment():
                end = sql.find("\n", self.i)
                self.i = n if end < 0 else end + 1
            elif c == "$" and self.d.dollar_quotes and _DOLLAR_TAG.match(sql, self.i):
                self._skip_dollar_quoted()
            elif c.isalnum() or c == "_":
                self.i = self._word_end()
                yield Token(sql[start : self.i], start)
            else:
                self.i += 1
                yield Token(c, start)

    def _word_end(self) -> int:
        j = self.i
        while j < len(self.sql) and (self.sql[j].isalnum() or self.sql[j] in "_$"):
            j += 1
        return j

    def _is_line_comment(self) -> bool:
        sql, i = self.sql, self.i
        if sql[i] == "#" and self.d.hash_comments:
            return True
        if not sql.startswith("--", i):
            return False
        # MySQL reads "--1" as minus minus one: only "-- " starts a comment there.
        return not self.d.dash_comment_needs_space or i + 2 >= len(sql) or sql[i + 2].isspace()

    def _skip_quoted(self, close: str) -> None:
        sql, j = self.sql, self.i + 1
        escapes = self.d.backslash_escapes and close in "'\""
        while j < len(sql):
            if escapes and sql[j] == "\\":
                j += 2
            elif sql[j] == close:
                if sql.startswith(close * 2, j):  # a doubled quote is an escaped quote
                    j += 2
                else:
                    self.i = j + 1
                    return
            else:
                j += 1
        raise QueryRejected(f"unterminated quote {close} in the query")

    def _skip_block_comment(self) -> None:
        sql = self.sql
        if self.d.refuse_bang_comments and sql[self.i + 2 : self.i + 3] in ("!", "+"):
            # MySQL runs the text of /*! ... */ as code and /*+ ... */ sets optimizer options.
            raise QueryRejected("MySQL executable comments (/*! */, /*+ */) are not allowed in the query")
        depth, j = 1, self.i + 2
        while j < len(sql) and depth:
            if sql.startswith("*/", j):
                depth, j = depth - 1, j + 2
            elif self.d.nested_comments and sql.startswith("/*", j):
                depth, j = depth + 1, j + 2
            else:
                j += 1
        if depth:
            raise QueryRejected("unterminated /* comment in the query")
        self.i = j

    def _skip_dollar_quoted(self) -> None:
        m = _DOLLAR_TAG.match(self.sql, self.i)
        assert m is not None
        end = self.sql.find(m.group(0), m.end())
        if end < 0:
            raise QueryRejected(f"unterminated {m.group(0)} quote in the query")
        self.i = end + len(m.group(0))


def check_select(sql: str, backend: str) -> str:
    """Return ``sql`` without a trailing ``;`` if it is one SELECT/WITH statement, else raise."""
    ends = {_check_one(sql, d) for d in lexers_for(backend)}
    if len(ends) != 1:
        raise QueryRejected("the query's quotes can be read in two ways; simplify the quoting")
    end = ends.pop()
    return sql[:end].rstrip()


def _check_one(sql: str, dialect: Dialect) -> int:
    tokens = tokenize(sql, dialect)
    end = len(sql)
    semis = [k for k, t in enumerate(tokens) if t.text == ";"]
    if semis and semis[0] != len(tokens) - 1:
        raise QueryRejected("only one statement is allowed: remove the ';' and what follows it")
    if semis:
        end = tokens[-1].pos
        tokens = tokens[:-1]
    words = [t for t in tokens if t.text != "("]
    if not words or words[0].text.lower() not in FIRST_WORDS:
        first = words[0].text.upper() if words else "nothing"
        raise QueryRejected(f"only SELECT (or WITH ... SELECT) queries are allowed, not {first}")
    for k, t in enumerate(tokens):
        nxt = tokens[k + 1].text if k + 1 < len(tokens) else ""
        if t.text.lower() in FORBIDDEN_WORDS and nxt != "(":
            raise QueryRejected(
                f"{t.text.upper()} is not allowed: the query must only read (quote it if it is a column name)"
            )
    return end


def has_map(template: str) -> bool:
    """Whether the template uses the ``${MAP}`` placeholder."""
    return MAP_PLACEHOLDER in template


def expand_map(template: str, columns: Sequence[str], quote: Callable[[str], str]) -> str:
    """Replace ``${MAP}`` with the quoted columns (``table.column`` is quoted per part)."""
    if template.count(MAP_PLACEHOLDER) != 1:
        raise QueryRejected("use ${MAP} exactly once in the query")
    if not columns:
        raise QueryRejected("the field map names no columns to put in place of ${MAP}")
    listed = ", ".join(quote_column(c, quote) for c in columns)
    return template.replace(MAP_PLACEHOLDER, listed)


def quote_column(column: str, quote: Callable[[str], str]) -> str:
    """Quote ``column`` (or ``table.column``) as identifiers, never as SQL text."""
    parts = column.split(".")
    if any(not p.strip() or "\x00" in p for p in parts):
        raise QueryRejected(f"invalid column name {column!r} in the field map")
    return ".".join(quote(p.strip()) for p in parts)
