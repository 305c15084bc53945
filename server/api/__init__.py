"""The HTTP API: thin flask-smorest blueprints, one module per resource with its schemas."""
from __future__ import annotations

import os

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask
from flask_smorest import Api
from werkzeug.middleware.proxy_fix import ProxyFix

from .problems import ProblemSchema, register_problem_handlers


class RegisterApi(Api):
    """flask-smorest Api whose errors are RFC 9457 problem details."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        from .problems import http_problem

        return http_problem(error)


def schema_name(schema) -> str:
    """OpenAPI component names; the device snapshot's parts get a prefix to keep them apart from the register's."""
    cls = resolve_schema_cls(schema)
    name = cls.__name__.removesuffix("Schema") or cls.__name__
    if cls.__module__ == "schemas.snapshot" and not name.startswith("CaseSnapshot"):
        name = f"Snapshot{name}"
    return name


def trust_proxies(app: Flask) -> None:
    """Behind N reverse proxies or load balancers (config TRUSTED_PROXIES, env CME_TRUSTED_PROXIES), take the
    client's address from the X-Forwarded-For they add. Sign-in is throttled per client address, and without
    this every client would share the proxy's address. Never set it for a server clients reach directly."""
    hops = int(app.config.get("TRUSTED_PROXIES") or os.environ.get("CME_TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)


def init_api(app: Flask) -> Api:
    trust_proxies(app)
    api = RegisterApi(app, spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name)})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    from . import (actions, assignments, audit, auth, calendar, cases, devices, enquiries, referrals, review,
                   sync, users)

    for module in (auth, cases, referrals, enquiries, actions, assignments, calendar, users, audit, devices, sync,
                   review):
        api.register_blueprint(module.blp)
    from . import uploads  # tus is headers and bytes, not JSON: a plain Flask blueprint, outside OpenAPI
    app.register_blueprint(uploads.bp)
    from .screening import screen_input
    app.before_request(screen_input)
    register_problem_handlers(app)
    return api
