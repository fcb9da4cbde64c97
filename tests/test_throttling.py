"""Sign-in throttling that cannot be turned against the account's owner: lockout per account and address, a
slowdown per account that spares the addresses the owner signed in from, exact limits under concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from tests.helpers import count_rows, text
from tracker.auth import service
from tracker.auth.service import SignInLimits, authenticate
from tracker.errors import InvalidInput, Throttled
from tracker.extensions import db
from tracker.models import SignInAddress, SignInFailure, utcnow

STRANGER = "203.0.113.9"
OWNER = "198.51.100.4"


def attempt(client, password: str, address: str, email: str = "grace@example.com"):
    """POST the sign-in form from `address`."""
    return client.post("/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address})


def test_a_strangers_failures_lock_only_the_stranger_out(client, make_user):
    make_user(email="grace@example.com")
    for _ in range(5):
        assert attempt(client, "guess", STRANGER).status_code == 422
    blocked = attempt(client, PASSWORD, STRANGER)
    assert blocked.status_code == 429 and "Too many failed sign-in attempts. Try again in 15 minutes." in text(blocked)
    assert 890 <= int(blocked.headers["Retry-After"]) <= 900
    assert attempt(client, PASSWORD, OWNER).status_code == 303, "the owner, elsewhere, signs in as usual"


def test_retry_after_counts_down_to_when_the_oldest_failure_leaves_the_window(client, make_user):
    make_user(email="grace@example.com")
    now = utcnow()
    for minutes_ago in (12, 10, 9, 8, 1):
        failed_at = now - timedelta(minutes=minutes_ago)
        db.session.add(SignInFailure(email="grace@example.com", address=STRANGER, failed_at=failed_at))
    db.session.commit()
    response = attempt(client, PASSWORD, STRANGER)
    assert response.status_code == 429 and "Try again in 3 minutes." in text(response)
    assert 170 <= int(response.headers["Retry-After"]) <= 180


def test_many_failures_from_everywhere_slow_down_new_addresses_but_not_known_ones(app, client, make_user):
    app.config["SIGNIN_SLOWDOWN_AFTER"] = 3
    make_user(email="grace@example.com")
    assert attempt(client, PASSWORD, OWNER).status_code == 303, "the owner signs in once from their address"
    assert count_rows(SignInAddress) == 1
    client.post("/logout")
    for n in range(3):  # a botnet: one failure from each address, far under the per-address limit
        assert attempt(client, "guess", f"192.0.2.{n}").status_code == 422
    slowed = attempt(client, PASSWORD, "192.0.2.200")
    assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "1"
    assert "This account had many failed sign-in attempts; try again in 1 second." in text(slowed)
    assert attempt(client, PASSWORD, OWNER).status_code == 303, "the owner's own address is never slowed down"
    assert count_rows(SignInFailure) == 3, "the slowed attempt was not checked nor counted"


def test_the_slowdown_doubles_with_each_failure_up_to_the_window(app, client, make_user):
    app.config["SIGNIN_SLOWDOWN_AFTER"] = 3
    make_user(email="grace@example.com")
    now = utcnow()
    for failures, delay in ((3, 1), (4, 2), (6, 8), (13, 900), (30, 900)):
        db.session.execute(sa.delete(SignInFailure))
        db.session.add_all(
            SignInFailure(email="grace@example.com", address=f"192.0.2.{n}", failed_at=now) for n in range(failures)
        )
        db.session.commit()
        response = attempt(client, PASSWORD, "198.18.0.1")
        assert response.status_code == 429 and abs(int(response.headers["Retry-After"]) - delay) <= 1, failures


def test_an_address_trusted_long_ago_is_slowed_like_any_other(app, client, make_user):
    app.config.update(SIGNIN_SLOWDOWN_AFTER=3, SIGNIN_TRUSTED_DAYS=30)
    grace = make_user(email="grace@example.com")
    db.session.add(SignInAddress(user_id=grace.id, address=OWNER, last_success_at=utcnow() - timedelta(days=31)))
    db.session.add_all(SignInFailure(email=grace.email, address=f"192.0.2.{n}", failed_at=utcnow()) for n in range(3))
    db.session.commit()
    assert attempt(client, PASSWORD, OWNER).status_code == 429


def test_a_right_password_clears_only_its_own_addresses_failures(client, make_user):
    make_user(email="grace@example.com")
    for address in (STRANGER, OWNER, OWNER):
        attempt(client, "guess", address)
    assert attempt(client, PASSWORD, OWNER).status_code == 303
    left = db.session.execute(sa.select(SignInFailure.address)).scalars().all()
    assert left == [STRANGER]


def test_forty_attempts_at_once_check_no_more_than_the_limit(app, make_user, monkeypatch):
    """40 wrong passwords at the same moment, for one account from one address: exactly 5 are checked."""
    make_user(email="grace@example.com")
    limits = SignInLimits.from_config(app.config)
    checked: list[int] = []
    real_check = service.check_password_hash

    def counting_check(hash_, password):
        checked.append(1)
        return real_check(hash_, password)

    monkeypatch.setattr(service, "check_password_hash", counting_check)
    start = threading.Barrier(40)
    outcomes: list[str] = []
    lock = threading.Lock()

    def sign_in() -> None:
        with app.app_context():
            start.wait()
            try:
                authenticate(db.session, "grace@example.com", "wrong", STRANGER, limits)
                outcome = "signed in"
            except InvalidInput:
                outcome = "wrong"
            except Throttled:
                outcome = "throttled"
            except Exception as exc:  # reported, not hidden in a thread
                outcome = f"{type(exc).__name__}: {exc}"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=sign_in) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(outcomes)) == ["throttled", "wrong"], outcomes
    assert (outcomes.count("wrong"), outcomes.count("throttled"), len(checked)) == (5, 35, 5)
    db.session.rollback()
    assert count_rows(SignInFailure) == 5


@pytest.mark.parametrize("address_limit", [3])
def test_one_address_trying_many_accounts_is_locked_out(app, client, make_user, address_limit):
    app.config["SIGNIN_MAX_FAILURES_PER_ADDRESS"] = address_limit
    make_user(email="grace@example.com")
    for n in range(address_limit):
        assert attempt(client, "x", STRANGER, email=f"nobody{n}@example.com").status_code == 422
    response = attempt(client, PASSWORD, STRANGER)
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert attempt(client, PASSWORD, OWNER).status_code == 303
