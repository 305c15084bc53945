"""/api/devices: enrol a field device; supervisors list, revoke, retire or resync devices."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v
from flask import current_app, request
from flask_smorest import Blueprint

from sync.errors import check_protocol_version
from sync.vocabulary import PROTOCOL_HEADER
from ..domain.devices import DeviceStatus
from ..domain.errors import Unauthenticated
from ..service import devices
from .requests import BEARER, run, run_public
from .sync import PROTOCOL_PARAM

blp = Blueprint("devices", __name__, url_prefix="/api/devices", description="Field devices")


class EnrolSchema(ma.Schema):
    username = f.String(required=True, validate=v.Length(1, 80))
    password = f.String(required=True, load_only=True, validate=v.Length(1, 200))
    device_name = f.String(required=True, validate=v.Length(1, 100))


class RenewSchema(ma.Schema):
    username = f.String(required=True, validate=v.Length(1, 80))
    password = f.String(required=True, load_only=True, validate=v.Length(1, 200))


class EnrolmentSchema(ma.Schema):
    device_id = f.Integer(required=True)
    device_token = f.String(required=True)
    officer_id = f.Integer(required=True)
    offline_ttl_seconds = f.Integer(required=True)
    server_time = f.DateTime(required=True)


class DeviceSchema(ma.Schema):
    id = f.Integer()
    officer_id = f.Integer()
    name = f.String()
    status = f.String(validate=v.OneOf([s.value for s in DeviceStatus]))  # documents the states
    enrolled_at = f.DateTime()
    last_seen_at = f.DateTime(allow_none=True)
    offline_ttl_seconds = f.Integer()
    scope_epoch = f.Integer()


class DeviceQuerySchema(ma.Schema):
    officer_id = f.Integer(validate=v.Range(1, 2**53))


@blp.route("/enrol", methods=["POST"])
@blp.arguments(EnrolSchema)
@blp.response(201, EnrolmentSchema)
@blp.doc(parameters=[PROTOCOL_PARAM])
def enrol(data):
    """An officer enrols a device with their credentials and receives its device token (shown once)."""
    check_protocol_version(request.headers.get(PROTOCOL_HEADER))
    enrolment = run_public(devices.enrol, data["username"], data["password"], data["device_name"],
                           max_devices=current_app.config["MAX_DEVICES_PER_OFFICER"])
    if enrolment is None:
        raise Unauthenticated("wrong username or password")
    return enrolment, 201


@blp.route("/<int:device_id>/renew", methods=["POST"])
@blp.arguments(RenewSchema)
@blp.response(200, EnrolmentSchema)
@blp.doc(parameters=[PROTOCOL_PARAM])
def renew(data, device_id: int):
    """Sign an enrolled device in again when its token has expired: a new device token for the same device, so
    its outbox is kept. 403 device-revoked for a revoked or wiped device (it erases itself)."""
    check_protocol_version(request.headers.get(PROTOCOL_HEADER))
    enrolment = run_public(devices.renew, device_id, data["username"], data["password"])
    if enrolment is None:
        raise Unauthenticated("wrong username or password")
    return enrolment


@blp.route("", methods=["GET"])
@blp.arguments(DeviceQuerySchema, location="query")
@blp.response(200, DeviceSchema(many=True))
@blp.doc(security=BEARER)
def list_devices(query):
    """Enrolled devices with their status and last contact."""
    return run(devices.list_devices, query.get("officer_id"))


@blp.route("/<int:device_id>/revoke", methods=["POST"])
@blp.response(200, DeviceSchema)
@blp.doc(security=BEARER)
def revoke(device_id: int):
    """Revoke a device: at its next contact it is told to erase itself."""
    return run(devices.revoke, device_id)


@blp.route("/<int:device_id>/retire", methods=["POST"])
@blp.response(200, DeviceSchema)
@blp.doc(security=BEARER)
def retire(device_id: int):
    """Retire a device: it pushes everything pending, then erases itself."""
    return run(devices.retire, device_id)


@blp.route("/<int:device_id>/resync", methods=["POST"])
@blp.response(200, DeviceSchema)
@blp.doc(security=BEARER)
def resync(device_id: int):
    """Make the device rebuild its scope from scratch at its next pull."""
    return run(devices.request_resync, device_id)
