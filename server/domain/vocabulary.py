"""The policy's own words as enumerations: referral sources and routes, situations, risk factors, groups."""
from __future__ import annotations

from enum import StrEnum


class ReferralSource(StrEnum):
    SCHOOL = "school"
    HEALTH = "health"
    POLICE = "police"
    SOCIAL_CARE = "social_care"
    EARLY_HELP = "early_help"
    VIRTUAL_SCHOOL = "virtual_school"
    ADMISSIONS = "admissions"
    EXCLUSIONS_OFFICER = "exclusions_officer"
    EHE_TEAM = "ehe_team"
    ESTATE_OR_LETTING_AGENT = "estate_or_letting_agent"
    PUBLIC = "public"
    OTHER_LA = "other_la"


class ReferralRoute(StrEnum):
    FORM = "form"
    PHONE = "phone"
    FACE_TO_FACE = "face_to_face"
    EMAIL = "email"


class Situation(StrEnum):
    """Why the child came to the CME team; the value names the policy section."""

    IN_AREA_WITHOUT_PLACE = "in_area_without_place"  # §10
    LEFT_SCHOOL_NO_FORWARDING_SCHOOL = "left_school_no_forwarding_school"  # §11
    PLACE_NOT_TAKEN_UP = "place_not_taken_up"  # §6.8
    EHE_NOT_ENGAGING = "ehe_not_engaging"  # §7.3.7
    EXCLUDED_NOT_ATTENDING = "excluded_not_attending"  # §8.2
    REFUSED_PLACE_OR_TRANSITION = "refused_place_or_transition"  # §4.9


SITUATION_POLICY = {
    Situation.IN_AREA_WITHOUT_PLACE: "§10",
    Situation.LEFT_SCHOOL_NO_FORWARDING_SCHOOL: "§11",
    Situation.PLACE_NOT_TAKEN_UP: "§6.8",
    Situation.EHE_NOT_ENGAGING: "§7.3.7",
    Situation.EXCLUDED_NOT_ATTENDING: "§8.2",
    Situation.REFUSED_PLACE_OR_TRANSITION: "§4.9",
}


class RiskFactor(StrEnum):
    """§3.1: factors that increase the risk of a child becoming CME."""

    NOT_REGISTERED_AT_START = "not_registered_at_start"  # 3.1.1
    NOT_REGISTERED_AT_TRANSITION = "not_registered_at_transition"  # 3.1.2
    TRANSFERRING_BETWEEN_LAS = "transferring_between_las"  # 3.1.3
    MOVING_ABROAD = "moving_abroad"  # 3.1.4
    FREQUENT_MOVES_OR_HOMELESSNESS = "frequent_moves_or_homelessness"  # 3.1.5
    FAMILY_BREAKDOWN = "family_breakdown"  # 3.1.6
    WITHDRAWAL_ATTEMPT = "withdrawal_attempt"  # 3.1.7
    OFF_ROLLING = "off_rolling"  # 3.1.8
    SUSPENSION_OR_EXCLUSION = "suspension_or_exclusion"  # 3.1.9
    UNREGISTERED_HOME_EDUCATION = "unregistered_home_education"  # 3.1.10


class VulnerableGroup(StrEnum):
    """§3.2: groups more likely to be affected."""

    CHILD_IN_CARE = "child_in_care"
    CHILD_PROTECTION_PLAN = "child_protection_plan"
    MISSING_PERSON = "missing_person"
    REFUGEE_OR_ASYLUM_SEEKER = "refugee_or_asylum_seeker"
    GYPSY_ROMA_TRAVELLER = "gypsy_roma_traveller"
    UNACCOMPANIED_MINOR = "unaccompanied_minor"
    DOMESTIC_VIOLENCE_OR_TOXIC_TRIO = "domestic_violence_or_toxic_trio"
    SEN = "sen"
    MIGRANT_FAMILY = "migrant_family"
    YOUNG_CARER = "young_carer"
    ATTENDANCE_DIFFICULTIES = "attendance_difficulties"


class SenStatus(StrEnum):
    NONE = "none"
    SEN_SUPPORT = "sen_support"
    EHCP = "ehcp"


class EnquiryKind(StrEnum):
    HOME_VISIT = "home_visit"
    ADDRESS_CHECK = "address_check"
    PARTNER_CHECK = "partner_check"
    LETTER = "letter"


class Role(StrEnum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    REFERRER = "referrer"
    INTEGRATION = "integration"
