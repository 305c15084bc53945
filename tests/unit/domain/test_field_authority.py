"""Who may change which case fields (issue 7 item 3): one rule for PATCH and for sync field edits."""
from __future__ import annotations

import pytest

from server.domain.access import SUPERVISOR_ONLY_FIELDS, Actor, require_field_authority
from server.domain.errors import Forbidden
from server.domain.vocabulary import Role
from sync.conflicts import is_editable

OFFICER, SUPERVISOR, ADMIN = Actor(1, Role.OFFICER), Actor(2, Role.SUPERVISOR), Actor(3, Role.ADMIN)


@pytest.mark.parametrize("path", ["cin", "cp", "cic", "dob", "first_day_of_absence", "first_name", "last_name",
                                  "upn", "carers", "social_worker", "referral_accepted_on"])
def test_officer_changing_a_field_a_device_may_not_propose_is_refused_naming_it(path):
    with pytest.raises(Forbidden) as refused:
        require_field_authority(OFFICER, {"contact_phone": "01632 960000", path: None})
    assert refused.value.field == path


@pytest.mark.parametrize("path", ["current_address", "contact_phone", "contact_email", "carers.12.phone"])
def test_officer_changing_what_a_device_may_propose_is_allowed(path):
    require_field_authority(OFFICER, {path: None})


@pytest.mark.parametrize("path", sorted(SUPERVISOR_ONLY_FIELDS))
def test_admin_changing_a_safeguarding_or_statutory_field_is_refused_a_supervisor_may(path):
    with pytest.raises(Forbidden) as refused:
        require_field_authority(ADMIN, [path])
    assert (refused.value.field, refused.value.rule) == (path, "field-edit:supervisor-only")
    require_field_authority(SUPERVISOR, [path])


def test_no_supervisor_only_field_is_on_the_sync_allow_list():
    assert [p for p in SUPERVISOR_ONLY_FIELDS if is_editable(p)] == []
