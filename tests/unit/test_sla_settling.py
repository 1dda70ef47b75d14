from services.sla.settling import Settlement, runs
from shared.events import SlaStage
from tests.unit.factories import CASE_ID, make_breached, make_claimed, make_resolved, make_responded, make_suspended

CASE = str(CASE_ID)


def test_a_claim_settles_accept_and_the_other_endings_both_stages():
    assert Settlement.of(make_claimed(2)) == Settlement(CASE, 2, (SlaStage.ACCEPT,))
    assert Settlement.of(make_resolved(2)).stages == (SlaStage.ACCEPT, SlaStage.RESPOND)


def test_settlements_run_together_until_a_suspension_which_comes_alone_in_its_place():
    suspended = make_suspended(1)
    batch = [make_claimed(1), make_breached(1), make_responded(1), suspended, make_resolved(1)]

    assert list(runs(batch)) == [[Settlement.of(batch[0]), Settlement.of(batch[2])], suspended,
                                 [Settlement.of(batch[4])]]
