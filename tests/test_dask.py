"""Hyper-parameter search over augmentation strengths on a Dask cluster, through joblib."""

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from sk3kg import ThreeKGEmbedder
from sk3kg.vcg import vcg_to_ecg

from .conftest import smooth_vcg

distributed = pytest.importorskip("dask.distributed")

SMALL = {"width": 4, "depth": 1, "max_epochs": 1, "batch_size": 16, "random_state": 0}


@pytest.fixture
def ecgs(rng):
    vcg = smooth_vcg(rng, 32, 128)
    return vcg_to_ecg(vcg).astype(np.float32), (vcg[:, 0].mean(1) > 0).astype(int)


def _search():
    pipe = Pipeline([("emb", ThreeKGEmbedder(**SMALL)), ("clf", LogisticRegression())])
    grid = {"emb__angle": [15.0, 45.0], "emb__mask_ratio": [0.25, 0.5]}
    return GridSearchCV(pipe, grid, cv=2, n_jobs=-1)


def test_grid_search_on_a_dask_cluster_matches_the_local_search(ecgs):
    X, y = ecgs
    # A real scheduler and worker talking TCP on loopback; threads, so no torch re-import.
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
        host="127.0.0.1", dashboard_address=None,
    )  # fmt: skip
    with cluster, distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as tasks, joblib.parallel_config("dask"):
            on_cluster = _search().fit(X, y)
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        (worker,) = client.scheduler_info()["workers"]
    # joblib batches the 8 fits into Dask tasks; all of them ran on the cluster's worker.
    assert tasks.data and {task["worker"] for task in tasks.data} == {worker}
    local = _search().set_params(n_jobs=1).fit(X, y)
    for key in ("params", "mean_test_score", "rank_test_score"):
        np.testing.assert_array_equal(on_cluster.cv_results_[key], local.cv_results_[key])
    assert on_cluster.best_params_ == local.best_params_
