"""Status changes flip only the bits they change, from the list's signed bits: every
published list always equals the derivation from credential statuses, a list none of
whose bits changed keeps its token, and a list whose stored bits are wrong is re-derived."""

from __future__ import annotations

import random

import pytest
from flask import Flask
from sqlalchemy import select

from issuer.credentials import issuance, signing_keys, status_changes, status_lists, supersession
from issuer.errors import Conflict
from issuer.runtime import Runtime
from issuer.store.models import Credential, StatusEntry, StatusList
from tests.conftest import PROGRAM
from tests.db.conftest import Domain
from vc import jose
from vc.status_list import BitstringStatusList, max_list_token_chars, read_list_credential

pytestmark = pytest.mark.db
#: Written out here, not imported: the test's own statement of which status sets which bit.
FLAG = {"revocation": "revoked", "suspension": "suspended", "refresh": "superseded"}


def derived(domain: Domain) -> dict[str, set[int]]:
    """Every list's set indexes, as the credential statuses say they should be."""
    lists = {s.id: s.purpose for s in domain.session.scalars(select(StatusList))}
    expected: dict[str, set[int]] = {list_id: set() for list_id in lists}
    rows = domain.session.execute(
        select(StatusEntry.list_id, StatusEntry.index, Credential.status)
        .join(Credential, Credential.id == StatusEntry.credential_id))
    for list_id, index, status in rows:
        if status == FLAG[lists[list_id]]:
            expected[list_id].add(index)
    return expected


def published(domain: Domain) -> dict[str, set[int]]:
    """Every list's set indexes as its stored token says, after checking the token's
    signature against the published keys and its shape as a verifier does."""
    keys = {k["kid"]: jose.jwk_to_key(k)
            for k in signing_keys.published_jwks(domain.session, domain.ctx)["keys"]}
    found = {}
    for status_list in domain.session.scalars(select(StatusList)):
        verified = jose.verify(status_list.token, typ="vc+jwt", algorithms=["ES256", "EdDSA"],
                               key_for=keys.get, max_chars=max_list_token_chars(status_list.size))
        url = domain.ctx.list_url(status_list.purpose, status_list.id)
        parsed = read_list_credential(verified.payload, list_url=url)
        assert parsed.purposes == (status_list.purpose,)
        found[status_list.id] = set(parsed.bits.set_indexes())
    return found


def tokens(domain: Domain) -> dict[str, str]:
    rows = domain.session.execute(select(StatusList.id, StatusList.token))
    return {list_id: token for list_id, token in rows}


def lists_of(row: Credential) -> dict[str, str]:
    """The credential's list id per purpose."""
    return {entry.purpose: entry.list_id for entry in row.entries}


@pytest.mark.parametrize("seed", [20261202, 7])
def test_random_lifecycles_keep_every_list_equal_to_the_derivation_and_resign_only_changed_lists(
    domain: Domain, seed: int
) -> None:
    rng = random.Random(seed)
    ids = [issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test").id for _ in range(5)]
    done: set[str] = set()
    for _ in range(45):
        action = rng.choice(["issue", "suspend", "suspend", "reinstate", "reinstate", "revoke", "renew",
                             "reissue"])
        target = rng.choice(ids)
        bits_before, tokens_before = derived(domain), tokens(domain)
        domain.clock.advance(seconds=1)  # a re-signed list would differ in its dates, too
        try:
            if action == "issue":
                ids.append(issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test").id)
            elif action in ("suspend", "reinstate", "revoke"):
                reason = None if action == "reinstate" else "a reason"
                status_changes.change_status(domain.session, domain.ctx, target, action, reason, "test")
            elif action == "renew":
                ids.append(supersession.renew(domain.session, domain.ctx, target, "test").id)
            else:
                ids.append(supersession.reissue(domain.session, domain.ctx, target, "test", "typo").id)
        except Conflict:
            domain.session.rollback()
            continue
        done.add(action)
        bits_after, tokens_after = derived(domain), tokens(domain)
        assert published(domain) == bits_after, f"after {action}"
        for list_id, token in tokens_before.items():
            if bits_before[list_id] == bits_after[list_id]:
                assert tokens_after[list_id] == token, f"{action} re-signed an unchanged list"
            else:
                assert tokens_after[list_id] != token, f"{action} changed bits of a list it did not re-sign"
    assert done >= {"issue", "suspend", "reinstate", "revoke", "renew", "reissue"}, done
    assert any(derived(domain).values()), "some bits ended up set"


def test_revoking_an_active_credential_resigns_only_its_revocation_list(domain: Domain) -> None:
    row = issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test")
    before = tokens(domain)
    domain.clock.advance(seconds=1)
    status_changes.change_status(domain.session, domain.ctx, row.id, "revoke", "fraud", "test")
    after = tokens(domain)
    places = lists_of(row)
    assert after[places["revocation"]] != before[places["revocation"]]
    assert {k: v for k, v in after.items() if k != places["revocation"]} == \
        {k: v for k, v in before.items() if k != places["revocation"]}
    mine = {e.index for e in row.entries if e.purpose == "revocation"}
    assert published(domain)[places["revocation"]] == mine


def test_revoking_a_suspended_credential_resigns_revocation_and_suspension(domain: Domain) -> None:
    row = issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test")
    status_changes.change_status(domain.session, domain.ctx, row.id, "suspend", "review", "test")
    before = tokens(domain)
    domain.clock.advance(seconds=1)
    status_changes.change_status(domain.session, domain.ctx, row.id, "revoke", "fraud", "test")
    after = tokens(domain)
    places = lists_of(row)
    assert {k for k in after if after[k] != before[k]} == {places["revocation"], places["suspension"]}
    assert published(domain) == derived(domain)


def test_a_reissue_of_a_suspended_credential_sets_the_successors_suspension_bit(domain: Domain) -> None:
    old = issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test")
    status_changes.change_status(domain.session, domain.ctx, old.id, "suspend", "review", "test")
    new = supersession.reissue(domain.session, domain.ctx, old.id, "test", "typo")
    assert new.status == "suspended"
    bits = published(domain)
    assert bits == derived(domain)
    mine = {(e.purpose, e.index) for e in new.entries}
    suspension = lists_of(new)["suspension"]
    assert {i for p, i in mine if p == "suspension"} <= bits[suspension]


def _store_bits(domain: Domain, list_id: str, indexes: set[int]) -> None:
    """Sign ``indexes`` as the list's bits, whatever the credentials say (a drifted list)."""
    status_list = domain.session.get(StatusList, list_id)
    assert status_list is not None
    status_lists._store_signed(domain.ctx, status_list,  # noqa: SLF001 (drift on purpose)
                               BitstringStatusList.with_set(indexes, status_list.size))
    domain.session.commit()


def test_a_list_whose_stored_bit_is_not_what_the_previous_status_says_is_rederived(domain: Domain) -> None:
    rows = [issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test") for _ in range(3)]
    status_changes.change_status(domain.session, domain.ctx, rows[0].id, "revoke", "fraud", "test")
    revocation = lists_of(rows[1])["revocation"]
    index_of = {r.id: next(e.index for e in r.entries if e.purpose == "revocation") for r in rows}
    # The stored list lost rows[0]'s bit and already holds rows[1]'s, which is active.
    _store_bits(domain, revocation, {index_of[rows[1].id]})
    status_changes.change_status(domain.session, domain.ctx, rows[1].id, "revoke", "fraud", "test")
    assert published(domain)[revocation] == {index_of[rows[0].id], index_of[rows[1].id]} \
        == derived(domain)[revocation]


@pytest.mark.parametrize("token", ["", "not a token", "wrong-url"])
def test_a_list_whose_token_cannot_give_its_bits_is_rederived(domain: Domain, token: str) -> None:
    rows = [issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test") for _ in range(2)]
    status_changes.change_status(domain.session, domain.ctx, rows[0].id, "revoke", "fraud", "test")
    revocation = lists_of(rows[1])["revocation"]
    status_list = domain.session.get(StatusList, revocation)
    assert status_list is not None
    if token == "wrong-url":  # a list signed for another issuer URL (or list) holds no bits of ours
        other = domain.session.scalars(select(StatusList).where(StatusList.purpose == "suspension")).first()
        assert other is not None
        token = other.token
    status_list.token = token
    domain.session.commit()
    status_changes.change_status(domain.session, domain.ctx, rows[1].id, "revoke", "fraud", "test")
    assert published(domain) == derived(domain)
    assert len(published(domain)[revocation]) == 2


def test_the_daily_resigning_puts_a_drifted_list_right(domain: Domain) -> None:
    row = issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test")
    status_changes.change_status(domain.session, domain.ctx, row.id, "revoke", "fraud", "test")
    revocation = lists_of(row)["revocation"]
    _store_bits(domain, revocation, {1, 2, 3})
    domain.clock.advance(days=2)
    status_lists.resign_list(domain.session, domain.ctx, revocation)
    assert published(domain) == derived(domain)


def test_a_change_flips_from_the_list_as_committed_not_from_a_copy_the_session_held(
    domain: Domain, issuer_app: Flask
) -> None:
    rows = [issuance.issue(domain.session, domain.ctx, domain.enrol(), PROGRAM, "test") for _ in range(2)]
    revocation = lists_of(rows[0])["revocation"]
    assert lists_of(rows[1])["revocation"] == revocation
    held = domain.session.get(StatusList, revocation)  # this session now holds a copy of the list ...
    assert held is not None and not published(domain)[revocation]
    domain.session.commit()
    rt: Runtime = issuer_app.extensions["issuer"]
    with rt.sessions() as other:  # ... which another process's revocation makes stale
        status_changes.change_status(other, rt.current_ctx(), rows[0].id, "revoke", "fraud", "test")
    status_changes.change_status(domain.session, domain.ctx, rows[1].id, "revoke", "fraud", "test")
    both = {next(e.index for e in r.entries if e.purpose == "revocation") for r in rows}
    assert published(domain)[revocation] == both == derived(domain)[revocation]
