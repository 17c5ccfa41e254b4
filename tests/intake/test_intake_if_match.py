"""Optimistic concurrency on JSON referrals: GET and every write answer the case's ETag
(W/"<revision>", W/"<revision>-cancelled" once cancelled), and a PUT or DELETE carrying
If-Match applies only to the version it names.
Without it, a client that read revision 1 and sent its change after someone else's revision 2
silently overwrote that revision (lost update)."""

from __future__ import annotations

from tests.intake.intake_fakes import bearer, running_intake
from tests.unit.intake.intake_builders import referral_body

NORTH = bearer("ref-north-gp")


def test_a_put_with_an_old_if_match_is_412_and_writes_nothing() -> None:
    with running_intake() as (client, log):
        case_id = client.post("/referrals", json=referral_body(), headers=NORTH).json()["case_id"]
        read = client.get(f"/referrals/{case_id}", headers=NORTH)
        assert read.headers["ETag"] == 'W/"1"'
        other = client.put(f"/referrals/{case_id}", json=referral_body(age=53),
                           headers=NORTH | {"If-Match": read.headers["ETag"]})
        assert other.status_code == 202 and other.headers["ETag"] == 'W/"2"'
        written = len(log.records)
        stale = client.put(f"/referrals/{case_id}", json=referral_body(age=60),
                           headers=NORTH | {"If-Match": read.headers["ETag"]})
        assert stale.status_code == 412, stale.text
        assert stale.headers["content-type"].startswith("application/problem+json")
        assert 'W/"2"' in stale.json()["detail"] and len(log.records) == written
        stale_cancel = client.delete(f"/referrals/{case_id}", headers=NORTH | {"If-Match": '"1"'})
        assert stale_cancel.status_code == 412 and len(log.records) == written
        # The retry of the update that was stored replays, whatever its If-Match says now.
        retry = client.put(f"/referrals/{case_id}", json=referral_body(age=53),
                           headers=NORTH | {"If-Match": 'W/"1"'})
        assert retry.status_code == 200 and retry.json()["revision"] == 2
        current = client.put(f"/referrals/{case_id}", json=referral_body(age=60),
                             headers=NORTH | {"If-Match": 'W/"2", W/"9"'})
        assert current.status_code == 202 and current.json()["revision"] == 3
        anything = client.post(f"/referrals/{case_id}/cancel", headers=NORTH | {"If-Match": "*"})
        assert anything.status_code == 202 and anything.json()["status"] == "cancelled"


def test_a_cancel_changes_the_etag_so_a_change_based_on_the_open_case_is_412() -> None:
    """The tag was the revision alone, and a cancel keeps the revision: a client holding the
    open case's ETag had its PUT judged on the case's state (409 case-closed) instead of its
    precondition (412), and could not tell from the tag that the case had changed."""
    with running_intake() as (client, log):
        case_id = client.post("/referrals", json=referral_body(), headers=NORTH).json()["case_id"]
        opened = client.get(f"/referrals/{case_id}", headers=NORTH).headers["ETag"]
        cancelled = client.delete(f"/referrals/{case_id}", headers=NORTH | {"If-Match": opened})
        assert cancelled.status_code == 202, cancelled.text
        now = client.get(f"/referrals/{case_id}", headers=NORTH).headers["ETag"]
        assert now != opened and cancelled.headers["ETag"] == now
        written = len(log.records)
        stale = client.put(f"/referrals/{case_id}", json=referral_body(age=60),
                           headers=NORTH | {"If-Match": opened})
        assert stale.status_code == 412, stale.text
        assert now in stale.json()["detail"]
        # The tag the service issued is accepted: the PUT is then judged on the case (closed).
        current = client.put(f"/referrals/{case_id}", json=referral_body(age=60),
                             headers=NORTH | {"If-Match": now})
        assert current.status_code == 409 and current.json()["type"].endswith("case-closed")
        # A repeated cancel replays whichever tag it carries: the change it asks for is made.
        for tag in (opened, now):
            again = client.post(f"/referrals/{case_id}/cancel", headers=NORTH | {"If-Match": tag})
            assert again.status_code == 200 and again.headers["ETag"] == now
        assert len(log.records) == written
