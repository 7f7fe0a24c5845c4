"""A movement file copied into the store under another name: serve's /movements and /customers answer 503.

They read the files a listing names, so a backup kept beside a day's file answered each of its
people twice (twice on a /movements page, a customer's visits doubled) while `sql` and `kpis`
refused the store. The check is made again only when the movement files changed, not on every
request.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from retail_intel.config import load_config
from retail_intel.demo.generate import generate_demo
from retail_intel.movements import repeats
from retail_intel.serve import create_app, repeatgate
from retail_intel.storage import parquet_files
from tests.store_fixtures import copy_store
from tests.test_serve_support import Api


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("demo")
    generate_demo(root / "config", root / "data", branches=1, days=2, seed=5, start=dt.date(2026, 2, 2))
    return root / "config", root / "data"


@pytest.fixture
def store(demo: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    return demo[0], copy_store(demo[1], tmp_path / "data")


def _copy(data_dir: Path) -> Path:
    original = next(p for p in parquet_files(data_dir / "movements") if pq.read_metadata(p).num_rows > 0)
    copy = original.with_name("backup-copy.parquet")
    copy.write_bytes(original.read_bytes())
    return copy


def test_a_copied_movement_file_answers_movements_and_customers_with_503(store: tuple[Path, Path]) -> None:
    config_dir, data_dir = store
    api = Api(create_app(config_dir, data_dir))
    branch = load_config(config_dir).branches[0].id
    page = api.ok("/movements", params={"branch": branch, "limit": 1000})
    person = page["rows"][0]["customer_id"]
    summary = api.ok(f"/customers/{person}")
    copy = _copy(data_dir)

    for url, params in (
        ("/movements", {"branch": branch, "limit": 1000}),
        ("/movements", {}),
        (f"/customers/{person}", {}),
    ):
        response = api.get(url, params=params)
        assert response.status_code == 503, url
        detail = response.json()["detail"]
        assert detail.startswith("customer_branch_movement: the same movement (customer_id, branch_id, enter_time")
        assert "backup-copy.parquet" in detail

    copy.unlink()
    assert api.ok("/movements", params={"branch": branch, "limit": 1000}) == page
    assert api.ok(f"/customers/{person}") == summary


def test_the_store_is_checked_again_only_when_its_files_changed(
    store: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir, data_dir = store
    checks: list[str | None] = []

    def counted(data: Path, branch_id: str | None = None) -> None:
        checks.append(branch_id)
        repeats.refuse_repeated_movement_store(data, branch_id)

    monkeypatch.setattr(repeatgate, "refuse_repeated_movement_store", counted)
    api = Api(create_app(config_dir, data_dir))
    branch = load_config(config_dir).branches[0].id
    one = {"branch": branch, "limit": 10}
    for _ in range(3):
        api.ok("/movements", params=one)
    assert checks == [branch]  # one branch's folder, checked once
    copy = _copy(data_dir)
    assert api.get("/movements", params=one).status_code == 503
    refused = len(checks)  # a refusal is looked at twice, as sql does (a file may have vanished meanwhile)
    assert refused > 2
    assert api.get("/movements", params=one).status_code == 503  # the refusal is kept, not checked again
    assert len(checks) == refused
    assert api.get("/movements").status_code == 503  # all branches: a listing of its own
    assert checks[refused:] and set(checks[refused:]) == {None}
    copy.unlink()
    api.ok("/movements", params=one)
    api.ok("/movements", params=one)
    assert checks[-1] == branch and checks.count(branch) == refused + 1


def test_health_is_degraded_while_a_copied_movement_file_is_in_the_store(store: tuple[Path, Path]) -> None:
    # /health counted the copy's rows in counts.movements and said ok while /movements answered 503
    config_dir, data_dir = store
    api = Api(create_app(config_dir, data_dir))
    assert api.ok("/health")["status"] == "ok"
    copy = _copy(data_dir)
    health = api.ok("/health")
    assert health["status"] == "degraded"
    assert not health["data"]["ok"]
    assert health["data"]["problem"].startswith("customer_branch_movement: the same movement (customer_id")
    assert "backup-copy.parquet" in health["data"]["problem"]
    assert str(data_dir) not in health["data"]["problem"]  # paths are scrubbed as for the other problems
    copy.unlink()
    assert api.ok("/health")["status"] == "ok"
