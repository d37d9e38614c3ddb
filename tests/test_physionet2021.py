"""Loading the PhysioNet/CinC Challenge 2021 records: the 2020 reader with the 2021 sources
and classes, on records written in the 2021 layout and on the shared real records."""

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from sk3kg import ThreeKGEmbedder
from sk3kg.datasets import (
    CHALLENGE_LEADS,
    SOURCES_2021,
    get_data_home,
    load_physionet2020,
    load_physionet2021,
    write_physionet2020,
)

from .conftest import assert_target_follows_headers

SAMPLE = Path(__file__).parents[2] / "shared" / "data" / "cinc2021-torch_ecg-sample" / "records"
needs_sample = pytest.mark.skipif(not SAMPLE.is_dir(), reason="shared sample records absent")
LBBB, CLBBB, BBB, NSR = "164909002", "733534002", "6374002", "426783006"


pytestmark = pytest.mark.usefixtures("isolated_data_home")


def write_2021_layout(root, rng):
    """Records in the folders of version 1.0.3: training/<source>/g<k>/<record>."""
    layout = {
        ("chapman_shaoxing", "g1"): (["JS00001", "JS00002"], [[LBBB], [CLBBB, NSR]]),
        ("ningbo", "g1"): (["JS10647"], [[BBB]]),
        ("ningbo", "g2"): (["JS11001"], [["365413008", "251146004"]]),
        ("ptb-xl", "g1"): (["HR00001"], [[NSR]]),
    }
    for (source, group), (ids, codes) in layout.items():
        signals = rng.normal(scale=0.3, size=(len(ids), 12, 1000))
        write_physionet2020(root / "training" / source / group, signals, 500, dx_codes=codes,
                            record_ids=ids)  # fmt: skip
    return root / "training"


# --- records written in the 2021 layout ----------------------------------------------------


def test_sources_are_told_by_the_2021_folders_and_can_be_selected(tmp_path, rng):
    training = write_2021_layout(tmp_path, rng)
    ecg = load_physionet2021(training, duration=2.0)
    assert dict(zip(ecg.record_ids, ecg.sources, strict=True)) == {
        "HR00001": "ptb-xl", "JS00001": "chapman_shaoxing", "JS00002": "chapman_shaoxing",
        "JS10647": "ningbo", "JS11001": "ningbo"}  # fmt: skip
    ningbo = load_physionet2021(training, duration=2.0, sources=["ningbo"])
    assert list(ningbo.record_ids) == ["JS10647", "JS11001"]


@pytest.mark.parametrize(
    ("name", "source"),
    [("JS00001", "chapman_shaoxing"), ("JS10646", "chapman_shaoxing"), ("JS10647", "ningbo"),
     ("JS45551", "ningbo"), ("JS45552", "unknown"), ("HR00001", "ptb-xl"), ("X1", "unknown")],
)  # fmt: skip
def test_outside_source_folders_js_records_are_told_apart_by_number(tmp_path, rng, name, source):
    write_physionet2020(tmp_path, rng.normal(size=(1, 12, 500)), 500, dx_codes=[""],
                        record_ids=[name])  # fmt: skip
    assert list(load_physionet2021(tmp_path, duration=1.0, cache=False).sources) == [source]


def test_default_classes_are_the_26_of_the_2021_metric(tmp_path, rng):
    ecg = load_physionet2021(write_2021_layout(tmp_path, rng), duration=2.0)
    assert ecg.target.shape == (5, 26) and len(ecg.target_codes) == 26
    rows = dict(zip(ecg.record_ids, ecg.target, strict=True))
    column = {code: ecg.target_codes.index(code) for code in (CLBBB, BBB, NSR, "365413008")}
    assert rows["JS00001"][column[CLBBB]] == 1 and rows["JS00002"][column[CLBBB]] == 1
    assert rows["JS10647"][column[BBB]] == 1 and rows["JS11001"][column["365413008"]] == 1
    assert ecg.target.sum() == 7 and ecg.n_unlabelled == 0


def test_a_2020_class_set_leaves_out_the_codes_only_2021_scores(tmp_path, rng):
    ecg = load_physionet2021(write_2021_layout(tmp_path, rng), duration=2.0, classes="merged")
    rows = dict(zip(ecg.record_ids, ecg.target, strict=True))
    assert rows["JS10647"].sum() == 0  # bundle branch block: unscored in 2020
    assert rows["JS11001"].sum() == 1  # low QRS voltages only; poor R wave progression dropped
    assert rows["JS00002"].sum() == 1  # sinus rhythm only; complete LBBB dropped
    assert rows["JS00001"][ecg.target_codes.index(LBBB)] == 1


def test_scored2021_keeps_complete_and_plain_lbbb_apart(tmp_path, rng):
    ecg = load_physionet2021(write_2021_layout(tmp_path, rng), duration=2.0, classes="scored2021")
    assert ecg.target.shape[1] == 30
    lbbb, clbbb = ecg.target_codes.index(LBBB), ecg.target_codes.index(CLBBB)
    assert ecg.target[:2, [lbbb, clbbb]].tolist() == [[1, 0], [0, 1]]


def test_the_bunch_has_the_fields_and_arrays_of_the_2020_loader(tmp_path, rng):
    training = write_2021_layout(tmp_path, rng)
    new = load_physionet2021(training, duration=2.0, classes="merged")
    old = load_physionet2020(training, duration=2.0, classes="merged")
    assert set(new) == set(old)
    for key in ("data", "target", "record_ids", "age", "sex", "lengths", "flat_leads"):
        np.testing.assert_array_equal(new[key], old[key])
    assert set(old.sources) == {"ptb-xl", "unknown"}  # the 2020 reader knows no JS sources
    assert new.DESCR.startswith(".. _physionet2021_dataset:")
    assert ":Records: 5 (chapman_shaoxing 2, ningbo 2, ptb-xl 1)" in new.DESCR


def test_the_data_pretrain_an_embedder_unlabelled(tmp_path, rng):
    ecg = load_physionet2021(write_2021_layout(tmp_path, rng), fs=128, duration=2.0)
    embedder = ThreeKGEmbedder(width=4, depth=1, max_epochs=1, batch_size=4, random_state=0)
    embeddings = embedder.fit(ecg.data).transform(ecg.data)
    assert embeddings.shape[0] == 5 and np.isfinite(embeddings).all()


def test_the_cache_lives_under_physionet2021_and_keeps_flat_leads(tmp_path, rng):
    signals = rng.normal(scale=0.3, size=(2, 12, 1000))
    signals[1, CHALLENGE_LEADS.index("V4")] = 0.0
    folder = tmp_path / "training" / "ningbo" / "g1"
    write_physionet2020(folder, signals, 500, dx_codes=["", ""], record_ids=["JS20000", "JS20001"])
    first = load_physionet2021(tmp_path, duration=2.0)
    second = load_physionet2021(tmp_path, duration=2.0)
    assert isinstance(second.data, np.memmap)
    np.testing.assert_array_equal(second.flat_leads, first.flat_leads)
    assert second.flat_leads[1].tolist() == [lead == "V4" for lead in CHALLENGE_LEADS]
    cache = Path(get_data_home()) / "physionet2021" / "cache"
    assert len(list(cache.iterdir())) == 1
    with pytest.warns(UserWarning, match=r"Skipped 1 of 2 records[\s\S]*JS20001: flat leads V4"):
        kept = load_physionet2021(tmp_path, duration=2.0, skip_flat=True)
    assert list(kept.record_ids) == ["JS20000"]


def test_bad_records_are_skipped_or_raised_as_in_2020(tmp_path, rng):
    training = write_2021_layout(tmp_path, rng)
    mat = training / "ningbo" / "g2" / "JS11001.mat"
    mat.write_bytes(mat.read_bytes()[:3000])
    with pytest.warns(UserWarning, match="Skipped 1 of 5 records") as record:
        ecg = load_physionet2021(training, duration=2.0)
    assert "JS11001: cannot read signal file" in str(record[0].message)
    assert len(ecg.record_ids) == 4 and ecg.skipped[0][0] == "JS11001"
    with pytest.raises(ValueError, match=r"JS11001: .*on_error='skip'"):
        load_physionet2021(training, duration=2.0, on_error="raise", cache=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"sources": ["chapman"]}, re.escape(f"sources must be a list of {list(SOURCES_2021)}")),
     ({"classes": "2021"}, "classes must be one of"), ({"crop": "end"}, "crop must be")],
)  # fmt: skip
def test_bad_parameters_name_the_choices(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_physionet2021(tmp_path, **kwargs)


def test_a_missing_folder_says_which_function_to_use(tmp_path):
    with pytest.raises(OSError, match=r"load_physionet2021 .* fetch_physionet2021\(\)"):
        load_physionet2021(tmp_path / "nowhere")
    with pytest.raises(OSError, match="No challenge records"):
        load_physionet2021(tmp_path)


# --- the real records ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    if not SAMPLE.is_dir():
        pytest.skip("shared sample records absent")
    home = tmp_path_factory.mktemp("home")
    return load_physionet2021(SAMPLE, data_home=home), home


@needs_sample
def test_sample_loads_all_50_and_tells_ningbo_by_record_number(sample):
    ecg, _ = sample
    assert ecg.data.shape == (50, 12, 5000) and ecg.skipped == []
    sources, counts = np.unique(ecg.sources, return_counts=True)
    assert dict(zip(sources.tolist(), counts.tolist(), strict=True)) == {
        "georgia": 20, "ningbo": 20, "ptb-xl": 10}  # fmt: skip
    assert all(s == "ningbo" for r, s in zip(ecg.record_ids, ecg.sources, strict=True)
               if r.startswith("JS"))  # fmt: skip
    flat = {r for r, row in zip(ecg.record_ids, ecg.flat_leads, strict=True) if row.any()}
    assert flat == {"JS20004", "JS20008"}


@needs_sample
def test_sample_labels_follow_the_headers_under_the_2021_classes(sample):
    ecg, _ = sample
    assert_target_follows_headers(ecg, SAMPLE, "merged2021")
    pac = ecg.target_codes.index("284470004")
    js = np.char.startswith(ecg.record_ids, "JS")
    assert ecg.target[js, pac].all()  # every Chapman-Ningbo sample record carries PAC


@needs_sample
def test_sample_signals_are_those_of_the_2020_reader_and_the_files(sample, tmp_path):
    ecg, _ = sample
    old = load_physionet2020(SAMPLE, data_home=tmp_path, classes="merged2021", cache=False)
    np.testing.assert_array_equal(ecg.data, old.data)
    np.testing.assert_array_equal(ecg.target, old.target)
    i = list(ecg.record_ids).index("JS20004")
    val = scipy.io.loadmat(SAMPLE / "JS20004.mat")["val"]
    np.testing.assert_allclose(ecg.data[i], val / 1000.0, atol=1e-6)
