"""Server-rendered pages outside the API: the landing page (the admin console lives in plugins)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, redirect, render_template, url_for
from flask_login import current_user

bp = Blueprint("web", __name__, template_folder="templates")


@bp.get("/")
def index() -> Any:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return render_template("index.html")


def register(app: Flask) -> None:
    app.register_blueprint(bp)
