"""Status changes: which transitions exist, what a refused one says, and the current place."""

from __future__ import annotations

import pytest

from issuer.credentials import issuance, status_changes, supersession
from issuer.errors import Conflict, ValidationFailed
from tests.conftest import PROGRAM
from tests.db.conftest import Domain

pytestmark = pytest.mark.db
ALLOWED = {
    ("active", "revoke"): "revoked", ("active", "suspend"): "suspended",
    ("suspended", "revoke"): "revoked", ("suspended", "reinstate"): "active",
    ("superseded", "revoke"): "revoked",
}


def _in_state(domain: Domain, state: str) -> str:
    row = issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test")
    if state == "suspended":
        status_changes.change_status(domain.session, domain.ctx, row.id, "suspend", "review", "test")
    elif state == "revoked":
        status_changes.change_status(domain.session, domain.ctx, row.id, "revoke", "fraud", "test")
    elif state == "superseded":
        supersession.renew(domain.session, domain.ctx, row.id, "test")
    return row.id


@pytest.mark.parametrize("state", ["active", "suspended", "revoked", "superseded"])
@pytest.mark.parametrize("action", ["revoke", "suspend", "reinstate"])
def test_every_transition_is_allowed_or_refused_naming_the_current_state(
    domain: Domain, state: str, action: str
) -> None:
    credential_id = _in_state(domain, state)
    reason = None if action == "reinstate" else "a reason"
    if (state, action) in ALLOWED:
        row = status_changes.change_status(domain.session, domain.ctx, credential_id, action, reason, "test")
        assert row.status == ALLOWED[(state, action)]
    else:
        with pytest.raises(Conflict) as refused:
            status_changes.change_status(domain.session, domain.ctx, credential_id, action, reason, "test")
        assert refused.value.extensions["current_status"] == state


def test_revoking_frees_the_place_and_suspending_keeps_it(domain: Domain) -> None:
    person = domain.enrol()
    row = issuance.issue(domain.session, domain.ctx, person, PROGRAM, "test")
    status_changes.change_status(domain.session, domain.ctx, row.id, "suspend", "review", "test")
    assert row.is_current is True
    with pytest.raises(Conflict):
        issuance.issue(domain.session, domain.ctx, person, PROGRAM, "test")
    domain.session.rollback()
    status_changes.change_status(domain.session, domain.ctx, row.id, "revoke", "fraud", "test")
    assert row.is_current is None
    assert issuance.issue(domain.session, domain.ctx, person, PROGRAM, "test").is_current is True


def test_a_reason_that_names_a_category_is_taken_as_the_public_category(domain: Domain) -> None:
    credential_id = _in_state(domain, "active")
    row = status_changes.change_status(domain.session, domain.ctx, credential_id, "revoke", "Issued in error",
                                       "test")
    assert row.status_category == "issued_in_error"
    with pytest.raises(ValidationFailed):
        status_changes.change_status(domain.session, domain.ctx, _in_state(domain, "active"), "revoke", "x",
                                     "test", category="made-up")


def test_the_public_record_names_the_successor_and_never_the_private_reason(domain: Domain) -> None:
    old = _in_state(domain, "active")
    new = supersession.renew(domain.session, domain.ctx, old, "test", reason="private words")
    record = status_changes.public_status(domain.session, domain.ctx, old)
    assert record["status"] == "superseded" and record["current"]["id"] == new.id
    assert "private words" not in str(record)
    status_changes.change_status(domain.session, domain.ctx, new.id, "suspend", "board letter", "test",
                                 category="license_action", note="secret note")
    suspended = status_changes.public_status(domain.session, domain.ctx, new.id)
    assert suspended["category"] == "license_action"
    assert "board letter" not in str(suspended) and "secret note" not in str(suspended)
