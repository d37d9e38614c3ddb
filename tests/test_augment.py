import itertools
import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation
from torch.overrides import TorchFunctionMode

import sk3kg.augment._threekg as augment_module
from sk3kg.augment import (
    StandardAugment,
    ThreeKGAugment,
    random_rotations,
    random_scalings,
    time_masks,
)
from sk3kg.vcg import STANDARD_LEADS, ecg_to_vcg, vcg_to_ecg

from .conftest import smooth_vcg

AXES = "xyz"


def _derived_lead_residuals(ecg):
    lead = {name: ecg[:, i] for i, name in enumerate(STANDARD_LEADS)}
    return [
        lead["III"] - (lead["II"] - lead["I"]),
        lead["aVR"] + (lead["I"] + lead["II"]) / 2,
        lead["aVL"] - (lead["I"] - lead["II"] / 2),
        lead["aVF"] - (lead["II"] - lead["I"] / 2),
    ]


def test_residual_mode_is_an_exact_identity_at_zero_strength(generator):
    x = torch.randn(8, 12, 300, generator=generator, dtype=torch.float64)
    augment = ThreeKGAugment(angle=0.0, scale=1.0, mask_ratio=0.0, mode="residual")
    assert augment.spatial is False
    torch.testing.assert_close(augment(x, generator), x, rtol=0, atol=0)
    operator = ThreeKGAugment(angle=0.0, scale=1.0 + 1e-12, mode="residual").spatial_operators(x)
    torch.testing.assert_close(operator, torch.eye(12, dtype=x.dtype).expand(8, 12, 12))


def test_project_mode_is_identity_at_zero_strength_for_dipolar_input(dipolar_ecg, generator):
    x = torch.from_numpy(dipolar_ecg)
    augment = ThreeKGAugment(angle=0.0, scale=1.0 + 1e-9, mask_ratio=0.0, mode="project")
    assert augment.spatial
    # The published inverse Dower is rounded to 3 decimals: D^-1 D = I to 1e-3.
    torch.testing.assert_close(augment(x, generator), x, rtol=0, atol=2e-3 * x.abs().max().item())


@pytest.mark.parametrize("order", ["random", "xyz"])
def test_rotations_are_proper_and_preserve_vector_norms(generator, order):
    rotations = random_rotations(256, 45.0, order=order, like=torch.zeros(1), generator=generator)
    eye = torch.eye(3).expand(256, 3, 3)
    torch.testing.assert_close(rotations @ rotations.transpose(1, 2), eye, atol=1e-6, rtol=0)
    torch.testing.assert_close(torch.linalg.det(rotations), torch.ones(256), atol=1e-6, rtol=0)


def test_pure_rotation_preserves_the_vcg_norm_at_every_sample(rng, generator):
    vcg = torch.from_numpy(rng.normal(size=(32, 3, 200)))
    ecg = vcg_to_ecg(vcg)
    augment = ThreeKGAugment(angle=45.0, scale=1.0, mask_ratio=0.0)
    rotated = ecg_to_vcg(augment(ecg, generator))
    ratio = rotated.norm(dim=1) / vcg.norm(dim=1)
    torch.testing.assert_close(ratio, torch.ones_like(ratio), atol=3e-3, rtol=0)


def _decomposes_within(rotation, order, bound):
    """Whether ``rotation`` is a product of axis rotations applied in ``order`` within ``bound``."""
    angles = Rotation.from_matrix(rotation).as_euler(order, degrees=True)  # extrinsic
    return bool(np.all(np.abs(angles) <= bound + 1e-4))


def test_xyz_order_applies_x_then_y_then_z_within_the_angle_bound(generator):
    rotations = random_rotations(200, 30.0, order="xyz", like=torch.zeros(1), generator=generator)
    assert all(_decomposes_within(r.double().numpy(), "xyz", 30.0) for r in rotations)


def test_random_order_uses_every_axis_order_within_the_angle_bound(generator):
    rotations = random_rotations(
        300, 45.0, order="random", like=torch.zeros(1), generator=generator
    )
    orders = ["".join(p) for p in itertools.permutations(AXES)]
    fitting = [
        {o for o in orders if _decomposes_within(r.double().numpy(), o, 45.0)} for r in rotations
    ]
    assert all(fitting), "every rotation is some order of three bounded axis rotations"
    # Each order is needed for some rotations: the composition order really varies.
    only_one = [next(iter(f)) for f in fitting if len(f) == 1]
    assert set(only_one) == set(orders)


def test_reciprocal_scaling_shrinks_as_often_as_it_grows(generator):
    factors = random_scalings(
        20000, 1.5, law="reciprocal", like=torch.zeros(1), generator=generator
    )
    assert factors.min() >= 1 / 1.5 and factors.max() <= 1.5
    assert abs((factors < 1).double().mean().item() - 0.5) < 0.02


def test_uniform_scaling_only_grows(generator):
    factors = random_scalings(20000, 1.5, law="uniform", like=torch.zeros(1), generator=generator)
    assert factors.min() >= 1.0 and factors.max() <= 1.5
    assert abs(factors.mean().item() - 1.25) < 0.01


@pytest.mark.parametrize("mode", ["project", "residual"])
def test_derived_lead_identities_hold_after_spatial_augmentation(rng, generator, mode):
    ecg = vcg_to_ecg(torch.from_numpy(smooth_vcg(rng, 16, 500)))
    augment = ThreeKGAugment(angle=45.0, scale=1.5, mask_ratio=0.0, mode=mode)
    views = augment(ecg, generator)
    for residual in _derived_lead_residuals(views):
        assert residual.abs().max() < 1e-9


def test_project_mode_of_any_input_is_dipolar(generator):
    x = torch.randn(4, 12, 100, generator=generator, dtype=torch.float64)
    views = ThreeKGAugment(mask_ratio=0.0)(x, generator)
    assert torch.linalg.matrix_rank(views.transpose(1, 2)).max() <= 3


@pytest.mark.parametrize(("ratio", "length"), [(0.5, 1000), (0.25, 333), (0.9, 10), (1.0, 50)])
def test_masks_are_one_contiguous_block_of_floor_ratio_length(generator, ratio, length):
    masks = time_masks(torch.zeros(16, 12, length), ratio, generator)
    width = math.floor(ratio * length)
    assert (masks.sum(dim=2) == width).all()
    if 0 < width < length:
        starts = masks & ~masks.roll(1, dims=2)  # masked here, unmasked one step before
        assert (starts.sum(dim=2) == 1).all(), "one block per lead, contiguous modulo T"


def test_masks_differ_between_leads_and_samples(generator):
    masks = time_masks(torch.zeros(8, 12, 1000), 0.5, generator)
    start = (masks & ~masks.roll(1, dims=2)).int().argmax(dim=2)
    assert len(start.unique()) > 50
    assert (start[:, 0] != start[:, 1]).any() and (start[0] != start[1]).any()


def test_mask_starts_cover_the_whole_signal_uniformly(generator):
    masks = time_masks(torch.zeros(500, 12, 100), 0.3, generator)
    start = (masks & ~masks.roll(1, dims=2)).int().argmax(dim=2)
    counts = torch.bincount(start.flatten(), minlength=100)
    assert counts.min() > 0 and counts.max() < 2 * counts.float().mean()


def test_masked_samples_are_zero_and_the_rest_untouched(generator):
    x = torch.randn(4, 12, 200, generator=generator)
    augment = ThreeKGAugment(angle=0.0, scale=1.0, mask_ratio=0.4)
    views = augment(x, torch.Generator().manual_seed(5))
    hidden = time_masks(x, 0.4, torch.Generator().manual_seed(5))
    assert (views[hidden] == 0).all()
    torch.testing.assert_close(views[~hidden], x[~hidden], rtol=0, atol=0)


@pytest.mark.parametrize("augment", [ThreeKGAugment(), StandardAugment()], ids=repr)
def test_the_same_generator_seed_gives_the_same_views(augment):
    x = torch.randn(6, 12, 400, generator=torch.Generator().manual_seed(1))
    first = augment(x, torch.Generator().manual_seed(7))
    again = augment(x, torch.Generator().manual_seed(7))
    other = augment(x, torch.Generator().manual_seed(8))
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert not torch.equal(first, other)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_views_keep_the_input_dtype_and_shape(generator, dtype):
    x = torch.randn(3, 12, 64, generator=generator, dtype=dtype)
    for augment in (ThreeKGAugment(), StandardAugment()):
        view = augment(x, generator)
        assert view.shape == x.shape and view.dtype == dtype


class _CountCalls(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.calls = 0
        self.product_batches = []
        self.mask_blocks = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        if func in (torch.bmm, torch.matmul, torch.Tensor.__matmul__):
            signals = [a for a in args if isinstance(a, torch.Tensor) and a.shape[-1] > 12]
            if signals:
                self.product_batches.append(signals[0].shape[0])
        self.mask_blocks += func is torch.Tensor.mul_
        return func(*args, **(kwargs or {}))


def test_standard_augmentation_work_does_not_grow_with_batch_size():
    """No Python loop over samples: the same torch calls for a batch of 2 or 64."""
    counts = []
    for batch in (2, 64):
        with _CountCalls() as counter:
            StandardAugment()(torch.randn(batch, 12, 500), torch.Generator().manual_seed(0))
        counts.append(counter.calls)
    assert counts[0] == counts[1]


@pytest.mark.parametrize("batch", [2, 64, 300])
def test_3kg_makes_one_batched_product_and_masks_cache_sized_blocks(batch):
    """No Python loop over samples: one product per call, one mask per ~2 MiB of samples."""
    x = torch.randn(batch, 12, 500)
    with _CountCalls() as counter:
        ThreeKGAugment()(x, torch.Generator().manual_seed(0))
    assert counter.product_batches == [batch], "one batched matrix product on the signals"
    per_block = max(1, augment_module.CPU_BLOCK_BYTES // x[0].nbytes)
    assert counter.mask_blocks == math.ceil(batch / per_block)


@pytest.mark.parametrize("mode", ["project", "residual"])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_blocked_views_equal_the_whole_batch_product_then_mask(mode, requires_grad):
    """37 ECGs of 12 x 2500 span three mask blocks, the last one short."""
    x = torch.randn(37, 12, 2500, generator=torch.Generator().manual_seed(2))
    augment = ThreeKGAugment(mode=mode)
    generator = torch.Generator().manual_seed(3)
    operators = augment.spatial_operators(x, generator)
    expected = (operators @ x).masked_fill(time_masks(x, 0.5, generator), 0.0)
    views = augment(x.requires_grad_(requires_grad), torch.Generator().manual_seed(3))
    torch.testing.assert_close(views.detach(), expected, rtol=0, atol=1e-5)
    assert torch.equal(views == 0, expected == 0)


def test_3kg_views_are_differentiable_with_respect_to_the_input():
    x = torch.randn(3, 12, 100, requires_grad=True)
    ThreeKGAugment()(x, torch.Generator().manual_seed(0)).square().sum().backward()
    assert x.grad.shape == x.shape and torch.isfinite(x.grad).all()


def test_spatial_augmentation_needs_the_independent_leads():
    with pytest.raises(ValueError, match="missing I, V1.*set angle=0 and scale=1"):
        ThreeKGAugment(leads=["II"])
    single = ThreeKGAugment(angle=0, scale=1, leads=["II"])
    assert single(torch.ones(2, 1, 10), torch.Generator()).shape == (2, 1, 10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"angle": -1}, r"angle must be a number in \[0.0, 180.0\]"),
        ({"scale": 0.5}, "scale must be a number"),
        ({"mask_ratio": 1.5}, "mask_ratio must be a number"),
        ({"mode": "rotate"}, "mode='rotate' is not one of 'project', 'residual'"),
        ({"rotation_order": "zyx"}, "rotation_order='zyx'"),
        ({"scale_law": "log"}, "scale_law='log'"),
    ],
)
def test_bad_strengths_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ThreeKGAugment(**kwargs)


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        (np.zeros((2, 12, 10), np.float32), TypeError, "takes a torch.Tensor, got ndarray"),
        (torch.zeros(2, 12, 10, dtype=torch.int16), TypeError, "floating-point"),
        (torch.zeros(12, 10), ValueError, r"\(batch, n_leads, n_timepoints\), got 2 dim"),
        (torch.zeros(2, 8, 10), ValueError, "built for 12 leads, got 8"),
    ],
)
def test_bad_batches_are_refused_with_the_problem_named(x, error, message):
    with pytest.raises(error, match=message):
        ThreeKGAugment()(x)


def test_standard_augment_shift_alone_is_a_circular_shift(generator):
    x = torch.randn(5, 12, 100, generator=generator)
    augment = StandardAugment(noise=0.0, amplitude=1.0, shift=0.2, wander=0.0)
    views = augment(x, generator)
    for view, original in zip(views, x, strict=True):
        shifts = [k for k in range(-20, 21) if torch.allclose(view, original.roll(k, dims=1))]
        assert len(shifts) == 1


def test_standard_augment_amplitude_scales_each_lead_within_bounds(generator):
    x = torch.ones(50, 12, 10)
    views = StandardAugment(noise=0.0, amplitude=2.0, shift=0.0, wander=0.0)(x, generator)
    factors = views[:, :, 0]
    assert (views == factors[:, :, None]).all(), "one factor per lead"
    assert factors.min() >= 0.5 and factors.max() <= 2.0
    assert (factors < 1).any() and (factors > 1).any()


def test_standard_augment_noise_is_relative_to_each_lead(generator):
    x = torch.randn(64, 12, 2000, generator=generator) * torch.linspace(0.1, 3, 12)[:, None]
    views = StandardAugment(noise=0.1, amplitude=1.0, shift=0.0, wander=0.0)(x, generator)
    relative = (views - x).std(dim=2) / x.std(dim=2)
    torch.testing.assert_close(relative.mean(dim=0), torch.full((12,), 0.1), atol=5e-3, rtol=0)
