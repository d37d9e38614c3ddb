"""Group-aware batches: members of a group meet in a batch, so groups= gives positives."""

import numpy as np
import pytest
from skorch.callbacks import Callback

from sk3kg import GroupBatchSampler, ThreeKGEmbedder
from sk3kg._groups import within_batch_partners
from sk3kg.vcg import vcg_to_ecg

from .conftest import smooth_vcg
from .test_embedder import SMALL


@pytest.fixture
def segments():
    """Group ids of 300 records cut in 2 segments (CMSC's layout) and 50 cut in 3."""
    return np.r_[np.repeat(np.arange(300), 2), np.repeat(np.arange(300, 350), 3)]


def test_every_sample_is_drawn_once_per_epoch(segments):
    batches = list(GroupBatchSampler(segments, batch_size=64, seed=0))
    drawn = np.concatenate(batches)
    assert np.array_equal(np.sort(drawn), np.arange(len(segments)))
    assert max(len(b) for b in batches) <= 64


@pytest.mark.parametrize("group_size", [2, 3])
def test_every_sample_meets_group_size_minus_one_members_of_its_group(group_size):
    codes = np.r_[np.repeat(np.arange(100), 3), np.repeat(np.arange(100, 150), 7)]
    for batch in GroupBatchSampler(codes, batch_size=32, group_size=group_size, seed=1):
        counts = np.bincount(codes[batch])[codes[batch]]
        assert counts.min() >= group_size


def test_shuffled_batches_rarely_hold_a_partner_and_grouped_ones_always_do(segments):
    n = len(segments)
    shuffled = np.array_split(np.random.default_rng(0).permutation(n), n // 64)
    assert within_batch_partners(shuffled, segments) < 0.2
    assert within_batch_partners(GroupBatchSampler(segments, 64, seed=0), segments) == 1.0


def test_batches_are_reproducible_and_change_with_the_epoch(segments):
    first = [b.tolist() for b in GroupBatchSampler(segments, 64, seed=0)._batches()]
    again = [b.tolist() for b in GroupBatchSampler(segments, 64, seed=0)._batches()]
    sampler = GroupBatchSampler(segments, 64, seed=0)
    sampler.set_epoch(1)
    assert first == again and first != [b.tolist() for b in sampler._batches()]


def test_processes_share_the_epoch_in_equal_shares_that_cover_it(segments):
    ranks = [list(GroupBatchSampler(segments, 64, seed=0, num_replicas=2, rank=r)) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1])
    union = np.concatenate([np.concatenate(batches) for batches in ranks])
    assert set(union) == set(range(len(segments)))
    assert all(within_batch_partners(batches, segments) == 1.0 for batches in ranks)


@pytest.mark.parametrize("replicas", [2, 4, 7])
def test_every_process_gets_a_batch_even_when_batches_are_fewer_than_processes(replicas):
    """A process without a batch would skip the collectives and hang the others."""
    groups = np.repeat(np.arange(3), 2)  # one batch of 6
    counts = [len(GroupBatchSampler(groups, 8, seed=0, num_replicas=replicas, rank=r))
              for r in range(replicas)]  # fmt: skip
    assert counts == [1] * replicas


def test_a_validation_fraction_holds_out_whole_groups(rng):
    X = vcg_to_ecg(smooth_vcg(rng, 100, 64)).astype(np.float32)
    groups = np.repeat(np.arange(50), 2)
    embedder = ThreeKGEmbedder(
        **{**SMALL, "validation_fraction": 0.2}, callbacks=[RecordBatchGroups()]
    )
    embedder.fit(X, groups=groups)
    batches = dict(embedder.net_.callbacks_)["RecordBatchGroups"].batches
    trained = np.concatenate(batches)
    # 2 epochs over the 80 samples of 40 whole groups: each group's 2 samples, twice.
    held_in = np.unique(trained)
    assert len(held_in) == 40 and (np.bincount(trained)[held_in] == 4).all()
    assert np.isfinite(embedder.history_[:, "valid_loss"]).all()


def test_a_group_of_one_member_is_named_in_a_warning_and_kept(rng):
    X = vcg_to_ecg(smooth_vcg(rng, 5, 64)).astype(np.float32)
    groups = np.array(["a", "a", "b", "c", "c"])
    with pytest.warns(UserWarning, match=r"1 of 3 groups .*e\.g\. 'b', with 1.*Merge such groups"):
        embedder = ThreeKGEmbedder(**SMALL).fit(X, groups=groups)
    assert embedder.n_samples_fit_ == 5


def test_groups_smaller_than_group_size_are_one_chunk_each():
    codes = np.r_[0, 1, 1, np.repeat(np.arange(2, 20), 3)]  # a single, a pair, then triples
    batches = list(GroupBatchSampler(codes, batch_size=8, group_size=3, seed=0))
    assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(len(codes)))
    for batch in batches:  # every group present in a batch is there whole
        present = np.unique(codes[batch])
        assert np.bincount(codes[batch], minlength=20)[present].tolist() == \
            np.bincount(codes, minlength=20)[present].tolist()  # fmt: skip


def test_group_ids_of_any_type_are_kept_apart():
    for groups in (np.array([0.2, 0.7, 0.2, 0.7]), np.array(["p1", "p2", "p1", "p2"])):
        for batch in GroupBatchSampler(groups, batch_size=3, seed=0):
            assert len(set(groups[batch].tolist())) == 1


def test_a_batch_too_small_for_a_chunk_is_refused():
    with pytest.raises(ValueError, match="batch_size >= 5"):
        GroupBatchSampler(np.repeat(np.arange(4), 3), batch_size=4, group_size=3)


class RecordBatchGroups(Callback):
    def initialize(self):
        self.batches = []
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.batches.append(np.asarray(batch[1]))


@pytest.mark.parametrize("group_size, partnered", [(2, 1.0), (1, 0.25)])
def test_embedder_batches_hold_the_positives_of_every_sample(rng, group_size, partnered):
    """With groups, fit puts both segments of a record in one batch; without the sampler
    (group_size=1, what fit did before) a segment rarely meets its partner."""
    X = vcg_to_ecg(smooth_vcg(rng, 128, 64)).astype(np.float32)
    groups = np.repeat(np.arange(64), 2)
    embedder = ThreeKGEmbedder(**SMALL, group_size=group_size, callbacks=[RecordBatchGroups()])
    batches = dict(embedder.fit(X, groups=groups).net_.callbacks_)["RecordBatchGroups"].batches
    share = within_batch_partners(batches, np.arange(64))  # the batches hold group codes
    assert share == 1.0 if partnered == 1.0 else share < partnered
