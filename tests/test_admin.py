"""User administration: add users, change roles, deactivate; admins only."""


import pytest
import sqlalchemy as sa

from tests.helpers import text
from tracker.extensions import db
from tracker.issues import service as issue_service
from tracker.models import User


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_only_admins_manage_users(client, login_as, make_user, role, snapshot):
    target = make_user()
    login_as(role)
    before = snapshot()
    assert client.get("/admin/users").status_code == 403
    assert (
        client.post("/admin/users", data={"name": "X", "email": "x@y.io", "password": "longenough"}).status_code == 403
    )
    assert client.post(f"/admin/users/{target.id}/role", data={"role": "admin"}).status_code == 403
    assert client.post(f"/admin/users/{target.id}/active", data={"active": "0"}).status_code == 403
    assert snapshot() == before


def test_admin_adds_user(client, login_as):
    login_as("admin")
    response = client.post(
        "/admin/users", data={"name": "Grace", "email": "grace@example.com", "role": "viewer", "password": "longenough"}
    )
    assert response.status_code == 303
    user = db.session.execute(sa.select(User).where(User.email == "grace@example.com")).scalar_one()
    assert user.role == "viewer" and user.active
    assert "Added Grace (grace@example.com) as viewer." in text(client.get("/admin/users"))


def test_adding_user_with_bad_input_rerenders(client, login_as, make_user, snapshot):
    login_as("admin")
    make_user(email="taken@example.com")
    before = snapshot()
    response = client.post(
        "/admin/users", data={"name": "Grace", "email": "Taken@example.com", "role": "boss", "password": "x"}
    )
    page = text(response)
    assert response.status_code == 422
    assert "A user with email taken@example.com already exists." in page
    assert "Role 'boss' is not one of admin, member, viewer." in page
    assert "Password must be at least 8 characters." in page
    assert 'value="Grace"' in page
    assert snapshot() == before


def test_change_role_and_deactivate(client, login_as, make_user, make_issue):
    login_as("admin")
    user = make_user("member")
    issue = make_issue(assignee_id=user.id)
    # A viewer is never assigned issues: theirs go to someone else first.
    refused = client.post(f"/admin/users/{user.id}/role", data={"role": "viewer"})
    assert refused.status_code == 422 and "is assigned 1 issue; assign them to someone else" in text(refused)
    assert client.post(f"/admin/users/{user.id}/active", data={"active": "0"}).status_code == 303
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.role, user.active) == ("member", False)
    assert issue.assignee_id == user.id, "their issues stay"
    page = text(client.get(f"/issues/{issue.id}"))
    assert "(deactivated)" in page
    assert client.post(f"/admin/users/{user.id}/active", data={"active": "1"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).active
    issue_service.update_issue(db.session, user, issue.id, issue.version, {"assignee_id": ""})
    assert client.post(f"/admin/users/{user.id}/role", data={"role": "viewer"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).role == "viewer"


def test_last_admin_stays_admin_and_active(client, login_as, snapshot):
    me = login_as("admin")
    before = snapshot()
    response = client.post(f"/admin/users/{me.id}/role", data={"role": "member"})
    assert response.status_code == 422 and "is the last active admin" in text(response)
    response = client.post(f"/admin/users/{me.id}/active", data={"active": "0"})
    assert response.status_code == 422 and "is the last active admin" in text(response)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("url", "data", "status"),
    [
        ("/admin/users/999/role", {"role": "member"}, 404),
        ("/admin/users/{id}/role", {"role": "owner"}, 422),
        ("/admin/users/{id}/active", {"active": "maybe"}, 422),
        ("/admin/users/999/active", {"active": "0"}, 404),
    ],
)
def test_bad_admin_requests(client, login_as, make_user, snapshot, url, data, status):
    login_as("admin")
    user = make_user()
    before = snapshot()
    assert client.post(url.format(id=user.id), data=data).status_code == status
    assert snapshot() == before


def test_admin_edits_a_users_name_and_email(client, login_as, make_user, make_issue):
    login_as("admin")
    ada = make_user(name="Ada Lovelase", email="ada@exmaple.com")
    issue = make_issue("Counting machine", assignee_id=ada.id)
    page = text(client.get(f"/admin/users/{ada.id}"))
    assert 'value="Ada Lovelase"' in page and 'value="ada@exmaple.com"' in page
    response = client.post(f"/admin/users/{ada.id}", data={"name": "  Ada   Lovelace ", "email": "Ada@Example.com"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/users")
    db.session.expire_all()
    assert (ada.name, ada.email) == ("Ada Lovelace", "ada@example.com")
    assert "Saved Ada Lovelace (ada@example.com)." in text(client.get("/admin/users"))
    assert "Ada Lovelace" in text(client.get(f"/issues/{issue.id}")), "the issue shows the new name"
    unchanged = client.post(f"/admin/users/{ada.id}", data={"name": "Ada Lovelace", "email": "ada@example.com"})
    assert unchanged.status_code == 303, "keeping one's own email is not a clash"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "email": "ada@example.com"}, "Name is required."),
        ({"name": "Ada", "email": "not-an-email"}, "Enter an email address like name@example.com."),
        ({"name": "Ada", "email": "TAKEN@example.com"}, "A user with email taken@example.com already exists."),
        ({"name": "x" * 101, "email": "ada@example.com"}, "Name must be at most 100 characters."),
    ],
)
def test_bad_user_edits_are_422_and_change_nothing(client, login_as, make_user, snapshot, data, message):
    login_as("admin")
    ada = make_user(name="Ada", email="ada@example.com")
    make_user(email="taken@example.com")
    before = snapshot()
    response = client.post(f"/admin/users/{ada.id}", data=data)
    assert response.status_code == 422 and message in text(response)
    assert 'aria-invalid="true"' in text(response)
    assert snapshot() == before


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_only_admins_edit_users_and_set_passwords(client, login_as, make_user, snapshot, role):
    login_as(role)
    ada = make_user(name="Ada")
    before = snapshot()
    assert client.get(f"/admin/users/{ada.id}").status_code == 403
    assert client.post(f"/admin/users/{ada.id}", data={"name": "Eve", "email": "eve@example.com"}).status_code == 403
    assert client.post(f"/admin/users/{ada.id}/password", data={"password": "a-new-password"}).status_code == 403
    assert snapshot() == before


def test_unknown_user_page_is_404(client, login_as):
    login_as("admin")
    assert client.get("/admin/users/999").status_code == 404
    assert client.post("/admin/users/999", data={"name": "X", "email": "x@example.com"}).status_code == 404


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_everyone_renames_themselves_but_keeps_their_email(client, login_as, snapshot, role):
    me = login_as(role, name="Grce", email="grace@example.com")
    page = text(client.get("/account"))
    assert 'id="profile-name" maxlength="100" name="profile-name"' in page and 'value="Grce"' in page
    assert page.count('id="name"') == 1, "the token form keeps its own field id"
    response = client.post("/account/name", data={"profile-name": " Grace  Hopper ", "email": "evil@example.com"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/account")
    db.session.expire_all()
    assert (me.name, me.email) == ("Grace Hopper", "grace@example.com")
    assert "Your name is changed." in text(client.get("/account"))
    before = snapshot()
    refused = client.post("/account/name", data={"profile-name": "   "})
    assert refused.status_code == 422 and "Name is required." in text(refused)
    assert snapshot() == before
