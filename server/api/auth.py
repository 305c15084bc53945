"""Sign in (a token for the API) and sign out (revoke it)."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from ..domain.errors import InvalidInput, Unauthenticated
from ..service import security, users
from .requests import BEARER, bearer_token, run, run_public

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Sign in and out")


class LoginSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(1, 80))
    password = ma.fields.String(required=True, validate=ma.validate.Length(1, 200), load_only=True)


class PasswordChangeSchema(ma.Schema):
    current_password = ma.fields.String(required=True, validate=ma.validate.Length(1, 200), load_only=True)
    new_password = ma.fields.String(required=True, validate=ma.validate.Length(12, 200), load_only=True)


class TokenSchema(ma.Schema):
    token = ma.fields.String(required=True)
    expires_at = ma.fields.DateTime(required=True)
    user_id = ma.fields.Integer(required=True)
    role = ma.fields.String(required=True)


@blp.route("/login", methods=["POST"])
@blp.arguments(LoginSchema)
@blp.response(200, TokenSchema)
def login(data):
    """Sign in with a username and password; failed attempts are throttled per account."""
    issued = run_public(security.sign_in, data["username"], data["password"])
    if issued is None:
        raise Unauthenticated("wrong username or password")
    return {"token": issued.token, "expires_at": issued.expires_at, "user_id": issued.user.id,
            "role": issued.user.role}


@blp.route("/logout", methods=["POST"])
@blp.response(204)
@blp.doc(security=BEARER)
def logout():
    """Revoke the token this request carries; it stops working at once."""
    token = bearer_token()
    if not token:
        raise Unauthenticated("send Authorization: Bearer <token>")
    run_public(security.sign_out, token)


@blp.route("/password", methods=["POST"])
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
@blp.doc(security=BEARER)
def change_password(data):
    """Change your password (give the current one); your other sign-in tokens are revoked, this one is kept."""
    username = run(users.own_username)  # a person's sign-in token (device tokens are refused)
    if not run_public(users.change_password, bearer_token(), username, data["current_password"],
                      data["new_password"]):
        raise InvalidInput("the current password is wrong", field="current_password")
