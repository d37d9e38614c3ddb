"""How the simulated ECGs compare with real ones: amplitude, heart rate and spectrum.

Simulated records (``make_synthetic_ecgs``, realistic noise) beside the 50 real
PhysioNet/CinC 2021 sample records of ``../shared/data`` (Georgia, PTB-XL and
Chapman-Shaoxing/Ningbo, 500 Hz, 10 s), all measured the same way:

- per-lead QRS amplitude: peak-to-peak of the median beat around the detected R peaks;
- heart rate: 60 / mean RR from a band-passed spatial-velocity R-peak detector;
- spectrum: Welch power spectral density averaged over leads and records, summarised
  as the share of power in physiological bands, and the RMS above 40 Hz (noise).

Prints a markdown table and writes a PNG figure. Without ``../shared/data`` the real
columns are left out.

Usage::

    python benchmarks/simulator_realism.py                       # 200 simulated records
    python benchmarks/simulator_realism.py --n 40 --figure /tmp/realism.png
"""

import argparse
import tempfile
from pathlib import Path

import matplotlib
import numpy as np
import wfdb
from scipy.signal import butter, find_peaks, medfilt, sosfiltfilt, welch

from sk3kg.datasets import make_synthetic_ecgs
from sk3kg.vcg import STANDARD_LEADS

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FS = 500
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BANDS = [(0, 0.5), (0.5, 5), (5, 15), (15, 40), (40, 250)]


def read_real(folder: Path = DATA) -> np.ndarray | None:
    """The 50 CinC 2021 sample records ``(50, 12, 5000)`` in mV, or None if absent.

    The Georgia headers as first committed are rejected by ``wfdb.rdrecord``; the
    rewritten headers (same labels and gains) are read beside the original signals.
    """
    records, headers = (
        folder / "cinc2021-torch_ecg-sample" / "records",
        folder / "cinc2021-headers-rewritten",
    )
    if not records.is_dir() or not headers.is_dir():
        return None
    signals = []
    with tempfile.TemporaryDirectory() as tmp:
        for header in sorted(headers.glob("*.hea")):
            (Path(tmp) / header.name).symlink_to(header)
            (Path(tmp) / f"{header.stem}.mat").symlink_to(records / f"{header.stem}.mat")
            record = wfdb.rdrecord(str(Path(tmp) / header.stem))
            order = [record.sig_name.index(lead) for lead in STANDARD_LEADS]
            signals.append(record.p_signal[: 10 * FS, order].T)
    return np.stack(signals).astype(np.float32)


def r_peaks(ecg: np.ndarray) -> np.ndarray:
    despiked = medfilt(ecg, (1, 5))
    band = sosfiltfilt(butter(2, [5, 25], btype="band", fs=FS, output="sos"), despiked, axis=-1)
    energy = np.convolve(np.sqrt((np.diff(band, axis=-1) ** 2).sum(0)), np.ones(50) / 50, "same")
    peaks = find_peaks(energy, distance=int(0.25 * FS))[0]
    return peaks[energy[peaks] > 0.5 * np.percentile(energy[peaks], 85)]


def summarise(ecgs: np.ndarray) -> dict:
    """Per-record heart rate, per-lead QRS amplitude, band powers and mean spectrum."""
    clean = sosfiltfilt(butter(2, [0.5, 40], btype="band", fs=FS, output="sos"), ecgs, axis=-1)
    rates, amplitudes = [], []
    for ecg in clean:
        peaks = r_peaks(ecg)
        peaks = peaks[(peaks >= 40) & (peaks < ecg.shape[-1] - 40)]
        rates.append(60 / np.diff(peaks).mean() * FS if len(peaks) > 2 else np.nan)
        beat = np.median([ecg[:, p - 40 : p + 40] for p in peaks], axis=0)  # QRS: +-80 ms
        amplitudes.append(np.ptp(beat, axis=1))
    freqs, psd = welch(ecgs, fs=FS, nperseg=1024, axis=-1)
    mean_psd = psd.mean(axis=(0, 1))
    shares = [mean_psd[(freqs >= lo) & (freqs < hi)].sum() / mean_psd.sum() for lo, hi in BANDS]
    high = sosfiltfilt(butter(4, 40, btype="high", fs=FS, output="sos"), ecgs, axis=-1)
    return {
        "heart_rate": np.array(rates),
        "amplitude": np.array(amplitudes),
        "shares": np.array(shares),
        "noise_rms": np.sqrt((high**2).mean(axis=-1)).mean(axis=1),
        "freqs": freqs,
        "psd": mean_psd,
    }


def _quartiles(values) -> str:
    q1, q2, q3 = np.nanpercentile(values, [25, 50, 75])
    return f"{q2:.2f} [{q1:.2f}-{q3:.2f}]"


def table(sim: dict, real: dict | None) -> str:
    """A markdown table: median [interquartile range] per measure."""
    columns = ["simulated"] + (["real (CinC 2021 sample)"] if real is not None else [])
    rows = [f"| measure | {' | '.join(columns)} |", "|---" * (len(columns) + 1) + "|"]

    def row(name, key, fn):
        cells = [fn(sim[key])] + ([fn(real[key])] if real is not None else [])
        rows.append(f"| {name} | {' | '.join(cells)} |")

    row("heart rate (bpm)", "heart_rate", _quartiles)
    for i, lead in enumerate(STANDARD_LEADS):
        row(f"QRS amplitude {lead} (mV)", "amplitude", lambda a, i=i: _quartiles(a[:, i]))
    for i, (lo, hi) in enumerate(BANDS):
        row(f"power share {lo:g}-{hi:g} Hz (%)", "shares", lambda s, i=i: f"{100 * s[i]:.1f}")
    row("RMS above 40 Hz (uV)", "noise_rms", lambda r: _quartiles(1000 * r))
    return "\n".join(rows)


def figure(sim: dict, real: dict | None, sim_ecg: np.ndarray, real_ecg, path: str) -> None:
    fig, axes = plt.subplots(2, 2, figsize=(13, 8))
    ax = axes[0, 0]
    positions = np.arange(12)
    ax.boxplot(sim["amplitude"], positions=positions - 0.2, widths=0.35, showfliers=False)
    if real is not None:
        box = ax.boxplot(real["amplitude"], positions=positions + 0.2, widths=0.35,
                         showfliers=False, patch_artist=True)  # fmt: skip
        for patch in box["boxes"]:
            patch.set_facecolor("tab:orange")
    ax.set_xticks(positions, STANDARD_LEADS)
    ax.set_ylabel("QRS peak-to-peak (mV)")
    ax.set_title("QRS amplitude per lead (white: simulated, orange: real)")
    ax = axes[0, 1]
    bins = np.arange(30, 180, 5)
    ax.hist(sim["heart_rate"], bins, density=True, alpha=0.6, label="simulated")
    if real is not None:
        ax.hist(real["heart_rate"], bins, density=True, alpha=0.6, label="real")
    ax.set_xlabel("heart rate (bpm)")
    ax.legend()
    ax = axes[1, 0]
    ax.semilogy(sim["freqs"], sim["psd"], label="simulated")
    if real is not None:
        ax.semilogy(real["freqs"], real["psd"], label="real")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("PSD (mV$^2$/Hz), mean over leads and records")
    ax.legend()
    ax = axes[1, 1]
    t = np.arange(5 * FS) / FS
    ax.plot(t, sim_ecg[1, : 5 * FS], lw=0.8, label="simulated, lead II")
    if real_ecg is not None:
        ax.plot(t, real_ecg[1, : 5 * FS] - 2.5, lw=0.8, label="real, lead II (-2.5 mV)")
    ax.set_xlabel("time (s)")
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="simulated records")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figure", default="simulator_realism.png", help="PNG to write")
    args = parser.parse_args(argv)
    simulated = make_synthetic_ecgs(args.n, fs=FS, duration=10.0, random_state=args.seed).data
    real_data = read_real()
    sim = summarise(simulated)
    real = summarise(real_data) if real_data is not None else None
    if real_data is None:
        print(f"(no real records: {DATA} is absent; simulated columns only)\n")
    else:
        print(f"simulated: {args.n} records; real: {len(real_data)} records of {DATA.name}\n")
    print(table(sim, real))
    example = real_data[0] if real_data is not None else None
    figure(sim, real, simulated[0], example, args.figure)
    print(f"\nfigure: {args.figure}")


if __name__ == "__main__":
    main()
