from __future__ import annotations

import httpx

from tests.conftest import TEST_PASSWORD, Staff


async def test_admin_creates_users_and_others_may_not(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    # Tests with really committed rows (committed_app) may have left users in the
    # session's database: compare with what was there before.
    before = await _usernames(client, staff.admin)
    host = await staff.user("host1", "host")
    r = await client.post(
        "/api/v1/users",
        json={"username": "x1", "password": TEST_PASSWORD, "role": "service"},
        headers=host,
    )
    assert r.status_code == 403 and r.json()["code"] == "role_forbidden"
    assert (await client.get("/api/v1/users", headers=host)).status_code == 403
    users = (await client.get("/api/v1/users", headers=staff.admin)).json()
    assert "admin" in before and {u["username"] for u in users} - before == {"host1"}
    assert all("password_hash" not in u for u in users)


async def test_duplicate_username_and_bad_role_change_nothing(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    await staff.user("dup", "host")
    r = await client.post(
        "/api/v1/users",
        json={"username": "dup", "password": TEST_PASSWORD, "role": "host"},
        headers=staff.admin,
    )
    assert r.status_code == 409 and r.json()["code"] == "username_taken"
    r = await client.post(
        "/api/v1/users",
        json={"username": "bad", "password": TEST_PASSWORD, "role": "king"},
        headers=staff.admin,
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "role"
    names = [u["username"] for u in (await client.get("/api/v1/users", headers=staff.admin)).json()]
    assert names.count("dup") == 1 and "bad" not in names


async def test_admin_cannot_demote_itself(client: httpx.AsyncClient, staff: Staff) -> None:
    me = (await client.get("/api/v1/auth/me", headers=staff.admin)).json()
    r = await client.patch(f"/api/v1/users/{me['id']}", json={"role": "host"}, headers=staff.admin)
    assert r.status_code == 409


async def test_team_membership_scopes_stream_access(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    other_ctl = await staff.user("ctl2", "controller")
    svc = await staff.user("svc", "service")
    r = await client.post("/api/v1/streams", json={"title": "测试场"}, headers=ctl)
    assert r.status_code == 201 and r.json()["status"] == "draft"
    sid = r.json()["id"]
    # the creator is on the team; another controller is not
    assert (await client.get(f"/api/v1/streams/{sid}", headers=ctl)).status_code == 200
    r = await client.get(f"/api/v1/streams/{sid}", headers=other_ctl)
    assert r.status_code == 403 and r.json()["code"] == "not_on_team"
    assert (await client.get("/api/v1/streams", headers=other_ctl)).json() == []
    # a service user may not create streams, nor assign team members; a controller not
    # on the team may not either
    assert (
        await client.post("/api/v1/streams", json={"title": "x"}, headers=svc)
    ).status_code == 403
    r = await client.put(
        f"/api/v1/streams/{sid}/team/{staff.ids['svc']}", json={"role": "service"}, headers=svc
    )
    assert r.status_code == 403
    r = await client.put(
        f"/api/v1/streams/{sid}/team/{staff.ids['svc']}",
        json={"role": "service"},
        headers=other_ctl,
    )
    assert r.status_code == 403 and r.json()["code"] == "not_on_team"
    # the team's controller assigns it; no admin role on a team
    r = await client.put(
        f"/api/v1/streams/{sid}/team/{staff.ids['svc']}", json={"role": "admin"}, headers=ctl
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "role"
    r = await client.put(
        f"/api/v1/streams/{sid}/team/{staff.ids['svc']}", json={"role": "service"}, headers=ctl
    )
    assert r.status_code == 200, r.text
    team = (await client.get(f"/api/v1/streams/{sid}/team", headers=svc)).json()
    assert {(m["username"], m["role"]) for m in team} == {("ctl", "controller"), ("svc", "service")}
    # missing stream / user
    r = await client.put(
        f"/api/v1/streams/999999/team/{staff.ids['svc']}",
        json={"role": "host"},
        headers=staff.admin,
    )
    assert r.status_code == 404
    r = await client.put(
        f"/api/v1/streams/{sid}/team/999999", json={"role": "host"}, headers=staff.admin
    )
    assert r.status_code == 404
    r = await client.delete(f"/api/v1/streams/{sid}/team/{staff.ids['svc']}", headers=staff.admin)
    assert r.status_code == 204
    assert (await client.get(f"/api/v1/streams/{sid}", headers=svc)).status_code == 403


async def test_user_directory_for_controllers(client: httpx.AsyncClient, staff: Staff) -> None:
    before = await _usernames(client, staff.admin, "/api/v1/users/directory")
    ctl = await staff.user("dir_ctl", "controller")
    host = await staff.user("dir_host", "host")
    gone = await staff.user("dir_gone", "service")
    assert gone
    r = await client.patch(
        f"/api/v1/users/{staff.ids['dir_gone']}", json={"is_active": False}, headers=staff.admin
    )
    assert r.status_code == 200
    r = await client.get("/api/v1/users/directory", headers=ctl)
    assert r.status_code == 200
    rows = {u["username"]: u for u in r.json()}
    assert "admin" in rows and set(rows) - before == {"dir_ctl", "dir_host"}
    assert rows["dir_host"] == {
        "id": staff.ids["dir_host"],
        "username": "dir_host",
        "display_name": rows["dir_host"]["display_name"],
        "role": "host",
    }
    r = await client.get("/api/v1/users/directory", headers=host)
    assert r.status_code == 403


async def _usernames(
    client: httpx.AsyncClient, headers: dict[str, str], path: str = "/api/v1/users"
) -> set[str]:
    r = await client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    return {u["username"] for u in r.json()}
