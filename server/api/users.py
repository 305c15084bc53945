"""/api/users: accounts and roles (admins)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v
from flask_smorest import Blueprint

from ..domain.vocabulary import Role
from ..service import users
from .case_schemas import choice
from .requests import BEARER, run

blp = Blueprint("users", __name__, url_prefix="/api/users", description="Users and roles")


class UserSchema(ma.Schema):
    id = f.Integer(dump_only=True)
    username = f.String(required=True, validate=v.Regexp(r"^[a-z0-9._-]{3,80}$"))
    display_name = f.String(required=True, validate=v.Length(1, 200))
    role = choice(Role, required=True)
    password = f.String(required=True, load_only=True, validate=v.Length(12, 200))
    active = f.Boolean(dump_only=True)
    created_at = f.DateTime(dump_only=True)


class UserQuerySchema(ma.Schema):
    role = choice(Role)


class PasswordResetSchema(ma.Schema):
    password = f.String(required=True, load_only=True, validate=v.Length(12, 200))


class ActiveSchema(ma.Schema):
    active = f.Boolean(required=True)


@blp.route("", methods=["POST"])
@blp.arguments(UserSchema)
@blp.response(201, UserSchema)
@blp.doc(security=BEARER)
def create(data):
    """Create a user with a role."""
    return run(users.create_user, data), 201


@blp.route("", methods=["GET"])
@blp.arguments(UserQuerySchema, location="query")
@blp.response(200, UserSchema(many=True))
@blp.doc(security=BEARER)
def list_users(query):
    """Users (admins; supervisors see officers to assign visits)."""
    return run(users.list_users, query.get("role"))


@blp.route("/<int:user_id>/active", methods=["PUT"])
@blp.arguments(ActiveSchema)
@blp.response(200, UserSchema)
@blp.doc(security=BEARER)
def set_active(data, user_id: int):
    """Disable or re-enable an account; a disabled account's tokens stop working at once, and its devices are
    retired: at their next contact they hand in pending work (kept for review) and erase themselves."""
    return run(users.set_active, user_id, data["active"])


@blp.route("/<int:user_id>/password", methods=["POST"])
@blp.arguments(PasswordResetSchema)
@blp.response(204)
@blp.doc(security=BEARER)
def reset_password(data, user_id: int):
    """Set a new password for a user (admins); all the user's sign-in tokens are revoked."""
    run(users.reset_password, user_id, data["password"])
