"""The Apify test-mode server (testing.apify) against the API v2 docs and the official
apify-client, and the loader's pure parts (no warehouse needed)."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest
from test_apify_support import TOKEN

from loaders.apify_linkedin.helpers import (
    ApifyHTTPError,
    ApifyRunTimeout,
    dataset_items,
    make_client,
    normalize_linkedin_url,
    parse_item,
    typed_error,
    wait_for_run,
)
from loaders.apify_linkedin.jobs import barton_job_id
from outreach.http import mask_secrets
from outreach.settings import PROJECT_ROOT
from testing.apify import CHANGE_TYPES, ApifyTestServer, RosterEntry

URLS = [f"https://www.linkedin.com/in/exec-{i:03d}" for i in range(200)]


def _current(item: dict) -> tuple[str | None, str | None]:
    """(title, company) of an item in any published shape, read the way the actors' own
    documents describe it (tests/fixtures/apify/README.md): harvestapi's open job has
    ``endDate: {"text": "Present"}``, dev_fusion's a caption ``"... - Present · ..."``."""
    if "experience" in item:
        current = [e for e in item["experience"] if e["endDate"] == {"text": "Present"}]
        return (current[0]["position"], current[0]["companyName"]) if current else (None, None)
    if "experiences" in item:
        for entry in item["experiences"]:
            roles = entry["subComponents"] if entry["breakdown"] else [entry]
            for role in roles:
                if " - Present · " in role["caption"]:
                    company = entry["title"] if entry["breakdown"] else entry["subtitle"]
                    return role["title"], company.split(" · ")[0]
        return None, None
    return item["jobTitle"], item["companyName"]


def test_profiles_are_deterministic_for_a_seed_and_differ_between_seeds():
    a, b, c = (ApifyTestServer(seed=s) for s in (1, 1, 2))
    assert [a.item(u) for u in URLS[:20]] == [b.item(u) for u in URLS[:20]]
    assert [a.item(u) for u in URLS[:20]] != [c.item(u) for u in URLS[:20]]


def _shape(item: dict) -> str:
    return next((k for k in ("experience", "experiences") if k in item), "flat")


def test_the_published_item_shapes_are_served_as_the_fixtures_show_them():
    """Keys and value formats of tests/fixtures/apify/ (harvest_experience_*,
    devfusion_experiences_*, flat_*), one shape per profile, stable across months."""
    fixtures = Path(__file__).parent / "fixtures" / "apify"
    harvest = json.loads((fixtures / "harvest_experience_month1.json").read_text())[0]
    devfusion = json.loads((fixtures / "devfusion_experiences_month1.json").read_text())[0]
    flat_fixture = json.loads((fixtures / "flat_month1.json").read_text())[0]
    server = ApifyTestServer(seed=3, change_rate=0.5)
    items = [server.item(u) for u in URLS]
    shapes = Counter(_shape(i) for i in items)
    assert min(shapes["flat"], shapes["experience"], shapes["experiences"]) > 40
    assert all(
        _shape(server.item(u, month=2)) == _shape(i) for u, i in zip(URLS, items, strict=True)
    )
    flat = next(i for i in items if _shape(i) == "flat")
    assert set(flat) == set(flat_fixture)
    # harvestapi: experience[] newest first, date objects, the open job {"text": "Present"}
    nested = [i for i in items if _shape(i) == "experience"]
    assert set(nested[0]) == set(harvest)
    assert set(nested[0]["experience"][0]) == set(harvest["experience"][0])
    assert nested[0]["experience"][0]["endDate"] == {"text": "Present"}
    starts = [i["experience"][0]["startDate"] for i in nested]
    assert {type(d.get("month")) for d in starts} == {int, str, type(None)}  # 3, "Mar", text only
    assert all(re.fullmatch(r"[A-Z][a-z]{2} \d{4}", d["text"]) for d in starts)
    for d in starts:
        if isinstance(d.get("month"), str):
            assert d["text"] == f"{d['month']} {d['year']}"
        elif d.get("month"):
            assert d["text"].endswith(str(d["year"])) and 1 <= d["month"] <= 12
    # ended jobs carry their year
    ended = [e["endDate"] for i in nested for e in i["experience"][1:]]
    assert ended and all(re.search(r"\d{4}$", d["text"]) for d in ended)
    # dev_fusion: experiences[] with subtitle "Company · Full-time" and captions
    fusion = [i for i in items if _shape(i) == "experiences"]
    assert set(fusion[0]) == set(devfusion)
    entry = fusion[0]["experiences"][0]
    assert set(entry) == set(devfusion["experiences"][0])
    assert entry["subtitle"].endswith(" · Full-time") and entry["companyLink1"]
    assert re.fullmatch(
        r"[A-Z][a-z]{2} \d{4} - Present · \d+ (yrs?|mos?)( \d+ mos?)?", entry["caption"]
    )
    assert (entry["title"], entry["subtitle"].split(" · ")[0]) == (
        fusion[0]["jobTitle"],
        fusion[0]["companyName"],
    )


def test_a_promotion_in_the_experiences_shape_groups_the_roles_at_one_company():
    server = ApifyTestServer(seed=3, change_rate=1.0, change_mix={"promotion": 1.0})
    server.configure(shape="experiences")
    item = server.item(URLS[0], month=1)
    group = item["experiences"][0]
    assert group["breakdown"] is True and group["title"] == item["companyName"]
    new, old = group["subComponents"]
    assert " - Present · " in new["caption"] and new["title"] == item["jobTitle"]
    assert re.match(r"[A-Z][a-z]{2} \d{4} - [A-Z][a-z]{2} \d{4} · ", old["caption"])


@pytest.mark.parametrize("shape", ["flat", "experience", "experiences"])
def test_every_shape_carries_the_same_ground_truth(shape):
    roster = {
        u: RosterEntry(
            f"P{i}",
            "VP of Finance",
            f"Tracked {i % 5}",
            f"https://www.linkedin.com/company/t{i % 5}",
        )
        for i, u in enumerate(URLS)
    }
    server = ApifyTestServer(roster=roster, seed=11, change_rate=0.3)
    server.configure(shape=shape)
    truth = server.simulated_changes(URLS, month=1)
    assert 30 <= len(truth) <= 90
    for u in URLS:
        before, after = _current(server.item(u, month=0)), _current(server.item(u, month=1))
        assert before == ("VP of Finance", f"Tracked {URLS.index(u) % 5}")
        events = truth.get(normalize_linkedin_url(u), [])
        if not events:
            assert after == before
            continue
        (event,) = events
        assert (event.previous_title, event.previous_company.name) == before
        new_company = event.new_company.name if event.new_company else None
        assert (event.new_title, new_company) == after


def test_roster_people_are_served_as_the_warehouse_knows_them_at_baseline():
    roster = {
        "linkedin.com/in/Jane-Roe/": RosterEntry(
            "Jane Roe",
            "Chief Financial Officer",
            "Acme Corp",
            "https://www.linkedin.com/company/acme",
        )
    }
    server = ApifyTestServer(roster=roster, seed=5, change_rate=1.0)
    profile = server.profile("https://www.linkedin.com/in/jane-roe", month=0)
    assert profile.full_name == "Jane Roe"
    assert (profile.current.title, profile.current.company.name) == (
        "Chief Financial Officer",
        "Acme Corp",
    )
    assert server.profile("https://www.linkedin.com/in/jane-roe", month=1).changes  # rate 1.0


def test_a_later_month_differs_from_the_baseline_by_the_change_rate_and_every_change_type():
    companies = [
        RosterEntry(
            f"P{i}",
            "VP of Finance",
            f"Tracked {i % 5}",
            f"https://www.linkedin.com/company/t{i % 5}",
        )
        for i in range(200)
    ]
    roster = dict(zip(URLS, companies, strict=True))
    server = ApifyTestServer(roster=roster, seed=11, change_rate=0.25)
    baseline = {u: _current(server.item(u, month=0)) for u in URLS}
    later = {u: _current(server.item(u, month=1)) for u in URLS}
    changed = [u for u in URLS if baseline[u] != later[u]]
    assert 25 <= len(changed) <= 75  # ~25 % of 200, deterministic
    kinds = Counter(kind for u in URLS for _, kind in server.profile(u, month=1).changes)
    assert set(kinds) == set(CHANGE_TYPES)
    tracked = {f"Tracked {i}" for i in range(5)}
    for u in URLS:
        for _, kind in server.profile(u, month=1).changes:
            (t0, c0), (t1, c1) = baseline[u], later[u]
            if kind == "promotion":
                assert c1 == c0 and t1 != t0
            elif kind == "move_tracked":
                assert c1 in tracked and c1 != c0
            elif kind == "move_new":
                assert c1 not in tracked
            elif kind == "departure":
                assert (t1, c1) == (None, None)
            else:  # a formatting-only edit: same words, same company
                assert c1 == c0 and t1 != t0
                assert re.sub(r"\W+", " ", t1).strip().lower() == t0.lower()
    # months accumulate and are stable: month 2 repeats month 1's changes, then adds some
    month2 = {u: server.profile(u, month=2).changes for u in URLS}
    assert all(
        month2[u][: len(server.profile(u, month=1).changes)] == server.profile(u, month=1).changes
        for u in URLS
    )


def test_faults_switch_on_and_off_over_http():
    with ApifyTestServer(token=TOKEN) as server:
        client = httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        start = client.post("/v2/acts/a~b/runs", json={"profileUrls": URLS[:3]})
        assert start.status_code == 201
        run = start.json()["data"]
        server.configure(rate_limit_on="run", rate_limit_count=2)
        codes = [client.get(f"/v2/actor-runs/{run['id']}").status_code for _ in range(3)]
        assert codes == [429, 429, 200]
        assert client.get(f"/v2/actor-runs/{run['id']}").json()["data"]["status"] == "SUCCEEDED"
        body = client.get(f"/v2/actor-runs/{run['id']}x").json()
        assert body["error"]["type"] == "record-not-found"
        server.configure(rate_limit_on="items", rate_limit_count=1, retry_after_s=7)
        limited = client.get(f"/v2/datasets/{run['defaultDatasetId']}/items")
        assert limited.status_code == 429
        assert limited.json() == {
            "error": {"type": "rate-limit-exceeded", "message": "You have exceeded the rate limit."}
        }
        assert limited.headers["retry-after"] == "7"
        page = client.get(f"/v2/datasets/{run['defaultDatasetId']}/items?offset=1&limit=1")
        assert len(page.json()) == 1 and page.headers["X-Apify-Pagination-Total"] == "3"
        assert page.headers["X-Apify-Pagination-Offset"] == "1"
        assert page.headers["X-Apify-Pagination-Limit"] == "1"
        assert page.headers["X-Apify-Pagination-Count"] == "1"
        assert page.headers["X-Apify-Pagination-Desc"] == "false"
        server.reset_faults()
        server.configure(max_page_size=2)
        short = client.get(f"/v2/datasets/{run['defaultDatasetId']}/items?limit=1000")
        assert len(short.json()) == 2 and short.headers["X-Apify-Pagination-Limit"] == "1000"
        server.reset_faults()
        server.configure(html_on="run", html_count=1)
        html = client.get(f"/v2/actor-runs/{run['id']}")
        assert html.status_code == 502 and html.headers["content-type"] == "text/html"
        log = client.get(f"/v2/actor-runs/{run['id']}/log")
        assert log.headers["content-type"].startswith("text/plain") and run["id"] in log.text
        assert client.get(f"/v2/logs/{run['id']}").text == log.text
        server.reset_faults()
        assert httpx.get(f"{server.base_url}/v2/actor-runs/{run['id']}").status_code == 401
        client.close()


def test_the_official_client_starts_waits_and_pages_against_the_server():
    """The run object satisfies the client's model; short pages are read to the end."""
    with ApifyTestServer(token=TOKEN) as server:
        server.configure(max_page_size=7, polls_before_terminal=3)
        client = make_client(server.base_url, TOKEN, max_retries=1, min_retry_delay_s=0.001)
        run = client.actor("apify/linkedin-profile-scraper").start(
            run_input={"profileUrls": URLS[:20]}
        )
        assert (run.status, run.act_id, run.options.build) == (
            "READY",
            "apify~linkedin-profile-scraper",
            "latest",
        )
        done = wait_for_run(client, run.id, remaining_s=5, timeout_s=5, http_timeout_s=2)
        assert done.status == "SUCCEEDED" and done.finished_at is not None
        items = list(dataset_items(client, done.default_dataset_id, page_size=1000))
        assert len(items) == 20 and [i["linkedinUrl"] for i in items] == [
            server.item(u)["linkedinUrl"] for u in URLS[:20]
        ]
        offsets = [r.query["offset"] for r in server.requests if r.endpoint == "items"]
        assert offsets == ["0", "7", "14", "20"]
        server.configure(error_on="start", error_status=404, error_count=-1)
        with pytest.raises(Exception) as raised:
            client.actor("nobody/nothing").start(run_input={"profileUrls": URLS[:1]})
        typed = typed_error(client, raised.value, "starting nobody~nothing")
        assert isinstance(typed, ApifyHTTPError) and typed.status == 404
        assert TOKEN not in str(typed)


def test_a_run_that_outlasts_our_timeout_is_aborted():
    with ApifyTestServer(token=TOKEN) as server:
        server.configure(run_status="RUNNING")
        client = make_client(server.base_url, TOKEN, max_retries=0)
        run = client.actor("a/b").start(run_input={"profileUrls": URLS[:2]})
        with pytest.raises(ApifyRunTimeout, match="did not finish within 1.2s"):
            wait_for_run(client, run.id, remaining_s=1.2, timeout_s=1.2, http_timeout_s=2)
        assert server.runs[run.id]["status"] == "ABORTED"
        held = [r for r in server.requests if r.endpoint == "run"]
        assert held[0].query["waitForFinish"] == "1"  # the server held it up to a second


def test_gzip_request_bodies_are_read_and_unknown_encodings_refused():
    with ApifyTestServer(token=TOKEN) as server:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        body = json.dumps({"profileUrls": URLS[:3]}).encode()
        ok = httpx.post(
            f"{server.base_url}/v2/acts/a~b/runs",
            content=gzip.compress(body),
            headers={**headers, "Content-Encoding": "gzip"},
        )
        assert (
            ok.status_code == 201
            and len(server.datasets[ok.json()["data"]["defaultDatasetId"]]) == 3
        )
        refused = httpx.post(
            f"{server.base_url}/v2/acts/a~b/runs",
            content=body,
            headers={**headers, "Content-Encoding": "br"},
        )
        assert refused.status_code == 415


def test_test_server_runs_as_a_module_on_a_chosen_port(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "testing.apify", "--port", "0", "--month", "2"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        start_new_session=True,
    )
    try:
        line = proc.stdout.readline()
        base_url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        assert httpx.get(f"{base_url}/_test/state").json()["month"] == 2
        changed = httpx.post(
            f"{base_url}/_test/config", json={"month": 3, "faults": {"dataset": "empty"}}
        ).json()
        assert changed["month"] == 3 and changed["faults"]["dataset"] == "empty"
        bad = httpx.post(f"{base_url}/_test/config", json={"faults": {"dataset": "nonsense"}})
        assert bad.status_code == 400
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


# ---------------------------------------------------------------------------- pure helpers
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://www.linkedin.com/in/jane-doe", "https://www.linkedin.com/in/jane-doe"),
        ("HTTP://UK.LinkedIn.com/in/Jane-Doe/?trk=x#top", "https://www.linkedin.com/in/jane-doe"),
        ("linkedin.com/in/jane-doe/details/experience/", "https://www.linkedin.com/in/jane-doe"),
        (
            "  https://de.linkedin.com/company/acme-gmbh/about ",
            "https://www.linkedin.com/company/acme-gmbh",
        ),
        ("https://m.linkedin.com/in/j%C3%BCrgen", "https://www.linkedin.com/in/j%c3%bcrgen"),
        ("https://example.com/in/jane-doe", None),
        ("https://www.linkedin.com/feed/", None),
        ("linkedin profile pending", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_linkedin_url(given, expected):
    assert normalize_linkedin_url(given) == expected


def test_items_are_parsed_as_given_and_keyed_canonically():
    a = parse_item({"fullName": "Ada", "linkedinUrl": "https://linkedin.com/in/ada", "x": [1, 2]})
    b = parse_item({"x": [1, 2], "linkedinUrl": "https://linkedin.com/in/ada", "fullName": "Ada"})
    assert (
        a.item
        == b.item
        == json.dumps(
            {"fullName": "Ada", "linkedinUrl": "https://linkedin.com/in/ada", "x": [1, 2]},
            sort_keys=True,
            separators=(",", ":"),
        )
    )
    assert a.is_profile and a.profile_urls == {"https://www.linkedin.com/in/ada"}
    error = parse_item({"inputUrl": "https://www.linkedin.com/in/x", "error": "private"})
    assert not error.is_profile and error.input_url == "https://www.linkedin.com/in/x"
    odd = parse_item(
        {"fullName": {"first": "A"}, "url": "https://linkedin.com/in/a", "jobTitle": 7}
    )
    assert odd.full_name is None and odd.job_title == "7" and odd.linkedin_url


def test_barton_job_ids():
    assert barton_job_id(1) == "04.04.06.00.00000.001"
    assert barton_job_id(123_456_789) == "04.04.06.01.23456.789"
    with pytest.raises(ValueError):
        barton_job_id(0)


def test_mask_secrets_masks_every_secret_occurrence():
    text = f"GET /x?token={TOKEN} failed; Authorization: Bearer {TOKEN}"
    assert mask_secrets(text, (TOKEN, None)) == "GET /x?token=*** failed; Authorization: Bearer ***"
