"""Errors as RFC 9457 ``application/problem+json``, with per-field messages for validation."""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask import Response, json, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from plugin_host.auth import CsrfFailed, Unauthenticated
from plugin_host.repo.errors import RepositoryError, ValidationError

PROBLEM = "application/problem+json"
TITLES = {400: "Bad request", 401: "Authentication required", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 412: "Precondition failed", 413: "Payload too large",
          415: "Unsupported media type", 422: "Validation failed", 428: "Precondition required",
          429: "Too many requests", 500: "Internal server error"}


#: The documented shape of every error body (APIFlask's default error schemas describe its own JSON, not ours).
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                   "description": "per-field messages (validation failures)"},
    },
}


class BoundedInt(IntegerConverter):
    """``<int:...>`` of at most 18 digits: a number beyond a 64-bit id is a plain 404, not an OverflowError.

    (A ``max=`` bound is checked after matching and makes werkzeug answer 405 for the other methods.)
    """

    regex = r"\d{1,18}"


def problem(status: int, detail: str, errors: dict[str, list[str]] | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status,
                            "detail": detail, "instance": request.path}
    if errors:
        body["errors"] = errors
    body.update(extra)
    resp = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="contacts-hub"'
    return resp


def _flatten(detail: Any) -> dict[str, list[str]]:
    """APIFlask's {location: {field: [msgs]}} -> {field: [msgs]} (nested fields dotted)."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list) and all(isinstance(x, str) for x in value):
            out.setdefault(prefix or "_", []).extend(value)
        else:
            out.setdefault(prefix or "_", []).append(str(value))

    for location in detail.values() if isinstance(detail, dict) else [detail]:
        walk("", location)
    return out


def wants_problem() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/-/")


def register(app: APIFlask) -> None:
    app.config["VALIDATION_ERROR_SCHEMA"] = PROBLEM_SCHEMA
    app.config["HTTP_ERROR_SCHEMA"] = PROBLEM_SCHEMA
    app.url_map.converters["int"] = BoundedInt  # before the API blueprint's rules are added

    @app.error_processor
    def apiflask_error(error: HTTPError) -> Response:
        if error.status_code == 422 or (error.detail and isinstance(error.detail, dict)):
            errors = _flatten(error.detail)
            fields = ", ".join(sorted(errors))
            return problem(error.status_code, f"invalid input: {fields}" if fields else str(error.message), errors)
        return problem(error.status_code, str(error.message or TITLES.get(error.status_code, "Error")))

    @app.errorhandler(RepositoryError)
    def repository_error(exc: RepositoryError) -> Response:
        from plugin_host.models import db

        db.session.rollback()
        errors = exc.errors if isinstance(exc, ValidationError) else None
        return problem(exc.status, str(exc), errors)

    @app.errorhandler(Unauthenticated)
    def unauthenticated(exc: Unauthenticated) -> Response:
        return problem(401, str(exc))

    @app.errorhandler(CsrfFailed)
    def csrf_failed(exc: CsrfFailed) -> Any:
        return problem(403, str(exc))

    @app.errorhandler(HTTPException)
    def http_exception(exc: HTTPException) -> Any:
        if not wants_problem():
            return exc
        detail = exc.description or ""
        if exc.code == 413:
            detail = f"the upload is larger than the configured limit of {app.config['MAX_UPLOAD_MB']} MB"
        return problem(exc.code or 500, detail)

    @app.spec_processor
    def problem_content_types(spec: dict[str, Any]) -> dict[str, Any]:
        for path in spec.get("paths", {}).values():
            for op in path.values():
                if isinstance(op, dict) and "requestBody" in op:
                    # a body that is not JSON at all (werkzeug's BadRequest) never reaches schema validation
                    op.setdefault("responses", {}).setdefault("400", {
                        "description": "Malformed request body",
                        "content": {PROBLEM: {"schema": PROBLEM_SCHEMA}}})
                for code, resp in (op.get("responses") or {}).items() if isinstance(op, dict) else ():
                    content = resp.get("content") if isinstance(resp, dict) else None
                    if str(code)[0] in "45" and content and "application/json" in content:
                        content[PROBLEM] = content.pop("application/json")
        return spec
