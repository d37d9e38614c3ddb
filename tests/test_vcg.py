import numpy as np
import pytest
import torch
import wfdb
from scipy.signal import butter, sosfiltfilt

from sk3kg.vcg import (
    DOWER,
    INDEPENDENT_LEADS,
    INVERSE_DOWER,
    KORS,
    STANDARD_LEADS,
    ecg_to_vcg,
    resolve_leads,
    vcg_to_ecg,
)

# The published tables, in the publications' column order V1-V6, I, II.
PUBLISHED_ORDER = ("V1", "V2", "V3", "V4", "V5", "V6", "I", "II")
PUBLISHED_INVERSE_DOWER = [
    [-0.172, -0.074, 0.122, 0.231, 0.239, 0.194, 0.156, -0.010],
    [0.057, -0.019, -0.106, -0.022, 0.041, 0.048, -0.227, 0.887],
    [-0.229, -0.310, -0.246, -0.063, 0.055, 0.108, 0.022, 0.102],
]
PUBLISHED_KORS = [
    [-0.13, 0.05, -0.01, 0.14, 0.06, 0.54, 0.38, -0.07],
    [0.06, -0.02, -0.05, 0.06, -0.17, 0.13, -0.07, 0.93],
    [-0.43, -0.06, -0.14, -0.20, -0.11, 0.31, 0.11, -0.23],
]
PUBLISHED_DOWER_V1 = [-0.515, 0.157, -0.917]
PUBLISHED_DOWER_II = [0.235, 1.066, -0.132]


def _in_published_order(matrix):
    return matrix[:, [INDEPENDENT_LEADS.index(name) for name in PUBLISHED_ORDER]]


@pytest.mark.parametrize(
    ("ours", "published"), [(INVERSE_DOWER, PUBLISHED_INVERSE_DOWER), (KORS, PUBLISHED_KORS)]
)
def test_ecg_to_vcg_matrices_equal_published_coefficients(ours, published):
    np.testing.assert_allclose(_in_published_order(ours), published, atol=5e-4)


def test_dower_rows_equal_published_coefficients():
    np.testing.assert_allclose(DOWER[INDEPENDENT_LEADS.index("V1")], PUBLISHED_DOWER_V1)
    np.testing.assert_allclose(DOWER[INDEPENDENT_LEADS.index("II")], PUBLISHED_DOWER_II)


def test_inverse_dower_is_the_least_squares_inverse_of_dower_to_three_decimals():
    np.testing.assert_allclose(np.linalg.pinv(DOWER), INVERSE_DOWER, atol=1e-3)
    np.testing.assert_allclose(INVERSE_DOWER @ DOWER, np.eye(3), atol=1e-3)


def test_vcg_to_ecg_derives_limb_leads_by_einthoven_and_goldberger(rng):
    ecg = vcg_to_ecg(rng.normal(size=(5, 3, 100)))
    lead = {name: ecg[:, i] for i, name in enumerate(STANDARD_LEADS)}
    np.testing.assert_allclose(lead["III"], lead["II"] - lead["I"], atol=1e-12)
    np.testing.assert_allclose(lead["aVR"], -(lead["I"] + lead["II"]) / 2, atol=1e-12)
    np.testing.assert_allclose(lead["aVL"], lead["I"] - lead["II"] / 2, atol=1e-12)
    np.testing.assert_allclose(lead["aVF"], lead["II"] - lead["I"] / 2, atol=1e-12)


def test_ecg_to_vcg_recovers_the_vcg_of_a_dower_projection(rng):
    vcg = rng.normal(size=(4, 3, 50))
    np.testing.assert_allclose(ecg_to_vcg(vcg_to_ecg(vcg)), vcg, atol=2e-3 * np.abs(vcg).max())


@pytest.mark.parametrize("method", ["dower", "kors"])
def test_numpy_and_torch_paths_agree(rng, method):
    ecg = rng.normal(size=(2, 12, 40)).astype(np.float32)
    from_numpy = ecg_to_vcg(ecg, method=method)
    from_torch = ecg_to_vcg(torch.from_numpy(ecg), method=method)
    assert isinstance(from_torch, torch.Tensor) and from_torch.dtype == torch.float32
    np.testing.assert_allclose(from_torch.numpy(), from_numpy, rtol=1e-5, atol=1e-6)
    back = vcg_to_ecg(from_torch)
    np.testing.assert_allclose(back.numpy(), vcg_to_ecg(from_numpy), rtol=1e-5, atol=1e-6)


def test_any_leading_batch_shape_is_kept(rng):
    assert ecg_to_vcg(rng.normal(size=(2, 3, 12, 7))).shape == (2, 3, 3, 7)
    assert vcg_to_ecg(rng.normal(size=(3, 9)), leads=["V1", "aVF"]).shape == (2, 9)


def test_explicit_lead_order_gives_the_same_vcg(rng):
    ecg = rng.normal(size=(12, 30))
    order = rng.permutation(12)
    shuffled_names = [STANDARD_LEADS[i] for i in order]
    np.testing.assert_allclose(
        ecg_to_vcg(ecg[order], leads=shuffled_names), ecg_to_vcg(ecg), atol=1e-12
    )


def test_independent_leads_alone_suffice(rng):
    ecg = rng.normal(size=(12, 30))
    index = [STANDARD_LEADS.index(name) for name in INDEPENDENT_LEADS]
    np.testing.assert_allclose(
        ecg_to_vcg(ecg[index], leads=INDEPENDENT_LEADS), ecg_to_vcg(ecg), atol=1e-12
    )


def test_lead_names_are_matched_without_regard_to_case():
    assert resolve_leads(["i", "AVR", "v6"]) == ("I", "aVR", "V6")


@pytest.mark.parametrize(
    ("leads", "message"),
    [
        ("wfdb", "Unknown lead order 'wfdb'"),
        (["I", "II", "V7"], r"Unknown lead name\(s\) \['V7'\]"),
        (["I", "I"], "appear more than once"),
        ([], "empty"),
    ],
)
def test_bad_lead_names_are_refused_with_the_culprit_named(leads, message):
    with pytest.raises(ValueError, match=message):
        resolve_leads(leads)


def test_missing_independent_leads_are_named(rng):
    with pytest.raises(ValueError, match="missing V3, V4"):
        ecg_to_vcg(rng.normal(size=(6, 10)), leads=["I", "II", "V1", "V2", "V5", "V6"])


def test_wrong_lead_count_is_refused(rng):
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 12, n_timepoints\), got \(11, 10\)"):
        ecg_to_vcg(rng.normal(size=(11, 10)))


def test_integer_tensors_are_refused():
    with pytest.raises(TypeError, match="floating-point"):
        ecg_to_vcg(torch.zeros(12, 5, dtype=torch.int64))


def test_unknown_method_is_refused(rng):
    with pytest.raises(ValueError, match="'dower' or 'kors'"):
        ecg_to_vcg(rng.normal(size=(12, 5)), method="frank")


@pytest.mark.parametrize(("method", "minimum_r"), [("dower", (0.93, 0.95)), ("kors", (0.95, 0.93))])
def test_reconstruction_tracks_measured_frank_leads_of_a_real_record(
    shared_data, method, minimum_r
):
    record = wfdb.rdrecord(str(shared_data / "ptb-frank" / "s0010_re"))
    names = record.sig_name
    twelve = [i for i, name in enumerate(names) if not name.startswith("v") or name[1:].isdigit()]
    frank = [names.index(axis) for axis in ("vx", "vy", "vz")]
    sos = butter(2, [0.5, 40], btype="band", fs=record.fs, output="sos")
    signal = sosfiltfilt(sos, record.p_signal.T, axis=-1)
    vcg = ecg_to_vcg(signal[twelve], leads=[names[i] for i in twelve], method=method)
    r = [np.corrcoef(vcg[axis], signal[frank[axis]])[0, 1] for axis in range(2)]
    assert r[0] > minimum_r[0] and r[1] > minimum_r[1]
