"""The Dagster code location loads and its asset graph is one lineage: loader -> dbt -> marts.

No database needed: loading the definitions must not touch the warehouse.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

INTAKE_KEYS = [
    "raw_intake/companies",
    "raw_intake/people",
    "raw_intake/deals",
    "raw_intake/quarantine",
]
MART_KEYS = [
    "company/company",
    "company/company_slot",
    "people/contact",
    "marketing/company_master",
    "marketing/people_master",
]


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="module")
def graph(defs):
    return defs.resolve_asset_graph()


def upstream_closure(graph, start: dg.AssetKey) -> dict[dg.AssetKey, set[dg.AssetKey]]:
    """Every asset upstream of ``start`` with its direct parents."""
    parents: dict[dg.AssetKey, set[dg.AssetKey]] = {}
    todo = [start]
    while todo:
        current = todo.pop()
        if current in parents:
            continue
        parents[current] = set(graph.get(current).parent_keys)
        todo.extend(parents[current])
    return parents


def path_between(graph, downstream: dg.AssetKey, upstream: dg.AssetKey) -> list[dg.AssetKey]:
    """A dependency path upstream -> ... -> downstream, or [] if there is none."""
    parents = upstream_closure(graph, downstream)

    def walk(node: dg.AssetKey) -> list[dg.AssetKey]:
        if node == upstream:
            return [node]
        for parent in sorted(parents.get(node, ()), key=str):
            found = walk(parent)
            if found:
                return [*found, node]
        return []

    return walk(downstream)


def test_definitions_load_and_validate(defs):
    dg.Definitions.validate_loadable(defs)


def test_intake_loader_assets_are_keyed_by_raw_table_in_group_intake(graph):
    for k in INTAKE_KEYS:
        node = graph.get(key(k))
        assert node.is_materializable, k
        assert node.group_name == "intake"
        assert node.parent_keys == set(), f"{k} should have no made-up upstream keys"
        assert "dlt" in node.kinds


def test_published_marts_are_keyed_by_schema_and_table(graph):
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for k in MART_KEYS:
        assert k in keys
        assert graph.get(key(k)).is_materializable


DOMAIN_GROUPS = [
    "intake",
    "linkedin_refresh",
    "email_verification",
    "ads",
    "ops",
    "campaigns",
    "exports",
]


def test_dbt_models_are_grouped_by_domain(graph):
    assert graph.get(key("staging/stg_intake__companies")).group_name == "intake"
    assert graph.get(key("company/company")).group_name == "intake"
    assert graph.get(key("marketing/people_intelligence")).group_name == "linkedin_refresh"
    assert graph.get(key("people/contact_verification")).group_name == "email_verification"
    assert graph.get(key("marketing/kpi_current_values")).group_name == "ads"
    assert graph.get(key("marketing/pipeline_errors")).group_name == "ops"
    assert graph.get(key("bit/signal")).group_name == "campaigns"
    assert graph.get(key("exports/kpi_alerts_webhook")).group_name == "exports"
    assert graph.get(key("exports/ple_enqueue_webhook")).group_name == "exports"


def test_every_asset_has_a_domain_group_an_owner_and_a_description(graph):
    for k in graph.get_all_asset_keys():
        node = graph.get(k)
        name = k.to_user_string()
        assert node.group_name in DOMAIN_GROUPS, (name, node.group_name)
        assert node.owners == ["team:data-platform"], name
        assert (node.description or "").strip(), name


def test_raw_ops_tables_have_a_description_and_a_kind(graph):
    raw_ops = [k for k in graph.get_all_asset_keys() if k.path[0] == "raw_ops"]
    assert key("raw_ops/pipeline_events") in raw_ops
    for k in raw_ops:
        node = graph.get(k)
        assert node.description.startswith(f"raw_ops.{k.path[-1]}: "), k
        assert "postgres" in node.kinds, k


def test_every_check_has_a_description_dbt_tests_one_made_from_their_kwargs(graph):
    for check_key in graph.asset_check_keys:
        spec = graph.get_check_spec(check_key)
        assert (spec.description or "").strip(), check_key.to_user_string()
    accepted = [
        graph.get_check_spec(c).description
        for c in graph.asset_check_keys
        if c.asset_key == key("people/contact_verification")
        and c.name.startswith("accepted_values_contact_verification_email_status")
    ]
    assert accepted == [
        "accepted_values on contact_verification.email_status: green, yellow, red, gray"
    ]


def test_the_group_graph_reads_left_to_right_without_a_cycle(graph):
    import graphlib

    edges: dict[str, set[str]] = {g: set() for g in DOMAIN_GROUPS}
    for k in graph.get_all_asset_keys():
        child = graph.get(k).group_name
        for parent in graph.get(k).parent_keys:
            if graph.get(parent).group_name != child:
                edges[child].add(graph.get(parent).group_name)
    order = list(graphlib.TopologicalSorter(edges).static_order())  # CycleError on a loop
    assert order.index("intake") < order.index("exports")
    # and no edge runs against the declared order
    for child, parents in edges.items():
        for parent in parents:
            assert DOMAIN_GROUPS.index(parent) < DOMAIN_GROUPS.index(child), (parent, child)


def test_dbt_intake_sources_are_the_loader_assets_not_stubs(graph):
    for table in ("companies", "people", "deals", "quarantine"):
        raw = key(f"raw_intake/{table}")
        node = graph.get(raw)
        assert node.is_materializable and node.group_name == "intake"  # the dlt asset
        assert raw in graph.get(key(f"staging/stg_intake__{table}")).parent_keys


def test_only_raw_tables_of_loaders_not_yet_here_are_external(graph):
    # A dbt source whose loader has no asset in this code location yet shows up as an
    # external asset; nothing else may (no model, no intake table).
    external = [k for k in graph.get_all_asset_keys() if not graph.get(k).is_materializable]
    assert all(k.path[0].startswith("raw_") for k in external), external
    assert not [k for k in external if k.path[0] == "raw_intake"]


@pytest.mark.parametrize("mart", MART_KEYS)
def test_every_mart_descends_from_the_intake_loader(graph, mart):
    chain = path_between(graph, key(mart), key("raw_intake/companies"))
    if not chain:
        chain = path_between(graph, key(mart), key("raw_intake/people"))
    assert chain, f"{mart} has no path to a raw_intake asset"


def test_company_mart_lineage_runs_loader_staging_intermediate_mart(graph):
    chain = path_between(graph, key("company/company"), key("raw_intake/companies"))
    names = [k.to_user_string() for k in chain]
    assert names[0] == "raw_intake/companies"
    assert names[1] == "staging/stg_intake__companies"
    assert names[-1] == "company/company"
    assert {graph.get(k).group_name for k in chain} == {"intake"}


def test_dbt_tests_are_asset_checks_on_the_models(graph):
    checks = list(graph.asset_check_keys)
    assert len(checks) > 10
    on_company = {c.name for c in checks if c.asset_key == key("company/company")}
    assert any(name.startswith("unique_") and "company_id" in name for name in on_company), (
        on_company
    )
    assert any(name.startswith("not_null_") for name in on_company)
    # every check sits on a known asset
    keys = set(graph.get_all_asset_keys())
    assert {c.asset_key for c in checks} <= keys


def test_intake_and_build_job_covers_the_load_and_every_dbt_asset(defs, graph):
    from orchestration.assets.dbt import outreach_dbt_assets
    from orchestration.assets.loads import intake_assets

    job = defs.resolve_job_def("intake_and_build")
    selected = job.asset_layer.selected_asset_keys
    assert {key(k) for k in INTAKE_KEYS + MART_KEYS} <= selected
    # every dbt asset; other loaders' assets run in their own jobs
    assert selected == set(intake_assets.keys) | set(outreach_dbt_assets.keys)
    checks = job.asset_layer.asset_graph.asset_check_keys
    assert checks, "the job should run the dbt tests as asset checks"


def test_intake_run_config_takes_file_paths(defs):
    job = defs.resolve_job_def("intake_and_build")
    config_type = job.run_config_schema.config_type
    ops = config_type.fields["ops"].config_type.fields
    intake_fields = ops["intake_load"].config_type.fields["config"].config_type.fields
    assert {"companies_path", "people_path"} <= set(intake_fields)
    assert not ops["intake_load"].is_required, "paths default to env vars / demo files"


def test_resources_and_no_fake_schedules(defs):
    resources = defs.resources or {}
    assert {"dbt", "dlt", "warehouse"} <= set(resources)
    # a schedule only for a real job with a cron (the loaders' own tests check theirs)
    crons = {s.name: s.cron_schedule for s in defs.schedules or []}
    assert crons == {
        "linkedin_refresh_monthly": "0 2 1 * *",
        "verify_emails_daily": "0 6 * * *",
        "company_pages_weekly": "0 4 * * 1",
        "linkedin_ads_every_6_hours": "0 */6 * * *",
        "ads_kpi_midnight_backup": "0 0 * * *",
    }
    tick = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
    for schedule in defs.schedules or []:
        assert defs.resolve_job_def(schedule.job_name).asset_layer.selected_asset_keys
        # a tick asks for a run of its job (no schedule skips or errors on evaluation)
        context = dg.build_schedule_context(scheduled_execution_time=tick)
        result = schedule.evaluate_tick(context)
        assert result.skip_message is None, schedule.name
        assert [r.job_name or schedule.job_name for r in result.run_requests] == [
            schedule.job_name
        ], schedule.name
    # every sensor is one of ours, and the ones that start runs start a real job
    sensors = {s.name: s for s in defs.sensors or []}
    assert set(sensors) == {
        "linkedin_refresh_rate_limit_retry",
        "linkedin_ads_kpi_trigger",
        "pipeline_run_failures",
        "ple_outbox_trigger",
        "email_events_arrivals",
    }
    # the raw event tables the email_events_arrivals sensor reports on are in the graph
    from orchestration.assets.campaigns import KEYS

    assert set(KEYS.values()) <= set(defs.resolve_asset_graph().get_all_asset_keys())
    for sensor in sensors.values():
        for target in sensor.targets:
            assert defs.resolve_job_def(target.job_name).asset_layer.selected_asset_keys


def test_intake_tables_load_together_never_as_a_subset(defs):
    from orchestration.assets.loads import intake_assets

    assert set(intake_assets.keys) == {key(k) for k in INTAKE_KEYS}
    assert not intake_assets.can_subset


def test_source_tests_are_checks_on_the_loader_assets(graph):
    on_raw = {c.name for c in graph.asset_check_keys if c.asset_key == key("raw_intake/companies")}
    assert any("unique" in name and "_row_key" in name for name in on_raw), on_raw


class TestIntakeFilePaths:
    """Run config wins, then OUTREACH_INTAKE_*, then the demo files; none is a failure."""

    @pytest.fixture(autouse=True)
    def clean_env(self, monkeypatch, tmp_path):
        monkeypatch.delenv("OUTREACH_INTAKE_COMPANIES", raising=False)
        monkeypatch.delenv("OUTREACH_INTAKE_PEOPLE", raising=False)
        monkeypatch.setenv("OUTREACH_STATE_DIR", str(tmp_path / "state"))

    def config(self, **paths):
        from orchestration.assets.loads import IntakeFilesConfig

        return IntakeFilesConfig(**paths)

    def test_run_config_paths_win_over_the_environment(self, monkeypatch, tmp_path):
        monkeypatch.setenv("OUTREACH_INTAKE_COMPANIES", "/elsewhere/companies.csv")
        companies, people = self.config(companies_path=str(tmp_path / "c.csv")).resolve()
        assert companies == tmp_path / "c.csv"
        assert people is None

    def test_environment_fills_unset_paths(self, monkeypatch):
        monkeypatch.setenv("OUTREACH_INTAKE_PEOPLE", "/in/people.jsonl")
        assert self.config().resolve() == (None, Path("/in/people.jsonl"))

    def test_demo_files_when_nothing_is_given(self, tmp_path):
        demo = tmp_path / "state" / "demo"
        demo.mkdir(parents=True)
        (demo / "companies.csv").write_text("company_name\n")
        (demo / "people.jsonl").write_text("full_name\n")
        assert self.config().resolve() == (demo / "companies.csv", demo / "people.jsonl")

    def test_no_files_anywhere_fails_with_what_to_do(self):
        with pytest.raises(dg.Failure, match="companies_path"):
            self.config().resolve()


def test_ple_export_runs_after_its_outbox_model_and_a_sensor_starts_it(defs, graph):
    step = key("exports/ple_enqueue_webhook")
    assert graph.get(step).is_materializable
    assert key("marketing/ple_enqueue_outbox") in graph.get(step).parent_keys
    assert path_between(graph, step, key("marketing/people_intelligence"))
    job = defs.resolve_job_def("ple_export_job")
    assert job.asset_layer.selected_asset_keys == {step}
    sensor = next(s for s in defs.sensors if s.name == "ple_outbox_trigger")
    assert sensor.job_name == "ple_export_job"
    # the alert step stays with the ads flow; the delivery-state mart reads both outboxes
    state = graph.get(key("marketing/outbox_delivery_state")).parent_keys
    assert {key("marketing/ple_enqueue_outbox"), key("marketing/kpi_alert_notifications")} <= state
    assert key("staging/stg_ops__deliveries") in state
