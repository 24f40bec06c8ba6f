"""The plugin's routes: its static panel modules and the ``/embed/demo`` host page."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, render_template

HERE = Path(__file__).resolve().parent


def make_blueprint(static_url_path: str) -> Blueprint:
    """A fresh blueprint per app: ``static/`` at ``static_url_path`` and the demo page."""
    bp = Blueprint("customers_tab", __name__, static_folder=str(HERE / "static"), static_url_path=static_url_path,
                   template_folder=str(HERE / "templates"))

    @bp.get("/embed/demo")
    def demo() -> str:
        return render_template("customers_tab/demo.html")

    return bp
