"""Clearly fictional demo data: a council's CME team with a few dozen cases in various states.

Every name, address and phone number here is invented ("Fictown", 01632 numbers are Ofcom's drama range).
"""
from __future__ import annotations

import random
from datetime import timedelta

from .domain.access import SYSTEM, Actor
from .domain.lifecycle import CaseStatus, Closure, CloseReason, TransitionRequest
from .domain.vocabulary import ReferralRoute, ReferralSource, Role, Situation
from .service import assignments, calendar, lifecycle, referrals
from .service.clock import today
from .service.users import add_user

DEMO_USERS = [  # username, display name, role, password (demo only; shown in the README)
    ("admin", "Ada Admin (demo)", Role.ADMIN, "demo-admin-password"),
    ("supervisor", "Sam Supervisor (demo)", Role.SUPERVISOR, "demo-supervisor-password"),
    ("officer1", "Olive Officer (demo)", Role.OFFICER, "demo-officer-password"),
    ("officer2", "Oscar Officer (demo)", Role.OFFICER, "demo-officer-password"),
    ("school", "Fictown Primary (demo referrer)", Role.REFERRER, "demo-referrer-password"),
    ("register", "Main register feed (demo)", Role.INTEGRATION, "demo-integration-password"),
]
FIRST = ["Alfie", "Bea", "Cosmo", "Dot", "Ezra", "Fern", "Gus", "Hattie", "Ivo", "Juno", "Kit", "Lark"]
LAST = ["Applewood", "Brambleby", "Cobblestone", "Dewdrop", "Elderflower", "Fiddlesticks", "Gingernut",
        "Hollyhock", "Inkwell", "Juniperwood"]
STREETS = ["Nowhere Crescent", "Imaginary Road", "Pretend Lane", "Makebelieve Close", "Fable Street"]

DEMO_TERMS = """academic_year,name,start,end
2025-26,Autumn 1,2025-09-03,2025-10-24
2025-26,Autumn 2,2025-11-03,2025-12-19
2025-26,Spring 1,2026-01-05,2026-02-13
2025-26,Spring 2,2026-02-23,2026-03-27
2025-26,Summer 1,2026-04-13,2026-05-22
2025-26,Summer 2,2026-06-01,2026-07-22
2026-27,Autumn 1,2026-09-02,2026-10-23
2026-27,Autumn 2,2026-11-02,2026-12-18
2026-27,Spring 1,2027-01-04,2027-02-12
2026-27,Spring 2,2027-02-22,2027-03-25
2026-27,Summer 1,2027-04-12,2027-05-28
2026-27,Summer 2,2027-06-07,2027-07-21
"""


def is_seeded(uow) -> bool:
    return uow.accounts.any_user()


def seed(uow, n_cases: int = 36, rng: random.Random | None = None) -> dict[str, int]:
    rng = rng or random.Random(2025)
    users = {u[0]: add_user(uow, SYSTEM, u[0], u[1], u[2], u[3]) for u in DEMO_USERS}
    # The fictional cases are the demo supervisor's story; the term dates are the council's data, loaded by no one.
    supervisor = Actor(users["supervisor"].id, Role.SUPERVISOR)
    calendar.load_term_dates(uow, SYSTEM, DEMO_TERMS, "csv")
    officers = [users["officer1"].id, users["officer2"].id]
    for i in range(n_cases):
        receipt = referrals.submit_referral(uow, supervisor, _referral(i, rng))
        _progress(uow, supervisor, receipt["case_id"], i, officers)
    return {name: u.id for name, u in users.items()}


def _referral(i: int, rng: random.Random) -> dict:
    dob = today() - timedelta(days=rng.randint(5 * 365 + 120, 15 * 365))
    absent = today() - timedelta(days=rng.randint(3, 60))
    child = {
        "first_name": FIRST[i % len(FIRST)], "last_name": LAST[i % len(LAST)], "dob": dob,
        "gender": rng.choice(["female", "male", None]), "cp": i % 11 == 0, "cin": i % 7 == 0,
        "current_address": {"line1": f"{i + 1} {STREETS[i % len(STREETS)]}", "line2": None,
                            "town": "Fictown", "postcode": f"ZZ{i % 9 + 1} {i % 10}AB"},
        "contact_phone": f"01632 960{i:03d}",
        "carers": [{"name": f"Pat {LAST[i % len(LAST)]}", "relationship": "parent",
                    "parental_responsibility": True, "phone": f"07700 900{i:03d}"}],
        "last_school_name": "Fictown Primary (fictional)", "first_day_of_absence": absent,
    }
    return {"child": child, "source": rng.choice(list(ReferralSource)).value,
            "route": rng.choice(list(ReferralRoute)).value, "situation": rng.choice(list(Situation)).value,
            "referrer_name": "Demo referrer"}


def _progress(uow, actor: Actor, case_id: int, i: int, officers: list[int]) -> None:
    """Spread the cases over the lifecycle so every state shows up in the demo."""
    stage = i % 6
    if stage == 0:
        return  # stays referred
    lifecycle.transition(uow, actor, case_id, None, TransitionRequest(CaseStatus.OPEN))
    if stage in (1, 2, 3):
        assignments.assign(uow, actor, case_id, officers[i % 2], today() + timedelta(days=7),
                           "Home visit: establish whether the child lives at the address")
    if stage == 3:
        lifecycle.transition(uow, actor, case_id, None, TransitionRequest(CaseStatus.AWAITING_SCHOOL_PLACE))
    elif stage == 4:
        lifecycle.transition(uow, actor, case_id, None, TransitionRequest(CaseStatus.UNTRACED))
    elif stage == 5:
        closure = Closure(CloseReason.ON_ROLL_AT_SCHOOL, school_name="Fictown Academy (fictional)",
                          on_roll_date=today() - timedelta(days=1))
        lifecycle.transition(uow, actor, case_id, None, TransitionRequest(CaseStatus.CLOSED, closure))


def case_count(uow) -> int:
    return uow.cases.count()


