"""Crops in the view pipeline: windows drawn per view, records embedded as window means."""

import numpy as np
import pytest
import torch

from sk3kg import ThreeKGEmbedder
from sk3kg.augment import CropPair, StandardAugment, ThreeKGAugment, crop_at
from sk3kg.nn import WindowMean, window_starts
from sk3kg.vcg import vcg_to_ecg

from .conftest import smooth_vcg
from .test_embedder import SMALL


@pytest.fixture
def ramps():
    """Records whose every value is its time step, so a window shows where it was cut."""
    return torch.arange(100.0).repeat(64, 12, 1)


def test_random_crops_are_windows_of_the_record_drawn_independently(ramps, generator):
    first, second = CropPair(30)(ramps, generator)
    for view in (first, second):
        starts = view[:, 0, 0]
        assert torch.equal(view, starts.view(-1, 1, 1) + torch.arange(30.0).expand(64, 12, 30))
        assert starts.min() >= 0 and starts.max() <= 70
    assert (first[:, 0, 0] != second[:, 0, 0]).float().mean() > 0.9
    assert len(torch.unique(first[:, 0, 0])) > 20  # positions vary across the batch


def test_adjacent_crops_do_not_overlap_and_follow_each_other(ramps, generator):
    first, second = CropPair(30, "adjacent")(ramps, generator)
    assert torch.equal(second[:, :, 0], first[:, :, -1] + 1)
    assert second[:, 0, -1].max() <= 99


def test_crops_are_reproducible_under_a_seeded_generator(ramps):
    crop = CropPair(30)
    one = crop(ramps, torch.Generator().manual_seed(3))
    two = crop(ramps, torch.Generator().manual_seed(3))
    assert all(torch.equal(a, b) for a, b in zip(one, two, strict=True))


def test_crop_at_cuts_each_sample_at_its_own_start():
    x = torch.arange(20.0).view(2, 1, 10)
    assert crop_at(x, torch.tensor([1, 5]), 2).tolist() == [[[1.0, 2.0]], [[15.0, 16.0]]]


@pytest.mark.parametrize("placement, length", [("random", 101), ("adjacent", 51)])
def test_a_crop_longer_than_the_records_says_the_largest_that_fits(ramps, placement, length):
    limit = 100 if placement == "random" else 50
    with pytest.raises(ValueError, match=f"do not fit in records of 100.*at most {limit}"):
        CropPair(length, placement)(ramps)


@pytest.mark.parametrize("length", [0, 2.5, True])
def test_crop_length_must_be_a_positive_integer(length):
    with pytest.raises(ValueError, match="positive integer"):
        CropPair(length)


@pytest.mark.parametrize("n, length, stride, expected", [
    (100, 100, 100, [0]), (100, 50, 50, [0, 50]), (100, 40, 40, [0, 40, 60]),
    (100, 50, 25, [0, 25, 50]),
])  # fmt: skip
def test_windows_cover_the_record_and_end_at_its_end(n, length, stride, expected):
    assert window_starts(n, length, stride) == expected


def test_window_mean_averages_the_encoders_windows():
    encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(3))
    encoder.embedding_dim = 3
    x = torch.randn(4, 2, 90, generator=torch.Generator().manual_seed(0))
    windowed = WindowMean(encoder, 30, stride=20)  # starts 0, 20, 40, 60
    expected = torch.stack([encoder(x[:, :, s : s + 30]) for s in (0, 20, 40, 60)]).mean(0)
    torch.testing.assert_close(windowed(x), expected)


@pytest.fixture
def records(rng):
    return vcg_to_ecg(smooth_vcg(rng, 40, 256)).astype(np.float32)


def test_transform_embeds_a_record_as_the_mean_of_its_windows(records):
    embedder = ThreeKGEmbedder(crop=128, crop_stride=64, **SMALL).fit(records)
    encoder = embedder.encoder_.eval()
    with torch.no_grad():
        x = torch.as_tensor(records[:5])
        windows = [encoder(x[:, :, s : s + 128]) for s in (0, 64, 128)]
    expected = torch.stack(windows).mean(0).numpy()
    np.testing.assert_allclose(embedder.transform(records[:5]), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("augment", [None, StandardAugment(fs=100)])
def test_crops_train_with_the_3kg_views_and_any_augment(records, augment):
    embedder = ThreeKGEmbedder(crop=100, augment=augment, **SMALL).fit(records)
    assert np.isfinite(embedder.history_[:, "train_loss"]).all()
    assert embedder.transform(records).shape == (40, 32)


def test_the_views_start_from_their_own_windows(records):
    """The net's two views differ in time, not only by augmentation: identity views of
    independent windows are not copies."""
    embedder = ThreeKGEmbedder(crop=64, augment=ThreeKGAugment(0.0, 1.0, 0.0), **SMALL)
    net = embedder.fit(records).net_
    captured = []
    net.augment_ = lambda x, generator: captured.append(x) or x
    net.project_views(records[:8], torch.Generator().manual_seed(0))
    first, second = captured
    assert first.shape == (8, 12, 64) and not torch.equal(first, second)


def test_a_crop_longer_than_the_records_is_refused_by_fit(records):
    with pytest.raises(ValueError, match="crop=300 time steps do not fit in records of 256"):
        ThreeKGEmbedder(crop=300, **SMALL).fit(records)
    with pytest.raises(ValueError, match="2 adjacent windows of crop=200.*at most 128"):
        ThreeKGEmbedder(crop=200, crop_placement="adjacent", **SMALL).fit(records)


def test_transform_on_records_shorter_than_the_crop_names_the_fix(records):
    embedder = ThreeKGEmbedder(crop=128, **SMALL).fit(records)
    with pytest.raises(ValueError, match="crop=512 .* at most 256"):
        embedder.set_params(crop=512).transform(records)


def test_a_crop_shorter_than_the_encoder_takes_is_refused(records):
    with pytest.raises(ValueError, match="crop=8 is shorter than the encoder's minimum of 16"):
        ThreeKGEmbedder(crop=8, **SMALL).fit(records)


def test_adjacent_windows_without_augmentation_are_no_trivial_pretext(records):
    """CMSC's positives are two segments of a record: unlike two copies of one segment,
    matching them cannot be done by recognising the same values."""
    identity = ThreeKGAugment(0.0, 1.0, 0.0)
    copies = ThreeKGEmbedder(augment=identity, **SMALL).fit(records[:, :, :128])
    cmsc = ThreeKGEmbedder(augment=identity, crop=128, crop_placement="adjacent", **SMALL)
    cmsc.fit(records)
    assert cmsc.history_[-1, "train_loss"] > 2 * copies.history_[-1, "train_loss"]


def test_same_placement_starts_both_views_from_one_window(ramps, generator):
    first, second = CropPair(30, "same")(ramps, generator)
    assert torch.equal(first, second) and len(torch.unique(first[:, 0, 0])) > 20


def test_a_window_longer_than_the_record_is_refused():
    with pytest.raises(ValueError, match="shorter than the window of 300"):
        window_starts(200, 300, 300)
