"""The application factory."""
from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from flask import Flask, redirect
from werkzeug.routing import IntegerConverter

from .adapters.blobs import blob_store_for
from .adapters.db import default_sqlite_url, make_engine, make_session_factory
from .api import init_api
from .service.uow import Database

API_TITLE = "CME register"


class BoundedIntConverter(IntegerConverter):
    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**53)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("CME_INSTANCE_PATH") or None)
    app.config.update(
        API_TITLE=API_TITLE, API_VERSION="1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs", OPENAPI_SWAGGER_UI_URL="/static/swagger-ui/",  # vendored: works offline
        MAX_CONTENT_LENGTH=1024 * 1024,  # JSON bodies; photo uploads set their own limit
        DATABASE_URL=os.environ.get("DATABASE_URL"),
        BLOB_DIR=os.environ.get("CME_BLOB_DIR"),
        BLOB_STORE=os.environ.get("CME_BLOB_STORE") or "filesystem",  # or "database": photos in DATABASE_URL
        MAX_DEVICES_PER_OFFICER=int(os.environ.get("CME_MAX_DEVICES_PER_OFFICER") or 3),  # active devices
        JSON_SORT_KEYS=False,
    )
    app.config.update(config or {})
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = default_sqlite_url(app.instance_path)
    if not app.config["BLOB_DIR"]:
        app.config["BLOB_DIR"] = str(Path(app.instance_path) / "blobs")
    # Ids in paths fit a PostgreSQL bigint; anything larger is a plain 404, never a database error.
    app.url_map.converters["int"] = BoundedIntConverter
    engine = make_engine(app.config["DATABASE_URL"])
    sessions = make_session_factory(engine)
    blobs = partial(blob_store_for, app)  # the store is made on first use, then kept in app.extensions
    # The service layer finds the blob store through its session, never through Flask.
    sessions.configure(info={"blobs": blobs})
    app.extensions["cme"] = {"engine": engine, "uow": Database(sessions), "blob_store": blobs}
    init_api(app)

    @app.get("/")
    def index():
        return redirect("/api/docs")

    return app
