"""Password checks and the lock-out after five failures in a row (engine.services.users.check_password)."""

from __future__ import annotations

from datetime import timedelta

from engine import Engine, ManualClock
from engine.passwords import hash_password
from engine.services.users import check_password


def test_lock_out_after_five_failures_and_what_each_attempt_reports(engine: Engine, clock: ManualClock) -> None:
    engine.add_user("signer", ["cs_rep"], password_hash=hash_password("right one"))

    def attempt(password: str) -> tuple[str | None, object]:
        with engine.transaction() as session:
            check = check_password(session, " signer ", password, clock.now())
            return check.username, check.locked_until

    assert attempt("right one") == ("signer", None)
    assert [attempt("wrong") for _ in range(4)] == [(None, None)] * 4
    locked_until = clock.now() + timedelta(minutes=15)
    assert attempt("wrong") == (None, locked_until)         # the fifth locks
    assert attempt("right one") == (None, locked_until)     # even the right password, while locked
    clock.advance(minutes=16)
    assert attempt("wrong") == (None, None)                 # an expired lock is not reported as a lock
    assert attempt("right one") == ("signer", None)
    with engine.transaction() as session:
        assert check_password(session, "nobody", "x", clock.now()).username is None
