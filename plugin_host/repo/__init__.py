"""The permissioned repository: every read filtered in SQL by the acting Principal."""

from plugin_host.repo.activities import ActivityRepository
from plugin_host.repo.contacts import ContactRepository, etag
from plugin_host.repo.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RepositoryError,
    ValidationError,
)
from plugin_host.repo.lists import AccountRepository, CustomFieldRepository, ListRepository, TagRepository
from plugin_host.repo.lookup import LookupRepository
from plugin_host.repo.query import ContactQuery
from plugin_host.repo.upsert import RowOutcome, Upserter, UpsertOptions

__all__ = [
    "AccountRepository", "ActivityRepository", "Conflict", "ContactQuery", "ContactRepository",
    "CustomFieldRepository", "ListRepository", "LookupRepository", "NotFound", "PermissionDenied",
    "PreconditionFailed", "RepositoryError", "RowOutcome", "TagRepository", "UpsertOptions", "Upserter",
    "ValidationError", "etag",
]
