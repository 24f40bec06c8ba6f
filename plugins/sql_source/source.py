"""The "SQL database" source: settings form, pull() and the Import test."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy.engine import URL

from plugin_host.records import (
    PullContext,
    PullItem,
    SettingField,
    SkippedRecord,
    SourceError,
    SourceType,
    SyncEnd,
)
from plugins.sql_source.mapping import (
    FieldMap,
    MapError,
    parse_field_map,
    plan_by_name,
    plan_by_position,
    record_to_dict,
    to_record,
)
from plugins.sql_source.query import QueryRejected, check_select, expand_map, has_map
from plugins.sql_source.reader import PREFIX, build_url, error, read_only

SAMPLE_ROWS = 10
TEST_TIMEOUT = 30  # the Import test answers an admin who is waiting in the browser

MAP_HELP = (
    'JSON object: contact field -> source column, e.g. {"external_id": "id", "display_name": '
    '"name", "company": "company", "phone:work": "tel", "mobile": "cell", "email": "mail"}. '
    "external_id and a name (display_name, first_name or last_name) are required. Fields: "
    "external_id, display_name (split into first/last name when given alone), first_name, "
    "last_name, company, title, org_department, notes, contact_type, status, language, "
    "timezone, phone, phone:work|mobile|home|fax|other, mobile, fax, email, "
    "email:business|private|other, tags (comma-separated), custom:<field>. Add :2 for a second "
    "column with the same label (phone:work:2). Without ${MAP} in the query, columns are matched "
    'by position; a JSON array of fields (null skips a column) also works: ["external_id", "display_name", null].'
)
FIELDS = (
    SettingField("url", "Connection URL", "text", required=True, help=(
        "mysql+pymysql://user@host:3306/db, postgresql+psycopg://user@host:5432/db or "
        "mssql+pyodbc://user@host\\instance/db?driver=ODBC+Driver+18+for+SQL+Server "
        "(named instance: SQL Server Browser must run; no port). No password here.")),
    SettingField("password", "Password", "password", secret=True,
                 help="Stored encrypted; use an account that may only SELECT."),
    SettingField("connect_timeout", "Connect timeout (seconds)", "int", default=10),
    SettingField("query_timeout", "Query timeout (seconds)", "int", default=300, help=(
        "The query is cancelled after this time. On MySQL/MariaDB rows stream while the "
        "query runs, so this also bounds the whole read.")),
    SettingField("query", "Query", "textarea", required=True, default="SELECT ${MAP} FROM contacts",
                 help="One SELECT; ${MAP} becomes the mapped columns, e.g. "
                      "SELECT ${MAP} FROM crm_people WHERE type = 'customer'. Runs read-only."),
    SettingField("identity", "Identify contacts by", "select", default="external_id",
                 choices=("external_id", "external_id+name"), help=(
        "external_id: the ID column is unique. external_id+name: ID and name together identify "
        "a contact (e.g. SAP business partners with several contact persons); a renamed "
        "contact is then a new contact.")),
    SettingField("field_map", "Field map", "json", required=True,
                 default='{"external_id": "id", "display_name": "name", "phone:work": "phone", '
                         '"email": "email"}', help=MAP_HELP),
)  # fmt: skip


@dataclass(frozen=True)
class Config:
    """The settings, validated."""

    url: URL
    connect_timeout: int
    query_timeout: int
    query: str
    field_map: FieldMap
    id_with_name: bool = False

    @classmethod
    def load(cls, settings: Mapping[str, Any]) -> Config:
        """Parse the settings dict; bad values raise SourceError."""
        try:
            field_map = parse_field_map(settings.get("field_map"))
        except MapError as exc:
            raise error(str(exc)) from None
        return cls(
            url=build_url(settings.get("url") or "", settings.get("password")),
            connect_timeout=_seconds(settings, "connect_timeout", 10),
            query_timeout=_seconds(settings, "query_timeout", 300),
            query=(settings.get("query") or "").strip(),
            field_map=field_map,
            id_with_name=settings.get("identity") == "external_id+name",
        )

    @property
    def backend(self) -> str:
        return self.url.get_backend_name()

    def statement(self, field_map: FieldMap | None = None) -> str:
        """The checked SQL to send: ``${MAP}`` expanded, one read-only SELECT."""
        quote = self.url.get_dialect()().identifier_preparer.quote
        fm = field_map or self.field_map
        try:
            sql = expand_map(self.query, fm.columns(), quote) if has_map(self.query) else self.query
            return check_select(sql, self.backend)
        except QueryRejected as exc:
            raise error(str(exc)) from None


def _seconds(settings: Mapping[str, Any], key: str, default: int) -> int:
    raw = settings.get(key)
    try:
        value = default if raw in (None, "") else int(raw)
    except (TypeError, ValueError):
        raise error(f"{key.replace('_', ' ')} must be a whole number of seconds") from None
    if not 1 <= value <= 86400:
        raise error(f"{key.replace('_', ' ')} must be between 1 and 86400 seconds")
    return value


def pull(settings: Mapping[str, Any], cursor: str | None, ctx: PullContext) -> Iterator[PullItem]:
    """Read every row (a full snapshot each run) and end with SyncEnd(full_snapshot=True)."""
    cfg = Config.load(settings)
    if cfg.field_map.problems:
        raise error("; ".join(cfg.field_map.problems))
    sql, started, rows_read = cfg.statement(), ctx.now(), 0
    with read_only(cfg.url, cfg.connect_timeout, cfg.query_timeout) as session:
        columns, rows = session.run(sql, cfg.field_map.columns())
        row_plan = _plan(cfg, cfg.field_map, len(columns))
        for rows_read, values in enumerate(rows, 1):
            yield _numbered(to_record(values, row_plan, cfg.id_with_name), rows_read)
    ctx.log(f"{PREFIX}{rows_read} rows read")
    yield SyncEnd(cursor=str(int(started)), full_snapshot=True)


def _plan(cfg: Config, field_map: FieldMap, column_count: int) -> list[Any]:
    try:
        if has_map(cfg.query):
            return plan_by_name(field_map)
        return plan_by_position(field_map, column_count)
    except MapError as exc:
        raise error(str(exc)) from None


def _numbered(item: Any, n: int) -> Any:
    if isinstance(item, SkippedRecord):
        return SkippedRecord(item.external_id, f"row {n}: {item.reason}")
    return item


def test(settings: Mapping[str, Any], ctx: PullContext) -> dict[str, Any]:
    """Import test: a few mapped rows, the mapping problems and the available columns (no writes)."""
    cfg = Config.load(settings)
    problems = list(cfg.field_map.problems)
    timeout = min(cfg.query_timeout, TEST_TIMEOUT)
    field_map, available = cfg.field_map, None
    if has_map(cfg.query) and not field_map.positional:
        available = _available_columns(cfg, timeout)
        field_map, missing = _known_only(cfg, available)
        problems += missing
    if has_map(cfg.query) and not field_map.columns():
        return {"rows": [], "problems": problems, "columns": available or [], "query": ""}
    sql = cfg.statement(field_map)
    columns, sample = _sample(cfg, field_map, sql, timeout)
    if not has_map(cfg.query):
        problems += _position_hints(cfg, columns)
    problems += [s.reason for s in sample if isinstance(s, SkippedRecord)]
    return {"rows": [record_to_dict(s) for s in sample], "problems": problems,
            "columns": available if available is not None else columns, "query": sql}  # fmt: skip


def _sample(cfg: Config, field_map: FieldMap, sql: str, timeout: int) -> tuple[list[str], list[Any]]:
    with read_only(cfg.url, cfg.connect_timeout, timeout, limit=SAMPLE_ROWS) as session:
        columns, rows = session.run(sql, field_map.columns())
        row_plan = _plan(cfg, field_map, len(columns))
        return columns, [
            _numbered(to_record(v, row_plan, cfg.id_with_name), n) for n, v in enumerate(islice(rows, SAMPLE_ROWS), 1)
        ]


def _available_columns(cfg: Config, timeout: int) -> list[str] | None:
    """The columns ``SELECT *`` would give in place of ``${MAP}``; None if that cannot run."""
    try:
        star = check_select(cfg.query.replace("${MAP}", "*"), cfg.backend)
    except QueryRejected:
        return None
    with read_only(cfg.url, cfg.connect_timeout, timeout, limit=1) as session:
        try:
            return session.run(star)[0]
        except SourceError:
            return None


def _known_only(cfg: Config, available: list[str] | None) -> tuple[FieldMap, list[str]]:
    """Drop map entries whose column the query's tables do not have, saying which."""
    if available is None:
        return cfg.field_map, []
    fold = (lambda s: s) if cfg.backend == "postgresql" else str.lower  # PG names are exact
    names = {fold(c) for c in available}
    entries, missing = [], []
    for target, column in cfg.field_map.entries:
        if target is not None and column and fold(column.rsplit(".", 1)[-1]) not in names:
            missing.append(f"unknown column {column!r} for {target.key} in the field map; "
                           f"available: {', '.join(available)}")  # fmt: skip
        else:
            entries.append((target, column))
    return dataclasses.replace(cfg.field_map, entries=tuple(entries)), missing


def _position_hints(cfg: Config, columns: list[str]) -> list[str]:
    """Without ``${MAP}``, point out where a column's name differs from the map's (order slip)."""
    hints = []
    for i, ((target, name), got) in enumerate(zip(cfg.field_map.entries, columns, strict=False), 1):
        if target is not None and name and name.rsplit(".", 1)[-1].lower() != got.lower():
            hints.append(f"column {i} of the query is {got!r} but the field map expects {name!r} "
                         f"for {target.key}; columns are matched by position")  # fmt: skip
    return hints


SOURCE_TYPE = SourceType(
    name="sql",
    label="SQL database",
    fields=FIELDS,
    pull=pull,
    description="Import contacts from a MySQL/MariaDB, PostgreSQL or MSSQL database with a SELECT query.",
    full_snapshot_options=True,
    test=test,
    permissions_help="Use a database account that may only SELECT from the tables the query reads.",
)
