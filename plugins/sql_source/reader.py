"""Connecting to the external database and running one query read-only, with clear errors."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from plugin_host.records import SourceError

PREFIX = "SQL database: "
DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
    "mssql": "mssql+pyodbc",
}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mssql": 1433}
# URL options that would run SQL of their own or loosen the server's guards.
UNSAFE_OPTIONS = {"init_command", "local_infile", "client_flag", "autocommit", "read_default_file"}
STREAM = {"stream_results": True, "yield_per": 1000, "no_parameters": True}
PLAIN = {"no_parameters": True}  # send the text as is: no %-formatting, no :name binds

# Driver error codes (PostgreSQL SQLSTATE, MySQL/MariaDB error number, ODBC SQLSTATE).
TIMEOUT = {"57014", 1969, 3024, 1317, "HYT00", "HYT01"}
SYNTAX = {"42601", 1064, 1149}
NO_COLUMN = {"42703", 1054, "42S22"}
NO_TABLE = {"42P01", 1146, "42S02"}
DENIED = {"42501", 1142, 1143, 1044}
READ_ONLY = {"25006", 1792}


def error(message: str) -> SourceError:
    """A SourceError whose message names this source."""
    return SourceError(PREFIX + message)


def build_url(raw: str, password: str | None) -> URL:
    """Parse the URL setting, pick our driver for the backend, merge the secret password in."""
    try:
        url = make_url((raw or "").strip())
    except ArgumentError:
        raise error("the connection URL is not valid; expected e.g. mysql+pymysql://user@host:3306/database") from None
    backend = url.get_backend_name()
    if backend not in DRIVERS:
        raise error(f"unsupported database {backend!r}: use MySQL/MariaDB, PostgreSQL or MSSQL")
    if url.drivername not in (backend, DRIVERS[backend]):
        raise error(f"unsupported driver {url.drivername!r}; use {DRIVERS[backend]}://...")
    if url.password:
        raise error("the URL contains a password: remove it and enter it in the Password field")
    unsafe = UNSAFE_OPTIONS.intersection(url.query)
    if unsafe:
        raise error(f"the URL option {sorted(unsafe)[0]!r} is not allowed")
    url = url.set(drivername=DRIVERS[backend])
    return url.set(password=password) if password else url


def where(url: URL) -> str:
    """``host:port as 'user'`` for messages; never the password."""
    backend = url.get_backend_name()
    host = url.host or "localhost"
    port = url.port or ("" if "\\" in host else DEFAULT_PORTS.get(backend, ""))
    return f"{host}{':' if port else ''}{port} as {url.username or ''!r}"


def make_engine(url: URL, connect_timeout: int) -> Engine:
    """An engine with no pool: every run opens and closes its own connection."""
    key = "timeout" if url.get_backend_name() == "mssql" else "connect_timeout"
    try:
        return create_engine(url, poolclass=NullPool, hide_parameters=True, connect_args={key: connect_timeout})
    except (ImportError, NoSuchModuleError):
        if url.get_backend_name() == "mssql":
            raise error(
                "MSSQL support is not installed: pip install 'contacts-hub[mssql]' and an ODBC driver"
            ) from None
        raise error(f"the database driver for {url.drivername} is not installed") from None


@contextmanager
def read_only(url: URL, connect_timeout: int, query_timeout: int, limit: int | None = None) -> Iterator[Session]:
    """A connection inside a read-only transaction with a statement timeout, always rolled back."""
    engine = make_engine(url, connect_timeout)
    try:
        try:
            conn = engine.connect()
        except DBAPIError as exc:
            raise error(f"cannot connect to {where(url)}: {driver_message(exc, url)}") from None
        try:
            session = Session(conn, url, query_timeout)
            session.begin(limit)
            yield session
            conn.rollback()  # nothing is ever committed
        except BaseException:
            _abandon(conn)
            raise
        finally:
            conn.close()
    finally:
        engine.dispose()


def _abandon(conn: Connection) -> None:
    """Drop the connection: a polite close would first read the rest of a streamed result.

    PyMySQL reads an unfinished unbuffered result to its end on close (and again when the
    cursor is collected), so that result is marked finished before the socket goes.
    """
    try:
        pending = getattr(conn.connection.driver_connection, "_result", None)
        if getattr(pending, "unbuffered_active", False):
            pending.unbuffered_active = False  # type: ignore[union-attr]
    except SQLAlchemyError:
        pass
    conn.invalidate()


class Session:
    """One guarded connection; ``run`` executes the (already checked) statement."""

    def __init__(self, conn: Connection, url: URL, timeout: int) -> None:
        self.conn = conn
        self.url = url
        self.timeout = timeout
        self.backend = "mysql" if url.get_backend_name() == "mariadb" else url.get_backend_name()

    def begin(self, limit: int | None) -> None:
        """Open the read-only transaction; ``limit`` caps rows server-side (Import test)."""
        try:
            for sql in self._setup(limit):
                self.conn.exec_driver_sql(sql, execution_options=PLAIN)
            if self.backend == "mssql":
                # SQL Server has no read-only transaction: the query timeout is set on the driver.
                self.conn.connection.driver_connection.timeout = self.timeout  # type: ignore[union-attr]
        except DBAPIError as exc:
            raise self.explain(exc) from None

    def _setup(self, limit: int | None) -> list[str]:
        secs, cap = int(self.timeout), int(limit or 0)
        if self.backend == "postgresql":
            return ["SET TRANSACTION READ ONLY", f"SET LOCAL statement_timeout = {secs * 1000}"]
        if self.backend == "mysql":
            timeout = (
                f"SET SESSION max_statement_time = {secs}"
                if getattr(self.conn.dialect, "is_mariadb", False)
                else f"SET SESSION max_execution_time = {secs * 1000}"
            )
            capped = [f"SET SESSION sql_select_limit = {cap}"] if cap else []
            # A slow consumer must not make the server drop a streamed result mid-way.
            return [timeout, *capped, "SET SESSION net_write_timeout = 3600",
                    "SET SESSION TRANSACTION READ ONLY", "START TRANSACTION READ ONLY"]  # fmt: skip
        return [f"SET ROWCOUNT {cap}"] if cap else []

    def run(self, sql: str, map_columns: Sequence[str] = ()) -> tuple[list[str], Iterator[Sequence[Any]]]:
        """Execute with a server-side cursor; returns the column names and a lazy row iterator."""
        try:
            result = self.conn.exec_driver_sql(sql, execution_options=STREAM)
        except DBAPIError as exc:
            raise self.explain(exc, map_columns) from None
        return list(result.keys()), self._rows(result)

    def _rows(self, result: Any) -> Iterator[Sequence[Any]]:
        try:
            yield from result
        except DBAPIError as exc:
            raise self.explain(exc) from None
        except SQLAlchemyError as exc:
            raise error(f"query failed: {exc}") from None

    def explain(self, exc: DBAPIError, columns: Sequence[str] = ()) -> SourceError:
        """Translate a driver error into a message an admin can act on."""
        return explain(exc, self.url, self.timeout, columns)


def _code(orig: Any) -> Any:
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):  # PyMySQL: (errno, message); its sqlstate is too coarse
        return args[0]
    if getattr(orig, "sqlstate", None):
        return orig.sqlstate
    return args[0] if args else None


def driver_message(exc: BaseException, url: URL) -> str:
    """The driver's own words, first line only, with the password scrubbed out."""
    orig = getattr(exc, "orig", None) or exc
    args = getattr(orig, "args", ())
    text = args[1] if len(args) > 1 and isinstance(args[1], str) else str(orig)
    line = text.strip().splitlines()[0] if text.strip() else type(orig).__name__
    if "failed: " in line:  # libpq: 'connection to server at "h", port 5432 failed: FATAL: ...'
        line = line.rsplit("failed: ", 1)[1]
    line = line.removeprefix("FATAL:").strip()
    password = url.password
    if isinstance(password, str) and len(password) >= 4:
        line = line.replace(password, "***")
    return line


def explain(exc: DBAPIError, url: URL, timeout: int, columns: Sequence[str] = ()) -> SourceError:
    """Map driver error codes onto the messages of the Status Message."""
    code, msg = _code(exc.orig), driver_message(exc, url)
    if code in TIMEOUT or "timeout expired" in msg.lower():
        return error(f"query timed out after {timeout} s")
    if code in SYNTAX or "incorrect syntax" in msg.lower():
        return error(f"syntax error in query: {msg}")
    if code in NO_COLUMN:
        named = [c for c in columns if _mentions(msg, c)]
        hint = f" (column {named[0]!r} of the field map)" if named else ""
        return error(f"unknown column{hint}: {msg}")
    if code in NO_TABLE:
        return error(f"unknown table: {msg}")
    if code in DENIED:
        return error(f"permission denied: {msg}")
    if code in READ_ONLY or "data-modifying" in msg:
        return error(f"the query tried to change data, which is refused (read-only): {msg}")
    return error(f"query failed: {msg}")


def _mentions(message: str, column: str) -> bool:
    name = column.rsplit(".", 1)[-1]
    return any(f"{q}{name}{q}" in message for q in "'\"`") or f".{name}'" in message
