"""The HTTP API: thin flask-smorest blueprints, one module per resource with its schemas."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from .problems import ProblemSchema, register_problem_handlers


class RegisterApi(Api):
    """flask-smorest Api whose errors are RFC 9457 problem details."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        from .problems import http_problem

        return http_problem(error)


def init_api(app: Flask) -> Api:
    api = RegisterApi(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    from . import actions, assignments, audit, auth, calendar, cases, enquiries, referrals, users

    for module in (auth, cases, referrals, enquiries, actions, assignments, calendar, users, audit):
        api.register_blueprint(module.blp)
    register_problem_handlers(app)
    return api
