"""Shared fixtures: seeded randomness, generated ECGs and the shared sample data."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import settings

from sk3kg.vcg import vcg_to_ecg

# CI runs the same examples every time (HYPOTHESIS_PROFILE=ci); local runs explore new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def generator():
    return torch.Generator().manual_seed(0)


def smooth_vcg(rng: np.random.Generator, n: int, length: int, fs: float = 250.0) -> np.ndarray:
    """Random heart-vector loops ``(n, 3, length)``: a few harmonics of a ~1 Hz beat."""
    t = np.arange(length) / fs
    harmonics = np.arange(1, 6)[:, None]
    amplitude = rng.normal(size=(n, 3, 5, 1)) / harmonics
    phase = rng.uniform(0, 2 * np.pi, size=(n, 3, 5, 1))
    rate = rng.uniform(0.8, 1.6, size=(n, 1, 1, 1))
    waves = np.sin(2 * np.pi * rate * harmonics * t + phase)
    return (amplitude * waves).sum(axis=2)


@pytest.fixture
def dipolar_ecg(rng):
    """12-lead ECGs ``(16, 12, 500)`` float32 that are exactly a Dower projection."""
    return vcg_to_ecg(smooth_vcg(rng, 16, 500)).astype(np.float32)


@pytest.fixture
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (it exists only beside a developer checkout)")
    return SHARED_DATA
