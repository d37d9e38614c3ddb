"""Memory-mapped arrays and torch Datasets are streamed batch by batch, never copied whole."""

import pickle
import tracemalloc

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from sk3kg import ThreeKGEmbedder
from sk3kg._data import SignalDataset, memmap_reader
from sk3kg.vcg import vcg_to_ecg

from .conftest import smooth_vcg

SMALL = {"width": 4, "depth": 1, "max_epochs": 1, "batch_size": 16, "random_state": 0}


class ItemsDataset(Dataset):
    """A map-style Dataset over a list of items, as a user would write one."""

    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


@pytest.fixture(scope="module")
def ecgs():
    ecgs = vcg_to_ecg(smooth_vcg(np.random.default_rng(0), 40, 128)).astype(np.float32)
    ecgs.setflags(write=False)
    return ecgs


@pytest.fixture(scope="module")
def embeddings_in_memory(ecgs):
    return ThreeKGEmbedder(**SMALL).fit(ecgs).transform(ecgs)


def _mapped(array, path, mode="r"):
    np.save(path, array)
    return np.load(path, mmap_mode=mode)


@pytest.mark.parametrize("layout", ["3d", "flattened", "float64", "fortran-order"])
def test_memmaps_give_the_embeddings_of_the_array_in_memory(
    ecgs, embeddings_in_memory, tmp_path, layout
):
    stored = {
        "3d": ecgs,
        "flattened": ecgs.reshape(len(ecgs), -1),
        "float64": ecgs.astype(np.float64),
        "fortran-order": np.asfortranarray(ecgs),
    }[layout]
    mapped = _mapped(stored, tmp_path / "ecgs.npy")
    embedder = ThreeKGEmbedder(**SMALL).fit(mapped)
    np.testing.assert_array_equal(embedder.transform(mapped), embeddings_in_memory)
    assert embedder.n_features_in_ == 12 * 128


def test_a_copy_on_write_memmap_streams_its_edits_not_the_file(ecgs, tmp_path):
    # Its edits live only in this process's pages, so it is read through the map.
    mapped = _mapped(ecgs, tmp_path / "ecgs.npy", mode="c")
    mapped[0] = 0.0
    edited = ecgs.copy()
    edited[0] = 0.0
    expected = ThreeKGEmbedder(**SMALL).fit(edited).transform(edited)
    np.testing.assert_array_equal(ThreeKGEmbedder(**SMALL).fit(mapped).transform(mapped), expected)


def test_torch_dataset_of_tensors_gives_the_embeddings_of_the_array(ecgs, embeddings_in_memory):
    dataset = ItemsDataset([torch.tensor(x) for x in ecgs])
    embedder = ThreeKGEmbedder(**SMALL, group_size=1).fit(dataset, groups=np.arange(len(ecgs)))
    np.testing.assert_array_equal(embedder.transform(dataset), embeddings_in_memory)


def test_dataloader_workers_give_the_embeddings_of_the_main_process(
    ecgs, embeddings_in_memory, tmp_path
):
    mapped = _mapped(ecgs, tmp_path / "ecgs.npy")
    workers = ThreeKGEmbedder(**SMALL, num_workers=2).fit(mapped).transform(mapped)
    np.testing.assert_array_equal(workers, embeddings_in_memory)


def test_streaming_a_memmap_never_copies_it_into_memory(rng, tmp_path):
    mapped = _mapped(rng.normal(size=(640, 12, 256)).astype(np.float32), tmp_path / "big.npy")
    ThreeKGEmbedder(**SMALL).fit(mapped[:32]).transform(mapped[:32])  # one-time lazy imports
    tracemalloc.start()
    try:
        embedder = ThreeKGEmbedder(**SMALL).fit(mapped)
        embedder.transform(mapped)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < mapped.nbytes / 4, f"peak numpy allocation {peak} B for a {mapped.nbytes} B X"


def test_a_streamed_memmap_pickles_as_its_path_for_spawned_workers(rng, tmp_path):
    mapped = _mapped(rng.normal(size=(200, 12, 256)).astype(np.float32), tmp_path / "big.npy")
    dataset = SignalDataset(memmap_reader(mapped, 12, 256))
    restored = pickle.loads(pickle.dumps(dataset))
    assert len(pickle.dumps(dataset)) < 2_000
    np.testing.assert_array_equal(restored[123][0], mapped[123])


def test_nan_in_a_memmap_is_refused_naming_the_sample(ecgs, tmp_path):
    fitted = ThreeKGEmbedder(**{**SMALL, "max_epochs": 0}).fit(ecgs)
    broken = ecgs.copy()
    broken[7, 3, 10] = np.nan
    mapped = _mapped(broken, tmp_path / "broken.npy")
    with pytest.raises(ValueError, match="Sample 7 of X contains NaN or infinite values"):
        ThreeKGEmbedder(**SMALL).fit(mapped)
    with pytest.raises(ValueError, match="Sample 7 of X"):
        fitted.transform(mapped)


@pytest.mark.parametrize(
    ("items", "error", "message"),
    [
        ([np.zeros((12, 128))] * 5 + [np.zeros((12, 100))], ValueError, "Item 5 .* shape"),
        ([(np.zeros((12, 128)), 1)] * 4, TypeError, "Item 0 of the dataset is a tuple"),
        ([np.zeros(128)] * 4, ValueError, r"\(n_leads, n_timepoints\), got \(128,\)"),
        ([np.zeros((12, 128), complex)] * 4, ValueError, "complex"),
        ([np.zeros((11, 128))] * 4, ValueError, "X has 11 leads"),
        ([], ValueError, "The dataset is empty"),
    ],
    ids=["ragged", "tuples", "1d-items", "complex", "lead-count", "empty"],
)
def test_datasets_with_bad_items_are_refused_naming_the_problem(items, error, message):
    with pytest.raises(error, match=message):
        ThreeKGEmbedder(**SMALL).fit(ItemsDataset(items))


def test_memmaps_of_the_wrong_shape_are_refused_before_reading(ecgs, tmp_path):
    fitted = ThreeKGEmbedder(**{**SMALL, "max_epochs": 0}).fit(ecgs)
    with pytest.raises(ValueError, match="fitted on 128; crop, pad or resample"):
        fitted.transform(_mapped(ecgs[:, :, :100], tmp_path / "short.npy"))
    with pytest.raises(ValueError, match="got 1 dimension"):
        fitted.transform(_mapped(ecgs.ravel(), tmp_path / "flat.npy"))
    with pytest.raises(ValueError, match="not a multiple of its 12 leads"):
        fitted.transform(_mapped(ecgs.reshape(40, -1)[:, :-1], tmp_path / "odd.npy"))
