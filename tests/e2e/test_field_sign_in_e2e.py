"""A device whose token expired signs in again against the real server (POST /api/devices/<id>/renew) and sends
the work it captured meanwhile; another officer cannot take it over."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.helpers import assign, create_case

from .field import Device, enquiries, sync_summary, with_op

pytestmark = pytest.mark.e2e


def _expire_device_tokens(uow, device_id: int) -> None:
    from server.adapters.access_models import ApiToken
    from server.service.clock import utcnow

    with uow.transaction() as unit:
        session = unit.session
        session.execute(update(ApiToken).where(ApiToken.device_id == device_id)
                        .values(expires_at=utcnow() - timedelta(hours=1)))


def test_expired_device_signs_in_again_and_sends_its_unsent_visit(live_server, client, accounts, uow, tmp_path):
    supervisor = accounts["supervisor"]
    case = create_case(client, supervisor)
    assign(client, supervisor, case["id"], accounts["officer"].id)
    device = Device(tmp_path / "officer-store", "officer")
    device_id = device.enrol(live_server.url)
    device.sync()
    visit_op, _ = device.visit(case["id"], "no_answer", "--notes", "captured while the sign-in ran out")
    _expire_device_tokens(uow, device_id)

    refused = device.run("sync")
    assert refused.returncode == 1 and "cme-field sign-in" in refused.stderr, refused
    assert device.outbox() == [visit_op]

    taken = device.run("sign-in", "--username", "officer2")  # right password, wrong officer
    assert taken.returncode == 1 and "Only the officer this device" in taken.stderr, taken
    assert device.run("sync").returncode == 1  # still signed out

    signed = device.ok("sign-in", "--username", "officer")
    assert "Work not yet sent: 1 operation(s), kept" in signed
    assert device.cases() == [case["id"]]
    assert sync_summary(device.sync()) == {"applied": 1}
    assert device.outbox() == []
    assert len(with_op(enquiries(client, supervisor, case["id"]), visit_op)) == 1
