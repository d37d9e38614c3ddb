import os
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.image import imread  # noqa: E402

from sk3kg.augment import StandardAugment, ThreeKGAugment  # noqa: E402
from sk3kg.datasets import make_synthetic_ecgs  # noqa: E402
from sk3kg.plotting import plot_ecg, plot_vcg, plot_views  # noqa: E402
from sk3kg.vcg import INDEPENDENT_LEADS, STANDARD_LEADS, ecg_to_vcg, vcg_to_ecg  # noqa: E402

FS = 500
CLINICAL_ORDER = ["I", "aVR", "V1", "V4", "II", "aVL", "V2", "V5", "III", "aVF", "V3", "V6"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def records():
    """One noisy and one clean simulated 10 s record, (12, 5000) float32 in mV."""
    noisy = make_synthetic_ecgs(1, random_state=2).data[0]
    clean = make_synthetic_ecgs(1, noise=None, random_state=2).data[0]
    return {"noisy": noisy, "clean": clean}


@pytest.fixture
def ecg(records):
    return records["noisy"]


def _panels(fig):
    """The paper axes top to bottom, left to right, with their lead names."""
    axes = sorted(fig.axes, key=lambda ax: (-round(ax.get_position().y0, 4), ax.get_position().x0))
    return axes, [ax.texts[0].get_text() for ax in axes]


def _mm_per_unit(ax):
    """Millimetres on the figure per second (x) and per mV (y) of an axes' data."""
    origin, unit = ax.transData.transform([(0.0, 0.0), (1.0, 1.0)])
    return (unit - origin) / ax.figure.dpi * 25.4


def test_plot_ecg_lays_out_the_12_leads_as_a_clinical_printout(ecg):
    axes, names = _panels(plot_ecg(ecg, fs=FS))
    assert names == [*CLINICAL_ORDER, "II"]
    assert [ax.get_label() for ax in axes][-1] == "rhythm strip II"


@pytest.mark.parametrize("seconds", [10.0, 4.0])
def test_plot_ecg_columns_show_consecutive_quarters_of_the_record(ecg, seconds):
    n = round(seconds * FS)
    axes, names = _panels(plot_ecg(ecg[:, :n], fs=FS))
    bounds = np.linspace(0, seconds, 5)
    for k, (ax, name) in enumerate(zip(axes[:12], names[:12], strict=True)):
        t, trace = ax.lines[0].get_data()
        column = k % 4
        assert t[0] == pytest.approx(bounds[column])
        assert t[-1] == pytest.approx(min(bounds[column + 1], (n - 1) / FS))
        samples = np.round(t * FS).astype(int)
        np.testing.assert_array_equal(samples, np.arange(samples[0], samples[-1] + 1))
        np.testing.assert_array_equal(trace, ecg[STANDARD_LEADS.index(name), samples])


def test_plot_ecg_rhythm_strip_covers_the_whole_record(ecg):
    axes, names = _panels(plot_ecg(ecg, fs=FS, rhythm_lead="v1"))
    t, trace = axes[-1].lines[0].get_data()
    assert names[-1] == "V1"
    np.testing.assert_allclose(t, np.arange(ecg.shape[1]) / FS)
    np.testing.assert_array_equal(trace, ecg[STANDARD_LEADS.index("V1")])


def test_plot_ecg_rhythm_lead_none_omits_the_strip(ecg):
    assert len(plot_ecg(ecg, fs=FS, rhythm_lead=None).axes) == 12


def test_plot_ecg_draws_only_the_first_10_seconds(ecg):
    longer = np.concatenate([ecg, ecg], axis=1)
    axes, _ = _panels(plot_ecg(longer, fs=FS))
    t, _ = axes[-1].lines[0].get_data()
    assert t[-1] == pytest.approx(10.0 - 1 / FS)


@pytest.mark.parametrize("leads", ["standard", list(INDEPENDENT_LEADS), ["V1"]])
def test_plot_ecg_is_to_scale_on_the_saved_figure(ecg, leads, tmp_path):
    rows = [STANDARD_LEADS.index(name) for name in leads] if leads != "standard" else slice(None)
    fig = plot_ecg(ecg[rows], fs=FS, leads=leads, title="scale")
    for ax in fig.axes:
        np.testing.assert_allclose(_mm_per_unit(ax), [25.0, 10.0])
    fig.savefig(tmp_path / "ecg.png", dpi=100)
    height, width = imread(tmp_path / "ecg.png").shape[:2]
    np.testing.assert_allclose([width, height], fig.get_size_inches() * 100, atol=1)


def test_plot_ecg_keeps_the_scale_on_a_given_figure_with_a_layout_engine(ecg):
    fig = plot_ecg(ecg, fs=FS, fig=plt.figure(figsize=(4, 3), layout="constrained"))
    fig.canvas.draw()
    for ax in fig.axes:
        np.testing.assert_allclose(_mm_per_unit(ax), [25.0, 10.0])


def test_plot_ecg_grid_is_one_continuous_millimetre_lattice(ecg):
    fig = plot_ecg(ecg, fs=FS)
    lines_mm = []
    for ax in fig.axes:
        vertical = [s[0] for s in ax.collections[0].get_segments() if s[0][0] == s[1][0]]
        x_mm = np.unique(ax.transData.transform(vertical)[:, 0] / fig.dpi * 25.4)
        np.testing.assert_allclose(np.diff(x_mm), 1.0)
        lines_mm.append(x_mm)
    from_first = np.concatenate(lines_mm) - lines_mm[0][0]
    np.testing.assert_allclose(from_first, np.round(from_first), atol=1e-6)


def test_plot_ecg_calibration_pulse_is_1_mv_and_10_mm_tall(ecg):
    for ax in _panels(plot_ecg(ecg, fs=FS))[0][::4]:
        (pulse,) = [line for line in ax.lines if line.get_gid() == "calibration"]
        height = np.ptp(pulse.get_ydata())
        assert height == 1.0
        assert height * _mm_per_unit(ax)[1] == pytest.approx(10.0)


@pytest.mark.parametrize("leads", [list(INDEPENDENT_LEADS), ["V1"]])
def test_plot_ecg_draws_one_full_row_per_lead_for_other_lead_lists(ecg, leads):
    signal = ecg[[STANDARD_LEADS.index(name) for name in leads]]
    axes, names = _panels(plot_ecg(signal, fs=FS, leads=leads))
    assert names == leads
    for ax, trace in zip(axes, signal, strict=True):
        np.testing.assert_array_equal(ax.lines[0].get_ydata(), trace)


def test_plot_ecg_accepts_a_torch_tensor(ecg):
    from_tensor = plot_ecg(torch.from_numpy(ecg).requires_grad_(), fs=FS)
    from_array = plot_ecg(ecg, fs=FS)
    for a, b in zip(from_tensor.axes, from_array.axes, strict=True):
        np.testing.assert_array_equal(a.lines[0].get_ydata(), b.lines[0].get_ydata())


def _with_nan(ecg):
    bad = ecg.copy()
    bad[6, 100] = np.nan
    return bad


@pytest.mark.parametrize(
    ("make_input", "kwargs", "message"),
    [
        (lambda ecg: ecg[None], {}, r"shape \(n_leads, n_timepoints\).*ecg\[0\]"),
        (lambda ecg: ecg[:8], {}, "8 leads .* leads names 12"),
        (_with_nan, {}, "NaN or infinite values in lead\\(s\\) V1"),
        (lambda ecg: ecg, {"rhythm_lead": "V7"}, "rhythm_lead='V7'"),
        (lambda ecg: ecg, {"fs": -1}, "fs must be a positive"),
        (lambda ecg: ecg, {"leads": ["I", "II"]}, "12 leads .* leads names 2"),
    ],
)
def test_plot_ecg_rejects_bad_input_naming_the_problem(ecg, make_input, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_ecg(make_input(ecg), **kwargs)


def _view_columns(fig, n_rows, n_columns):
    return np.array(fig.axes).reshape(n_rows, n_columns)


def test_plot_views_shades_the_spans_the_augmentation_zeroed(ecg):
    show = ["I", "V1"]
    fig = plot_views(ecg, n_views=2, show_leads=show, random_state=3)
    batch = torch.from_numpy(ecg).expand(2, -1, -1).contiguous()
    expected = ThreeKGAugment()(batch, generator=torch.Generator().manual_seed(3)).numpy()
    axes = _view_columns(fig, len(show), 3)
    for i, name in enumerate(show):
        for j in (1, 2):
            view = expected[j - 1, STANDARD_LEADS.index(name)]
            np.testing.assert_array_equal(axes[i, j].lines[0].get_ydata(), view)
            zero = np.flatnonzero(view == 0)
            spans = [p for p in axes[i, j].patches if p.get_gid() == "masked"]
            shaded = np.concatenate(
                [
                    np.arange(round(p.get_x() * FS), round((p.get_x() + p.get_width()) * FS))
                    for p in spans
                ]
            )
            np.testing.assert_array_equal(np.sort(shaded), zero)
            assert zero.size == 2500  # mask_ratio=0.5 of 5000 samples
    assert not [p for ax in axes[:, 0] for p in ax.patches]


@pytest.mark.parametrize(
    "make_state",
    [lambda seed: seed, np.random.RandomState, lambda seed: torch.Generator().manual_seed(seed)],
    ids=["int", "RandomState", "Generator"],
)
def test_plot_views_is_reproducible_by_random_state(ecg, make_state):
    def view_data(seed):
        fig = plot_views(ecg, show_leads=["II"], random_state=make_state(seed))
        return [ax.lines[0].get_ydata() for ax in fig.axes]

    first, again, other = view_data(7), view_data(7), view_data(8)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_plot_views_does_not_shade_the_silent_baseline_of_a_clean_ecg(records):
    fig = plot_views(records["clean"], ThreeKGAugment(mask_ratio=0.0), n_views=1)
    assert (records["clean"] == 0).all(axis=0).any()  # the simulation's flat baseline
    assert not [p for ax in fig.axes for p in ax.patches]
    assert not fig.legends, "no 'masked' legend when nothing is masked"


def test_plot_views_takes_any_augmentation_and_lead_list(ecg):
    leads = ["V1", "V2"]
    signal = ecg[[STANDARD_LEADS.index(name) for name in leads]]
    augment = ThreeKGAugment(angle=0, scale=1, mask_ratio=0.25, leads=leads)
    fig = plot_views(signal, augment, n_views=3, leads=leads, show_leads=None)
    assert len(fig.axes) == 2 * 4
    assert all(len(ax.patches) >= 1 for ax in _view_columns(fig, 2, 4)[:, 1:].ravel())
    standard = plot_views(ecg, StandardAugment(), n_views=1)
    assert not [p for ax in standard.axes for p in ax.patches]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"show_leads": ["I", "V7"]}, "unknown: \\['V7'\\]"),
        ({"n_views": 0}, "n_views must be a positive integer"),
        ({"augment": lambda x, generator: x[:, :1]}, "augment returned shape"),
    ],
)
def test_plot_views_rejects_bad_arguments_naming_the_problem(ecg, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_views(ecg, **kwargs)


@pytest.mark.parametrize("method", ["dower", "kors"])
def test_plot_vcg_draws_the_vcg_in_3d_and_in_each_plane(ecg, method):
    fig = plot_vcg(ecg, fs=FS, method=method)
    x, y, z = ecg_to_vcg(ecg, method=method)
    (loop,) = fig.axes[0].get_lines()
    np.testing.assert_allclose(np.array(loop.get_data_3d()), [x, z, y], rtol=1e-6, atol=1e-6)
    for ax, (h, v) in zip(fig.axes[1:], [(x, y), (x, z), (z, y)], strict=True):
        (line,) = [line for line in ax.get_lines() if line.get_label() == "original"]
        np.testing.assert_allclose(line.get_xydata().T, [h, v], rtol=1e-6, atol=1e-6)


def test_plot_vcg_shows_feet_down_in_the_frontal_and_sagittal_planes(ecg):
    frontal, transverse, sagittal = plot_vcg(ecg).axes[1:]
    assert frontal.yaxis_inverted() and sagittal.yaxis_inverted()
    assert not transverse.yaxis_inverted()
    assert not any(ax.xaxis_inverted() for ax in (frontal, transverse, sagittal))


def test_plot_vcg_rotated_loop_keeps_the_norm_of_the_vcg(ecg):
    fig = plot_vcg(ecg, angles=(30, -20, 45))
    original, rotated = (np.array(line.get_data_3d()) for line in fig.axes[0].get_lines())
    np.testing.assert_allclose(
        np.linalg.norm(rotated, axis=0), np.linalg.norm(original, axis=0), rtol=1e-6, atol=1e-9
    )
    assert not np.allclose(rotated, original)
    assert [t.get_text() for t in fig.legends[0].get_texts()][0] == "original"


def test_plot_vcg_rotates_about_z_from_x_towards_y_as_axis_rotations_does():
    dipole_x = vcg_to_ecg(np.array([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]))
    fig = plot_vcg(dipole_x, angles=(0, 0, 90))
    frontal = fig.axes[1]
    rotated = [line for line in frontal.get_lines() if line.get_label() == "rotated"][0]
    np.testing.assert_allclose(rotated.get_xydata()[0], [0.0, 1.0], atol=2e-3)


@pytest.mark.parametrize("angles", [(10, 20), (0, 0, np.nan), "xyz"])
def test_plot_vcg_rejects_angles_that_are_not_three_numbers(ecg, angles):
    with pytest.raises(ValueError, match="angles must be 3 finite angles"):
        plot_vcg(ecg, angles=angles)


def test_importing_plotting_leaves_torch_unimported():
    code = "import sys, sk3kg.plotting; assert 'torch' not in sys.modules"
    subprocess.run(
        [sys.executable, "-c", code], check=True, env={**os.environ, "MPLBACKEND": "Agg"}
    )
