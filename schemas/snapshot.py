"""What a device holds about one case: the least data an officer needs on the doorstep.

Loaded by the client with unknown keys excluded, so a field the server adds later never lands on a device that
does not know it.
"""

from __future__ import annotations

from datetime import timezone

from marshmallow import EXCLUDE, Schema, fields, validate

MAX_RECENT_ENQUIRIES = 10


class _DeviceSchema(Schema):
    class Meta:
        unknown = EXCLUDE


class ChildSchema(_DeviceSchema):
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    preferred_name = fields.String(allow_none=True, load_default=None)
    dob = fields.Date(required=True)
    gender = fields.String(allow_none=True, load_default=None)


class AddressSchema(_DeviceSchema):
    line1 = fields.String(required=True)
    line2 = fields.String(allow_none=True, load_default=None)
    town = fields.String(allow_none=True, load_default=None)
    postcode = fields.String(required=True)


class CarerSchema(_DeviceSchema):
    id = fields.Integer(strict=True, required=True)
    name = fields.String(required=True)
    relationship = fields.String(allow_none=True, load_default=None)
    parental_responsibility = fields.Boolean(required=True)
    phone = fields.String(allow_none=True, load_default=None)
    email = fields.String(allow_none=True, load_default=None)


class LastSchoolSchema(_DeviceSchema):
    name = fields.String(required=True)
    on_roll = fields.Date(allow_none=True, load_default=None)
    off_roll = fields.Date(allow_none=True, load_default=None)


class SafeguardingSchema(_DeviceSchema):
    cp = fields.Boolean(required=True, metadata={"description": "Child protection plan"})
    cin = fields.Boolean(required=True, metadata={"description": "Child in need"})
    cic = fields.Boolean(required=True, metadata={"description": "Child in care"})


class AssignmentSchema(_DeviceSchema):
    id = fields.Integer(strict=True, required=True)
    due = fields.Date(allow_none=True, load_default=None)
    instructions = fields.String(allow_none=True, load_default=None)
    acknowledged = fields.Boolean(required=True)


class RecentEnquirySchema(_DeviceSchema):
    kind = fields.String(required=True, metadata={"description": "home_visit, address_check, partner_check, letter"})
    at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)
    outcome = fields.String(allow_none=True, load_default=None)
    summary = fields.String(allow_none=True, load_default=None)


class CaseSnapshotSchema(_DeviceSchema):
    id = fields.Integer(strict=True, required=True)
    version = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    reference = fields.String(required=True)
    status = fields.String(required=True)
    child = fields.Nested(ChildSchema, required=True)
    current_address = fields.Nested(AddressSchema, allow_none=True, load_default=None)
    contact_phone = fields.String(allow_none=True, load_default=None)
    contact_email = fields.String(allow_none=True, load_default=None)
    carers = fields.List(fields.Nested(CarerSchema), load_default=list)
    last_school = fields.Nested(LastSchoolSchema, allow_none=True, load_default=None)
    safeguarding = fields.Nested(SafeguardingSchema, required=True)
    assignment = fields.Nested(AssignmentSchema, required=True)
    recent_enquiries = fields.List(
        fields.Nested(RecentEnquirySchema),
        load_default=list,
        validate=validate.Length(max=MAX_RECENT_ENQUIRIES),
        metadata={"description": f"Newest first, at most {MAX_RECENT_ENQUIRIES}"},
    )
