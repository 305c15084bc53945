"""The consistency check folded into the pull (issue 8): `digest` and `count` on a pull request are compared with
the holdings the pull reads anyway; a mismatch answers the page as a resync order, as the check endpoint does."""
from sync.cursor import holdings_digest
from tests.helpers import assign, create_case
from tests.sync_helpers import enrol, pull_all


def _pull(client, device, **query):
    return client.get("/api/sync/pull", query_string={"limit": 100, **query}, headers=device["headers"])


def _synced(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    device = enrol(client, "officer")
    page, _ = pull_all(client, device)
    return device, page, [(c["id"], c["version"]) for c in page["cases"]]


def test_pull_with_the_right_digest_answers_match_and_the_page(client, accounts):
    device, page, held = _synced(client, accounts)
    resp = _pull(client, device, cursor=page["cursor"], digest=holdings_digest(held), count=1)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["check"] == {"match": True, "server_count": 1}
    assert body["resync"] is False and body["more"] is False and body["cases"] == []


def test_pull_with_a_wrong_digest_answers_match_false_and_changes_nothing(client, accounts):
    """A mismatch may be a pull delivered twice: the page is answered as usual, the device then asks `check`."""
    device, page, held = _synced(client, accounts)
    body = _pull(client, device, cursor=page["cursor"], digest=holdings_digest([]), count=0).get_json()
    assert body["check"] == {"match": False, "server_count": 1}
    assert body["resync"] is False and body["cases"] == [] and body["removed"] == []
    again = _pull(client, device, cursor=body["cursor"], digest=holdings_digest(held), count=1).get_json()
    assert again["check"] == {"match": True, "server_count": 1} and again["resync"] is False


def test_a_lost_pull_answer_is_caught_by_the_next_pulls_digest(client, accounts):
    """The server recorded a page the device never received: the device's digest no longer matches."""
    device, _, _ = _synced(client, accounts)
    first = _pull(client, device, digest=holdings_digest([]), count=0).get_json()  # a fresh start, answer lost
    assert first["check"]["match"] is False  # the server already holds one case for it


def test_pull_without_a_digest_answers_no_check(client, accounts):
    device, page, _ = _synced(client, accounts)
    assert "check" not in _pull(client, device, cursor=page["cursor"]).get_json()


def test_pull_with_a_malformed_digest_is_a_422_naming_the_field(client, accounts):
    device, page, _ = _synced(client, accounts)
    resp = _pull(client, device, cursor=page["cursor"], digest="not-hex", count=1)
    assert resp.status_code == 422 and resp.content_type.startswith("application/problem+json")
    assert "digest" in str(resp.get_json())


def test_pull_with_a_digest_but_no_count_is_a_422_naming_count(client, accounts):
    device, page, held = _synced(client, accounts)
    resp = _pull(client, device, cursor=page["cursor"], digest=holdings_digest(held))
    assert resp.status_code == 422 and "count" in str(resp.get_json())


def test_pull_with_a_negative_or_textual_count_is_a_422_not_a_500(client, accounts):
    device, page, held = _synced(client, accounts)
    for count in ("-1", "many", "1e999"):
        resp = _pull(client, device, cursor=page["cursor"], digest=holdings_digest(held), count=count)
        assert resp.status_code == 422 and "count" in str(resp.get_json()), count


def test_the_check_endpoint_still_answers_older_clients(client, accounts):
    device, _, held = _synced(client, accounts)
    ok = client.post("/api/sync/check", json={"digest": holdings_digest(held), "count": 1}, headers=device["headers"])
    assert ok.get_json() == {"match": True, "server_count": 1, "resync": False}
