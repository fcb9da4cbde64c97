"""Notification email through a real SMTP server in the test process (aiosmtpd): recipients, subjects, threading,
aggregation, digests, one-click unsubscribe, a stopped server, a refusal, a worker killed mid-send."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import current_app
from sqlalchemy.orm import Session

from tests.mailbox import Mailbox, free_port
from tracker import create_app
from tracker.comments import service as comments
from tracker.config import TestConfig
from tracker.extensions import db
from tracker.issues import service as issues
from tracker.models import EmailOutbox, User, Watcher, utcnow
from tracker.notifications import fanout, mail
from tracker.notifications.worker import mail_settings


@pytest.fixture
def smtp(app, monkeypatch):
    """A running SMTP server the app sends to (MAIL_URL), its mailbox, and start()/stop() to take it down."""
    port = free_port()
    box = Mailbox()
    state = {"controller": None}

    def start():
        controller = Controller(box, hostname="127.0.0.1", port=port)
        controller.start()
        state["controller"] = controller

    def stop():
        if state["controller"] is not None:
            state["controller"].stop()
            state["controller"] = None

    monkeypatch.setitem(app.config, "MAIL_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setitem(app.config, "TRACKER_BASE_URL", "https://tracker.example.com")
    monkeypatch.setitem(fanout.EMAIL, "enabled", True)
    start()
    box.start, box.stop = start, stop
    yield box
    stop()


def _send(minutes: float = 3) -> dict[str, int]:
    """Run the worker once as if `minutes` had passed (the aggregation window is 2 minutes)."""
    return mail.send_due(db.session, mail_settings(current_app), now=utcnow() + timedelta(minutes=minutes))


@pytest.fixture
def thread(make_user, make_issue):
    """Ada reports #1; Grace comments on it."""
    ada = make_user("member", name="Ada", email="ada@example.com")
    grace = make_user("member", name="Grace", email="grace@example.com")
    issue = make_issue("Crash on start", reporter=ada)
    return ada, grace, issue


def test_a_comment_mails_the_reporter_with_threading_headers(smtp, thread):
    ada, grace, issue = thread
    comments.add_comment(db.session, grace, issue.id, "See [the log](/issues/1) **now**")
    assert _send(minutes=1) == {}  # still inside the aggregation window
    assert _send() == {"sent": 1}
    (message,) = smtp.messages
    assert smtp.recipients == [["ada@example.com"]]
    assert message["Subject"] == f"[Tracker] #{issue.id} Crash on start"
    assert message["In-Reply-To"] == message["References"] == f"<tracker.issue.{issue.id}@tracker.example.com>"
    assert message["Message-ID"].startswith("<tracker.mail.") and message["From"] == "Tracker <tracker@localhost>"
    assert str(message["List-Unsubscribe"]).strip().startswith("<https://tracker.example.com/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Grace commented" in text and f"https://tracker.example.com/issues/{issue.id}" in text
    assert "You receive this because you reported this issue" in text or "you watch this issue" in text
    assert '<a href="https://tracker.example.com/issues/1"' in html and "<strong>now</strong>" in html
    assert _send() == {}  # sent once


def test_changes_within_the_window_make_one_email(smtp, thread):
    ada, grace, issue = thread
    comments.add_comment(db.session, grace, issue.id, "First")
    comments.add_comment(db.session, grace, issue.id, "Second")
    issues.update_issue(db.session, grace, issue.id, 1, {"status": "resolved"})
    assert _send() == {"sent": 1}
    text = smtp.messages[0].get_body(("plain",)).get_content()
    assert "First" in text and "Second" in text and "resolved the issue you reported" in text


def test_a_change_after_the_email_gets_its_own(smtp, thread):
    ada, grace, issue = thread
    comments.add_comment(db.session, grace, issue.id, "First")
    assert _send() == {"sent": 1}
    comments.add_comment(db.session, grace, issue.id, "Later")
    assert _send(minutes=6) == {"sent": 1}
    later = smtp.messages[1].get_body(("plain",)).get_content()
    assert "Later" in later and "First" not in later
    assert smtp.messages[0]["Message-ID"] != smtp.messages[1]["Message-ID"]
    assert smtp.messages[0]["References"] == smtp.messages[1]["References"]


def test_email_settings_decide_who_gets_mail(smtp, thread, make_user):
    ada, grace, issue = thread
    watcher = make_user("member", name="Watcher", email="watcher@example.com")
    both = make_user("member", name="Both", email="both@example.com")
    for person in (watcher, both):
        db.session.add(Watcher(issue_id=issue.id, user_id=person.id))
    both.email_scope = "watching"
    ada.email_scope = "none"
    db.session.commit()
    comments.add_comment(db.session, grace, issue.id, "Hello")
    assert _send() == {"sent": 1}
    assert smtp.recipients == [["both@example.com"]]  # watcher: involved only (default); Ada: none


def test_one_click_unsubscribe_stops_watching_without_signing_in(smtp, thread, client):
    ada, grace, issue = thread
    comments.add_comment(db.session, grace, issue.id, "Hello")
    _send()
    link = str(smtp.messages[0]["List-Unsubscribe"]).strip().strip("<>").replace("https://tracker.example.com", "")
    assert client.get(link).status_code == 200  # asks first
    response = client.post(link, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "no longer watches" in response.get_data(as_text=True)
    assert db.session.execute(sa.select(Watcher).where(Watcher.user_id == ada.id)).first() is None
    assert client.post("/unsubscribe/forged").status_code == 404


def test_a_person_deactivated_before_the_email_went_gets_none(smtp, thread):
    from tracker.admin import service as admin

    ada, grace, issue = thread
    comments.add_comment(db.session, grace, issue.id, "Hello")
    admin.set_active(db.session, ada.id, False)  # within the two minutes the email waits for more
    assert _send() == {"empty": 1}
    assert smtp.messages == []
    row = db.session.execute(sa.select(EmailOutbox)).scalar_one()
    assert row.status == "sent" and "deactivated" in row.last_error  # settled: never tried again


def test_the_unsubscribe_page_names_no_title_of_an_issue_in_the_trash(smtp, thread, client, make_user):
    from tracker.issues import service as issues
    from tracker.trash import service as trash

    ada, grace, issue = thread
    comments.add_comment(db.session, grace, issue.id, "Hello")
    _send()
    link = str(smtp.messages[0]["List-Unsubscribe"]).strip().strip("<>").replace("https://tracker.example.com", "")
    issues.update_issue(db.session, grace, issue.id, issue.version, {"title": "Renamed since: confidential"})
    trash.delete_issues(db.session, make_user("admin"), [issue.id])
    page = client.post(link).get_data(as_text=True)
    assert f"no longer watches #{issue.id}." in page and "confidential" not in page


def test_a_stopped_server_is_tried_again_and_delivers_once_back(smtp, thread):
    ada, grace, issue = thread
    comments.add_comment(db.session, grace, issue.id, "Hello")
    smtp.stop()
    assert _send() == {"retry": 1}
    row = db.session.execute(sa.select(EmailOutbox)).scalar_one()
    assert row.status == "pending" and row.attempts == 1 and "Connection" in row.last_error
    db.session.rollback()
    smtp.start()
    assert _send(minutes=3.5) == {}  # backoff: one minute after the failed try
    assert _send(minutes=5) == {"sent": 1}
    assert len(smtp.messages) == 1


def test_a_refusal_fails_the_email_and_admins_see_why(smtp, thread, client, login, make_user):
    ada, grace, issue = thread
    comments.add_comment(db.session, grace, issue.id, "Hello")
    smtp.refuse = "550 5.1.1 No such mailbox"
    assert _send() == {"failed": 1}
    assert _send(minutes=60) == {}
    login(make_user("admin"))
    page = client.get("/admin/mail").get_data(as_text=True)
    assert "ada@example.com" in page and "550 5.1.1 No such mailbox" in page


def test_a_worker_killed_after_sending_loses_nothing(smtp, thread, monkeypatch):
    """Sent, then killed before its commit: the row is still pending and the next run sends it again, with the
    same Message-ID (at least once, deduplicated by Message-ID)."""
    ada, grace, issue = thread
    comments.add_comment(db.session, grace, issue.id, "Hello")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed")

    with monkeypatch.context() as patch:
        patch.setattr(mail, "_follow_up", killed)
        with pytest.raises(KeyboardInterrupt):
            _send()
    db.session.rollback()
    assert db.session.execute(sa.select(EmailOutbox.status)).scalar_one() == "pending"
    db.session.rollback()
    assert _send() == {"sent": 1}
    assert len(smtp.messages) == 2 and smtp.messages[0]["Message-ID"] == smtp.messages[1]["Message-ID"]


def test_an_hourly_digest_lists_each_issue_once(smtp, make_user, make_issue):
    ada = make_user("member", name="Ada", email="ada@example.com")
    grace = make_user("member", name="Grace", email="grace@example.com")
    ada.email_delivery = "hourly"
    db.session.commit()
    first = make_issue("First issue", reporter=ada)
    second = make_issue("Second issue", reporter=ada)
    for n, issue in enumerate((first, second, first)):
        comments.add_comment(db.session, grace, issue.id, f"Comment {n}")
    # Due at the next full hour, not before: asked the second before, the worker sends nothing. (The due times are
    # read back rather than assumed "an hour from now": a test run in the minutes before a full hour reaches it.)
    due = db.session.execute(sa.select(EmailOutbox.due_at).where(EmailOutbox.user_id == ada.id)).scalars().all()
    db.session.rollback()
    assert due and all(at == at.replace(minute=0, second=0, microsecond=0) for at in due)
    assert mail.send_due(db.session, mail_settings(current_app), now=min(due) - timedelta(seconds=1)) == {}
    assert mail.send_due(db.session, mail_settings(current_app), now=max(due) + timedelta(minutes=1)) == {"sent": 1}
    (message,) = smtp.messages
    assert message["Subject"] == "[Tracker] Hourly digest: 2 issues"
    text = message.get_body(("plain",)).get_content()
    assert text.count("First issue") == 1 and text.count("Second issue") == 1 and text.count("Grace commented") == 3


def test_the_worker_command_once(smtp, thread, runner):
    ada, grace, issue = thread
    comments.add_comment(db.session, grace, issue.id, "Hello")
    db.session.execute(sa.update(EmailOutbox).values(created_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0 and "1 sent" in result.output
    assert len(smtp.messages) == 1


def test_no_mail_url_queues_nothing(app, thread):
    ada, grace, issue = thread
    comments.add_comment(db.session, grace, issue.id, "Hello")
    assert db.session.execute(sa.select(sa.func.count()).select_from(EmailOutbox)).scalar_one() == 0


def test_workers_share_the_queue_with_skip_locked(smtp, thread, make_user, postgres_only):
    ada, grace, issue = thread
    other = make_user("member", name="Other", email="other@example.com")
    db.session.add(Watcher(issue_id=issue.id, user_id=other.id))
    other.email_scope = "watching"
    db.session.commit()
    comments.add_comment(db.session, grace, issue.id, "Hello")
    now = utcnow() + timedelta(minutes=3)
    with db.engine.connect() as one, db.engine.connect() as two, db.engine.connect() as three:
        a, b, c = Session(bind=one), Session(bind=two), Session(bind=three)
        try:
            row_a = mail.claim(a, now, 120, set())
            row_b = mail.claim(b, now, 120, set())
            assert row_a is not None and row_b is not None and row_a.id != row_b.id
            assert mail.claim(c, now, 120, set()) is None  # both held: skipped, not waited for
        finally:
            for session in (a, b, c):
                session.rollback()
                session.close()


def _commenting_while_sending(app, grace_id: int, issue_id: int, body: str):
    """A sender that, before the first email goes out, has Grace comment `body` in a request of her own (another
    thread, committed): a change made while its person's email is being sent."""
    state = {"done": False}

    def send(server, message):
        if not state["done"]:
            state["done"] = True

            def comment():
                with app.app_context():
                    comments.add_comment(db.session, db.session.get(User, grace_id), issue_id, body)
                    db.session.remove()

            worker = threading.Thread(target=comment)
            worker.start()
            worker.join()
        mail.smtp_send(server, message)

    return send


def test_a_comment_made_while_its_email_is_sent_gets_an_email_of_its_own(app, smtp, thread):
    ada, grace, issue = thread
    comments.add_comment(db.session, grace, issue.id, "First")
    send = _commenting_while_sending(app, grace.id, issue.id, "Second")
    now = utcnow() + timedelta(minutes=3)
    assert mail.send_due(db.session, mail_settings(current_app), now=now, send=send) == {"sent": 1}
    assert _send(minutes=6) == {"sent": 1}
    first, second = (m.get_body(("plain",)).get_content() for m in smtp.messages)
    assert "First" in first and "Second" not in first and "Second" in second
    assert smtp.messages[0]["Message-ID"] != smtp.messages[1]["Message-ID"]


def test_a_comment_made_while_a_digest_is_sent_goes_in_the_next_digest(app, smtp, thread):
    ada, grace, issue = thread
    ada.email_delivery = "hourly"
    db.session.commit()
    comments.add_comment(db.session, grace, issue.id, "First")
    send = _commenting_while_sending(app, grace.id, issue.id, "Second")
    now = utcnow() + timedelta(hours=1, minutes=1)
    assert mail.send_due(db.session, mail_settings(current_app), now=now, send=send) == {"sent": 1}
    assert mail.send_due(db.session, mail_settings(current_app), now=now) == {}  # the next hour's digest
    assert mail.send_due(db.session, mail_settings(current_app), now=now + timedelta(hours=1)) == {"sent": 1}
    first, second = (m.get_body(("plain",)).get_content() for m in smtp.messages)
    assert "First" in first and "Second" not in first and "Second" in second


def test_two_workers_send_one_persons_digest_as_one_email(smtp, make_user, make_issue, postgres_only):
    """The first worker to claim one of a person's digest rows takes the person's digest lock; a second worker that
    claimed another of their rows finds it taken and lets the row go, so the first sends one digest of all three
    (each used to send the rows it held: two emails)."""
    ada = make_user("member", name="Ada", email="ada@example.com")
    grace = make_user("member", name="Grace", email="grace@example.com")
    ada.email_delivery = "hourly"
    db.session.commit()
    for n in range(3):
        comments.add_comment(db.session, grace, make_issue(f"Issue {n}", reporter=ada).id, "Hello")
    settings, now = mail_settings(current_app), utcnow() + timedelta(hours=1, minutes=1)
    with db.engine.connect() as one, db.engine.connect() as two:
        a, b = Session(bind=one), Session(bind=two)
        try:
            first = mail.claim(a, now, 120, set())
            assert first is not None and mail._digest_lock(a, first)
            assert mail.send_one(b, settings, now, mail.smtp_send, set()) == "busy"
            assert len(mail._digest_rows(a, first, now)) == 3
            a.rollback()
            assert mail.send_one(a, settings, now, mail.smtp_send, set()) == "sent"
            assert mail.send_one(b, settings, now, mail.smtp_send, set()) is None
        finally:
            for session in (a, b):
                session.rollback()
                session.close()
    (message,) = smtp.messages
    assert message["Subject"] == "[Tracker] Hourly digest: 3 issues"


def test_production_needs_a_base_url_with_mail(monkeypatch):
    class Production(TestConfig):
        ENV_NAME = "production"

    with pytest.raises(RuntimeError, match="TRACKER_BASE_URL"):
        create_app(Production, {"MAIL_URL": "smtp://mail.example.com:587", "TRACKER_BASE_URL": ""})
    with pytest.raises(RuntimeError, match="MAIL_URL must look like"):
        create_app(Production, {"MAIL_URL": "http://x", "TRACKER_BASE_URL": "https://t.example.com"})


def test_parse_mail_url():
    server = mail.parse_mail_url("smtp://user%40x:p%3Ass@mail.example.com:2525")
    assert (server.host, server.port, server.username, server.password, server.implicit_tls) == (
        "mail.example.com", 2525, "user@x", "p:ss", False)
    assert mail.parse_mail_url("smtps://mail.example.com").port == 465
    assert User is not None


def test_sent_email_is_purged_after_a_month(smtp, thread):
    ada, grace, issue = thread
    comments.add_comment(db.session, grace, issue.id, "Hello")
    assert _send() == {"sent": 1}
    assert mail.purge_sent(db.session, utcnow() + timedelta(days=29)) == 0
    assert mail.purge_sent(db.session, utcnow() + timedelta(days=31)) == 1
