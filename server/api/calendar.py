"""/api/calendar: term dates (loaded by an admin) and compulsory school age for a date of birth."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v
from flask_smorest import Blueprint

from ..domain.access import Permission, require
from ..domain.errors import InvalidInput
from ..domain.school_age import compulsory_school_age
from ..service import calendar
from ..service.clock import today
from .requests import BEARER, run

blp = Blueprint("calendar", __name__, url_prefix="/api/calendar", description="The statutory calendar")


class TermDatesUploadSchema(ma.Schema):
    format = f.String(required=True, validate=v.OneOf(["csv", "json"]))
    content = f.String(required=True, validate=v.Length(1, 200_000))


class TermSchema(ma.Schema):
    academic_year = f.String()
    name = f.String()
    start = f.Date()
    end = f.Date()


class TermQuerySchema(ma.Schema):
    academic_year = f.String(validate=v.Regexp(r"^\d{4}-\d{2}$"))


class SchoolAgeQuerySchema(ma.Schema):
    dob = f.Date(required=True)


class SchoolAgeForDobSchema(ma.Schema):
    dob = f.Date()
    starts = f.Date()
    ends = f.Date()
    applies_today = f.Boolean()


@blp.route("/term-dates", methods=["PUT"])
@blp.arguments(TermDatesUploadSchema)
@blp.response(200, TermSchema(many=True))
@blp.doc(security=BEARER)
def load_term_dates(data):
    """Load term dates (CSV or JSON) for one or more academic years, replacing those years."""
    return run(calendar.load_term_dates, data["content"], data["format"])


@blp.route("/term-dates", methods=["GET"])
@blp.arguments(TermQuerySchema, location="query")
@blp.response(200, TermSchema(many=True))
@blp.doc(security=BEARER)
def list_term_dates(query):
    """The loaded term dates."""
    return run(calendar.list_terms, query.get("academic_year"))


def _school_age(uow, actor, dob):
    require(actor, Permission.READ_CALENDAR)
    if dob.year < 1900 or dob.year > 2100:
        raise InvalidInput("date of birth out of range", field="dob")
    age = compulsory_school_age(dob)
    return {"dob": dob, "starts": age.starts, "ends": age.ends, "applies_today": age.applies_on(today())}


@blp.route("/school-age", methods=["GET"])
@blp.arguments(SchoolAgeQuerySchema, location="query")
@blp.response(200, SchoolAgeForDobSchema)
@blp.doc(security=BEARER)
def school_age(query):
    """Compulsory school age (Education Act 1996 s.8) for a date of birth."""
    return run(_school_age, query["dob"])
