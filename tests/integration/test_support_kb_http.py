"""The knowledge base through the gateway, on the shared platform (SQLite and PostgreSQL): an agent
writes Chinese and English articles; drafts are the staff's (404 to a salesperson, and absent from
their search); publishing (409 when published already) lets everyone find an article by a Chinese
query; search pages best first; a resolved ticket is written up as a draft article (201 + Location,
409 the second time) and a new ticket about the same problem is offered the old ticket and the
article; a salesperson may not write (403)."""
import pytest

from crm_kit.ids import new_id

PASSWORD = "a long password"


@pytest.fixture(scope="module")
def people(platform):
    tag = new_id()[-6:]
    dept = platform.post("/api/v1/departments", json={"name": f"KB {tag}"}).json()
    tokens, users = {}, {}
    for name in ("rep", "agent"):
        username = f"kb-{name}-{tag}"
        resp = platform.post("/api/v1/users", json={"username": username, "password": PASSWORD, "role": "member",
                                                    "department_id": dept["id"]})
        assert resp.status_code == 201, resp.text
        users[name], tokens[name] = resp.json(), platform.login(username, PASSWORD)
    group = platform.post("/api/v1/support/groups", json={
        "name": f"KB desk {tag}", "department_id": dept["id"], "members": [{"user_id": users["agent"]["id"]}]})
    assert group.status_code == 201, group.text
    return {"tokens": tokens, "users": users, "group": group.json(), "tag": tag}


def _search(platform, q, token, **params):
    resp = platform.get("/api/v1/kb/articles", params={"q": q, **params}, token=token)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_articles_are_written_published_and_found_in_chinese(platform, people):
    agent, rep, tag = people["tokens"]["agent"], people["tokens"]["rep"], people["tag"]
    word = f"z{tag}"                       # a word of this run only (the platform is shared)
    created = platform.post("/api/v1/kb/articles", json={
        "title": f"打印机卡纸怎么办 {word}", "body": "先关闭电源，打开后盖，取出卡住的纸张。", "category": "fault"},
        token=agent)
    assert created.status_code == 201, created.text
    article = created.json()
    assert created.headers["Location"].endswith(f"/api/v1/kb/articles/{article['id']}")
    assert article["status"] == "draft" and article["allowed_actions"] == ["publish"]
    path = f"/api/v1/kb/articles/{article['id']}"
    assert platform.get(path, token=rep).status_code == 404
    assert _search(platform, f"卡纸 {word}", rep)["items"] == []
    assert [a["id"] for a in _search(platform, f"卡纸 {word}", agent)["items"]] == [article["id"]]
    assert platform.post("/api/v1/kb/articles", json={"title": "x", "body": "y"}, token=rep).status_code == 403

    published = platform.post(f"{path}/publish", headers={"If-Match": str(article["version"])}, token=agent)
    assert published.status_code == 200 and published.json()["status"] == "published", published.text
    again = platform.post(f"{path}/publish", token=agent)
    assert again.status_code == 409 and "'published'" in again.json()["detail"], again.text
    found = _search(platform, f"卡纸 {word}", rep)["items"]
    assert [a["id"] for a in found] == [article["id"]] and found[0]["rank"] > 0
    assert platform.request("PATCH", path, json={"title": "mine"}, token=rep).status_code == 403

    for i in range(3):                      # more of this run's word: paged best first
        extra = platform.post("/api/v1/kb/articles", json={"title": f"网络 {word}", "body": f"{word} " * (i + 1)},
                              token=agent).json()
        assert platform.post(f"/api/v1/kb/articles/{extra['id']}/publish", token=agent).status_code == 200
    first = _search(platform, word, rep, limit=2)
    second = _search(platform, word, rep, limit=2, cursor=first["next_cursor"])
    ranks = [a["rank"] for a in first["items"] + second["items"]]
    assert len(ranks) == 4 and ranks == sorted(ranks, reverse=True) and second["next_cursor"] is None
    assert len({a["id"] for a in first["items"] + second["items"]}) == 4
    bad = platform.get("/api/v1/kb/articles", params={"q": word, "cursor": "abc"}, token=rep)
    assert bad.status_code == 422, bad.text

    deleted = platform.request("DELETE", path, token=agent)
    assert deleted.status_code == 204, deleted.text
    assert _search(platform, f"卡纸 {word}", rep)["items"] == []


def test_a_resolution_becomes_an_article_and_a_new_ticket_is_offered_both(platform, people):
    agent, tag, group = people["tokens"]["agent"], people["tag"], people["group"]["id"]
    word = f"y{tag}"
    old = platform.post("/api/v1/tickets", json={
        "subject": f"无线网络经常断开 {word}", "description": "路由器重启后恢复", "channel": "phone",
        "category": "fault", "group_id": group}, token=agent).json()
    too_soon = platform.post(f"/api/v1/tickets/{old['id']}/article", json={}, token=agent)
    assert too_soon.status_code == 409, too_soon.text
    resolved = platform.post(f"/api/v1/tickets/{old['id']}/resolve", json={"resolution": "升级路由器固件"},
                             token=agent)
    assert resolved.status_code == 200, resolved.text
    written = platform.post(f"/api/v1/tickets/{old['id']}/article", json={}, token=agent)
    assert written.status_code == 201, written.text
    article = written.json()
    assert (article["status"], article["source_ticket_id"]) == ("draft", old["id"])
    assert "升级路由器固件" in article["body"]
    assert written.headers["Location"].endswith(f"/api/v1/kb/articles/{article['id']}")
    twice = platform.post(f"/api/v1/tickets/{old['id']}/article", json={}, token=agent)
    assert twice.status_code == 409 and twice.json()["existing_id"] == article["id"], twice.text
    assert platform.post(f"/api/v1/kb/articles/{article['id']}/publish", token=agent).status_code == 200

    new = platform.post("/api/v1/tickets", json={
        "subject": f"网络断开了 {word}", "channel": "web", "category": "fault", "group_id": group}, token=agent).json()
    offered = platform.get(f"/api/v1/tickets/{new['id']}/suggestions", token=agent)
    assert offered.status_code == 200, offered.text
    body = offered.json()
    assert body["tickets"][0]["id"] == old["id"] and body["tickets"][0]["resolution"] == "升级路由器固件"
    assert body["articles"][0]["id"] == article["id"]
    assert "网络" in body["terms"]
    stranger = platform.get(f"/api/v1/tickets/{new['id']}/suggestions", token=people["tokens"]["rep"])
    assert stranger.status_code == 404
