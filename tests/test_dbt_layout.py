"""The dbt project's layout rules (dbt_project/README.md, "Layout and names"), checked on the
files themselves: no database, no dbt run."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

MODELS = Path(__file__).resolve().parents[1] / "dbt_project" / "models"
INTERMEDIATE = MODELS / "intermediate"
MAX_MODEL_LINES = 250
# entity prefixes in the plural: the rule puts the entity first in the singular
# (int_person_*, int_company_*), so one prefix finds every model of an entity
PLURAL_PREFIXES = ("people", "persons", "companies", "contacts", "emails", "signals", "profiles")


def _model_names(yml: Path) -> set[str]:
    return {m["name"] for m in (yaml.safe_load(yml.read_text()) or {}).get("models") or []}


def test_no_model_file_is_longer_than_250_lines():
    too_long = {
        str(path.relative_to(MODELS)): n
        for path in sorted(MODELS.rglob("*.sql"))
        if (n := len(path.read_text().splitlines())) > MAX_MODEL_LINES
    }
    assert not too_long, (
        f"model files over {MAX_MODEL_LINES} lines (split them into macros or ephemeral "
        f"models): {too_long}"
    )


def test_intermediate_models_live_in_area_folders_beside_their_yaml():
    loose = sorted(p.name for p in INTERMEDIATE.glob("*.sql"))
    assert not loose, f"intermediate models outside an intermediate/<area>/ folder: {loose}"
    areas = sorted(p for p in INTERMEDIATE.iterdir() if p.is_dir())
    assert areas
    for area in areas:
        ymls = sorted(area.glob("*.yml"))
        assert [p.name for p in ymls] == [f"_int_{area.name}__models.yml"], area
        declared = _model_names(ymls[0])
        files = {p.stem for p in area.rglob("*.sql")}
        assert files <= declared, f"{area.name}: models without YAML here: {files - declared}"
        assert declared <= files, f"{area.name}: YAML for models elsewhere: {declared - files}"


def test_intermediate_model_names_put_the_entity_first_in_the_singular():
    names = sorted(p.stem for p in INTERMEDIATE.rglob("*.sql"))
    assert names
    pattern = re.compile(r"^int_(?!(" + "|".join(PLURAL_PREFIXES) + r")_)[a-z0-9]+(_[a-z0-9]+)+$")
    wrong = [name for name in names if not pattern.match(name)]
    assert not wrong, f"intermediate models not named int_<entity>_<rows>[_<verb>]: {wrong}"
