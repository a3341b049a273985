"""The LinkedIn connection funnel from OpenOutreach: a generated crm.db (testing/
openoutreach_crm.py, DjangoCRM shapes) through the loader, one dbt build of the funnel
models, the scorer. Counts are checked against an independent reading of the SQLite file."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from app.dbt import run_dbt
from loaders.openoutreach.run import CrmFileError, load_crm
from testing.openoutreach_crm import CrmSpec, generate_crm

START = date(2026, 1, 5)
T1, AS_OF = date(2026, 4, 20), date(2026, 4, 27)  # alice's first load; then a week on
MATURITY = 21
ALICE = CrmSpec(leads=1500, seed=7, start=START, weeks=16, slug_prefix="alice")
BOB = CrmSpec(leads=400, seed=8, start=START, weeks=16, slug_prefix="bob")
NOW = datetime(2026, 4, 27, 12, tzinfo=UTC)
MODELS = "staging.openoutreach intermediate.linkedin_funnel marts.marketing.linkedin_funnel"
# the people graph the profile context reads, built without its own tests (other modules test it)
PARENTS = [f"+int_connection_profile_context,resource_type:{k}" for k in ("model", "seed")]
PARENTS.append("openoutreach_allowed_transitions")


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(url: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def _independent_states(crm) -> dict[int, list[tuple[date, str]]]:
    """deal id -> its state moves, read straight from SQLite: creation at discovered, each
    stages_dates line, repeats of the same state dropped."""
    conn = sqlite3.connect(crm)
    out = {}
    for deal_id, created, lines in conn.execute(
        "select id, creation_date, stages_dates from crm_deal"
    ):
        moves = [(date.fromisoformat(created[:10]), "discovered")]
        for line in lines.splitlines():
            m = re.match(r"^(\d{4}-\d{2}-\d{2}) - (.+)$", line.strip())
            if m and m.group(2).lower() != moves[-1][1]:
                moves.append((date.fromisoformat(m.group(1)), m.group(2).lower()))
        out[deal_id] = moves
    conn.close()
    return out


@pytest.fixture(scope="module")
def world(warehouse, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("openoutreach")
    alice, bob = tmp / "alice.db", tmp / "bob.db"
    generate_crm(alice, CrmSpec(**{**ALICE.__dict__, "today": T1}))
    generate_crm(bob, CrmSpec(**{**BOB.__dict__, "today": AS_OF}))
    first = load_crm(alice, "alice", database_url=warehouse)
    from app.cli import main

    assert main(["load", "openoutreach", "--crm", str(bob), "--account", "bob"]) == 0
    generate_crm(alice, CrmSpec(**{**ALICE.__dict__, "today": AS_OF}))  # a week on
    before = _sha(alice)
    second = load_crm(alice, "alice", database_url=warehouse)
    snapshot = _rows(warehouse, "select * from raw_openoutreach.crm_deal order by account, id")
    third = load_crm(alice, "alice", database_url=warehouse)
    again = _rows(warehouse, "select * from raw_openoutreach.crm_deal order by account, id")
    # one people_master person whose LinkedIn URL is written another way than OpenOutreach's
    slug = sqlite3.connect(alice).execute("select website from crm_lead where id = 40").fetchone()
    variant = "http://uk.linkedin.com/in/" + slug[0].split("/in/")[1].upper() + "?trk=x"
    people, companies = tmp / "people.csv", tmp / "companies.csv"
    companies.write_text("company_name,website_url\nAcme,https://acme.com\n")
    people.write_text(
        "full_name,title,email,linkedin_url,company_name\n"
        f"Ana Meyer,Sales Director,ana@acme.com,{variant},Acme\n"
    )
    from loaders.intake.run import load_intake_files

    load_intake_files(companies, people, progress=lambda _m: None, database_url=warehouse)
    vars_ = f"{{as_of: '{AS_OF}', pending_maturity_days: {MATURITY}}}"
    proc = run_dbt(
        ["build", "--select", *MODELS.split(), *PARENTS, "--indirect-selection", "cautious",
         "--vars", vars_],
        url=warehouse, check=False, capture=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:]
    return {
        "url": warehouse, "alice": alice, "bob": bob, "first": first, "second": second,
        "third": third, "sha_before": before, "snapshot": snapshot, "again": again,
        "linked_url": slug[0],
    }  # fmt: skip


def test_the_loader_lands_each_account_side_by_side_without_writing_the_file(world):
    url = world["url"]
    for account, crm in (("alice", world["alice"]), ("bob", world["bob"])):
        conn = sqlite3.connect(crm)
        for table in ("crm_lead", "crm_deal", "crm_stage", "crm_closingreason"):
            (expected,) = conn.execute(f"select count(*) from {table}").fetchone()
            (landed,) = _rows(
                url, f"select count(*) from raw_openoutreach.{table} where account = %s", (account,)
            )[0]
            assert landed == expected, (account, table)
        conn.close()
    assert _sha(world["alice"]) == world["sha_before"]  # opened read-only


def test_a_rerun_reads_only_what_changed_and_converges(world):
    first, second, third = world["first"], world["second"], world["third"]
    conn = sqlite3.connect(world["alice"])
    (changed,) = conn.execute(
        "select count(*) from crm_deal where update_date >= ?", (f"{T1} 00:00",)
    ).fetchone()
    (total,) = conn.execute("select count(*) from crm_deal").fetchone()
    assert first.rows["crm_deal"] < total  # a week later there are more deals
    assert 0 < second.rows["crm_deal"] <= changed < total  # incremental: not the whole table
    assert third.rows["crm_deal"] < second.rows["crm_deal"]  # only the boundary again
    assert third.totals == second.totals
    assert world["again"] == world["snapshot"]  # the re-run changed nothing


def test_a_file_that_is_not_a_crm_db_is_refused_naming_what_is_missing(world, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("not sqlite at all " * 100)
    with pytest.raises(CrmFileError, match="junk.db: not a SQLite database"):
        load_crm(junk, "x", database_url=world["url"])
    partial = tmp_path / "partial.db"
    conn = sqlite3.connect(partial)
    conn.execute("create table crm_stage (id integer, name text)")
    conn.close()
    with pytest.raises(CrmFileError, match="table crm_stage lacks column.*index_number"):
        load_crm(partial, "x", database_url=world["url"])
    with pytest.raises(CrmFileError, match="no such file"):
        load_crm(tmp_path / "missing.db", "x", database_url=world["url"])
    with pytest.raises(CrmFileError, match="account 'Bad Name'"):
        load_crm(world["alice"], "Bad Name", database_url=world["url"])


def test_funnel_counts_equal_an_independent_count(world):
    moves = _independent_states(world["alice"])
    counts: dict[tuple[date, str], set[int]] = defaultdict(set)
    matured = accepted_matured = 0
    for deal_id, history in moves.items():
        for at, state in history:
            if at <= AS_OF:
                counts[(at - timedelta(days=at.weekday()), state)].add(deal_id)
        sent = [at for at, s in history if s == "pending"]
        if sent and sent[0] <= AS_OF - timedelta(days=MATURITY):
            matured += 1
            after = history[[s for _, s in history].index("pending") + 1 :]
            accepted_matured += any(s in ("connected", "completed") for _, s in after)
    rows = _rows(
        world["url"],
        "select week_start, discovered, enriched, requests_sent, accepted, messaged, failed,"
        " ignored, matured_requests, accepted_matured from marketing.linkedin_connection_funnel"
        " where account = 'alice' order by week_start",
    )
    assert rows
    states = ["discovered", "enriched", "pending", "connected", "completed", "failed", "ignored"]
    for week, *got in rows:
        assert got[:7] == [len(counts[(week, s)]) for s in states], week
    assert sum(r[8] for r in rows) == matured
    assert sum(r[9] for r in rows) == accepted_matured


def test_young_unanswered_requests_are_left_out_of_the_training_set(world):
    url, cutoff = world["url"], AS_OF - timedelta(days=MATURITY)
    moves = _independent_states(world["alice"])
    young_unanswered = 0
    for history in moves.values():
        states = [s for _, s in history]
        if "pending" in states and history[states.index("pending")][0] > cutoff:
            answered = states[states.index("pending") + 1 :]
            young_unanswered += not answered
    assert young_unanswered > 50  # the rule has something to do
    (wrong,) = _rows(
        url,
        "select count(*) from marketing.ml_connection_accepted where accepted = 0"
        " and requested_on > %s",
        (cutoff,),
    )[0]
    assert wrong == 0
    (young_pos, matured_flag_ok) = _rows(
        url,
        "select count(*) filter (where requested_on > %s),"
        " bool_and(is_matured = (requested_on <= %s)) from marketing.ml_connection_accepted",
        (cutoff, cutoff),
    )[0]
    assert young_pos > 0 and matured_flag_ok  # young acceptances kept, marked not matured
    columns = {r[0] for r in _rows(url, "select column_name from information_schema.columns"
                                        " where table_schema = 'marketing'"
                                        " and table_name = 'ml_connection_accepted'")}  # fmt: skip
    from orchestration.connect_scorer import MECHANICAL_FEATURES

    assert len(MECHANICAL_FEATURES) == 24
    assert set(MECHANICAL_FEATURES) | {"profile_text", "accepted"} <= columns


def test_forbidden_transitions_are_flagged_not_dropped_and_profiles_link_to_people(world):
    moves = _independent_states(world["alice"])
    expected = sum(
        1
        for h in moves.values()
        for (_, a), (at, b) in zip(h, h[1:], strict=False)
        if at <= AS_OF and (a, b) in {("discovered", "connected"), ("completed", "pending")}
    )
    rows = _rows(
        world["url"],
        "select from_state, to_state, count(*) from marketing.linkedin_connection_transitions"
        " where account = 'alice' and not is_allowed group by 1, 2",
    )
    assert expected > 0 and sum(n for *_, n in rows) == expected
    assert {(a, b) for a, b, _ in rows} <= {("discovered", "connected"), ("completed", "pending")}
    linked = _rows(
        world["url"],
        "select distinct t.profile, t.person_unique_id from marketing.linkedin_connection_transitions t"
        " where t.person_unique_id is not null",
    )
    canonical = world["linked_url"].rstrip("/")
    assert linked and linked[0][0] == canonical and linked[0][1].startswith("04.04.02.")


@pytest.fixture(scope="module")
def scored(world):
    from orchestration.connect_scorer import score_connect_queue

    queue = "select account, deal_id, lead_id, profile, score, sampled_score, rank, method," \
            " reason, model_version from marketing.connect_queue order by account, rank"  # fmt: skip
    first = score_connect_queue(world["url"], seed=3, n_bootstrap=5, now=NOW)
    rows1 = _rows(world["url"], queue)
    second = score_connect_queue(world["url"], seed=3, n_bootstrap=5, now=NOW)
    rows2 = _rows(world["url"], queue)
    return first, second, rows1, rows2


def test_the_scorer_beats_the_keyword_baseline_on_held_out_requests(scored):
    result = scored[0]
    print(f"held-out ROC-AUC {result.metrics['roc_auc']} vs keywords "
          f"{result.metrics['keyword_roc_auc']}; PR-AUC {result.metrics['pr_auc']}")  # fmt: skip
    assert result.method == "model"
    assert result.rows_test > 50
    assert result.metrics["roc_auc"] >= result.metrics["keyword_roc_auc"] + 0.05
    assert result.calibration and result.top_features


def test_the_connect_queue_is_identical_across_rebuilds_with_the_same_seed(world, scored):
    first, second, rows1, rows2 = scored
    assert first.model_version == second.model_version
    assert rows1 == rows2 and len(rows1) == first.candidates > 0
    ranks = defaultdict(list)
    for account, *_, rank, _m, _r, _v in rows1:
        ranks[account].append(rank)
    assert all(r == list(range(1, len(r) + 1)) for r in ranks.values())
    history = _rows(world["url"], "select count(*), min(roc_auc) from marketing.connect_model_history"
                                  " where model_version = %s", (first.model_version,))  # fmt: skip
    assert history[0][0] == 1 and history[0][1] == first.metrics["roc_auc"]


def test_with_too_little_data_the_scorer_falls_back_and_says_why(world, scored, tmp_path):
    from orchestration.connect_scorer import score_connect_queue

    cold = score_connect_queue(world["url"], min_rows=10**6, now=NOW)
    assert cold.method == "keywords" and "fewer than 1000000" in cold.reason
    top = _rows(world["url"], "select method, reason from marketing.connect_queue where rank = 1")
    assert top and all(m == "keywords" and r.startswith("keywords +") for m, r in top)
    empty = tmp_path / "none.yaml"
    empty.write_text("positive: []\nnegative: []\n")
    arrival = score_connect_queue(world["url"], min_rows=10**6, keywords_path=empty, now=NOW)
    assert arrival.method == "arrival" and "arrival order" in arrival.reason
    bad = tmp_path / "bad.yaml"
    bad.write_text("positive: sales\n")
    with pytest.raises(ValueError, match="bad.yaml: positive: expected a list"):
        score_connect_queue(world["url"], keywords_path=bad, now=NOW)


def test_the_dagster_assets_load_and_score_through_the_same_entry_points(world, scored):
    import dagster as dg

    from orchestration.assets.openoutreach import connect_queue, openoutreach_load
    from orchestration.resources import WarehouseResource

    resources = {"warehouse": WarehouseResource(database_url=world["url"])}
    config = {"crm_path": str(world["bob"]), "account": "bob"}
    loaded = dg.materialize(
        [openoutreach_load],
        resources=resources,
        run_config={"ops": {"openoutreach_load": {"config": config}}},
    )
    assert loaded.success
    deal = next(
        m
        for m in loaded.asset_materializations_for_node("openoutreach_load")
        if m.asset_key == dg.AssetKey(["raw_openoutreach", "crm_deal"])
    )
    assert deal.metadata["dagster/row_count"].value == 400  # bob again: converged, not doubled
    queue = (
        "select account, deal_id, rank, model_version from marketing.connect_queue order by 1, 3"
    )
    ranked = dg.materialize(
        [connect_queue],
        resources=resources,
        run_config={"ops": {"marketing__connect_queue": {"config": {"seed": 3, "n_bootstrap": 5}}}},
    )
    assert ranked.success
    (m,) = ranked.asset_materializations_for_node("marketing__connect_queue")
    assert m.metadata["model_version"].value == scored[0].model_version  # same data + seed
    assert m.metadata["roc_auc"].value == scored[0].metrics["roc_auc"]
    assert "| bin |" in m.metadata["calibration"].value
    assert _rows(world["url"], queue) == [(r[0], r[1], r[6], r[9]) for r in scored[2]]
