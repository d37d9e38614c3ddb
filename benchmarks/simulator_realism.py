"""How the simulated ECGs compare with real ones: the reference for the simulator's realism.

Simulated records (``make_synthetic_ecgs``, realistic noise) beside the real
PhysioNet/CinC 2021 sample records of ``../shared/data`` (Georgia, PTB-XL and
Chapman-Shaoxing/Ningbo, 500 Hz, 10 s; the 48 without flat leads), all measured the
same way:

- per-lead QRS amplitude: peak-to-peak of the median beat around the detected R peaks;
- heart rate: 60 / mean RR from a band-passed spatial-velocity R-peak detector;
- spectrum: Welch power spectral density averaged over leads and records, summarised
  as the share of power in physiological bands, and the RMS above 40 Hz (noise);
  and, per record, the median over leads of the share of 0.5-40 Hz power in 15-40 Hz
  after a 0.5 Hz high-pass (the QRS's sharpness);
- a two-sample test (``--two-sample``, on as many simulated records as real ones): a
  5-fold cross-validated logistic regression tells real from simulated, on per-lead
  log band powers and on MiniRocket features; its AUC (0.5: indistinguishable) and the
  band-power features it leans on most, for the first simulated set and as a range over
  ``--draws`` sets (48 records of one set move the AUC by a few hundredths);
- pretext difficulty: 3KG's contrastive loss after the same training (encoder, batch,
  seed, epochs) on the real and on the simulated records;
- variability among normal-sinus records: the spread (interquartile range) of QRS
  axis, QRS amplitude, QRS width and heart rate;
- figures: a real and a simulated record on ECG paper, and the two mean spectra.

Prints markdown tables; ``--out`` keeps them (``results.md``, ``results.json``) with
the figures. Without ``../shared/data`` the real columns are left out.

Usage::

    python benchmarks/simulator_realism.py                       # 200 simulated records
    python benchmarks/simulator_realism.py --two-sample --out benchmarks/results/realism
"""

import argparse
import json
import tempfile
from pathlib import Path

import matplotlib
import numpy as np
import wfdb
from scipy.signal import butter, find_peaks, medfilt, sosfiltfilt, welch
from sklearn.metrics import roc_auc_score

from sk3kg.datasets import make_synthetic_ecgs
from sk3kg.vcg import STANDARD_LEADS

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FS = 500
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).parent / "results" / "simulator-realism"  # not tracked by git
BANDS = [(0, 0.5), (0.5, 5), (5, 15), (15, 40), (40, 250)]


NSR = "426783006"  # SNOMED CT: sinus rhythm


def read_real(folder: Path = DATA) -> tuple[np.ndarray, list[list[str]]] | None:
    """The CinC 2021 sample records without flat leads ``(48, 12, 5000)`` in mV and their
    SNOMED CT codes, or None if absent.

    The Georgia headers as first committed are rejected by ``wfdb.rdrecord``; the
    rewritten headers (same labels and gains) are read beside the original signals.
    """
    records, headers = (
        folder / "cinc2021-torch_ecg-sample" / "records",
        folder / "cinc2021-headers-rewritten",
    )
    if not records.is_dir() or not headers.is_dir():
        return None
    signals, codes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for header in sorted(headers.glob("*.hea")):
            (Path(tmp) / header.name).symlink_to(header)
            (Path(tmp) / f"{header.stem}.mat").symlink_to(records / f"{header.stem}.mat")
            record = wfdb.rdrecord(str(Path(tmp) / header.stem))
            order = [record.sig_name.index(lead) for lead in STANDARD_LEADS]
            signal = record.p_signal[: 10 * FS, order].T
            if (np.ptp(signal, axis=1) == 0).any():  # flat leads: JS20004, JS20008
                continue
            signals.append(signal)
            dx = [c.split(":", 1)[1] for c in record.comments if c.startswith("Dx:")]
            codes.append(dx[0].strip().split(",") if dx else [])
    return np.stack(signals).astype(np.float32), codes


def high_band_share(ecgs: np.ndarray) -> np.ndarray:
    """Per record, the median over leads of the share of 0.5-40 Hz power in 15-40 Hz."""
    passed = sosfiltfilt(butter(2, 0.5, btype="high", fs=FS, output="sos"), ecgs, axis=-1)
    freqs, psd = welch(passed, fs=FS, nperseg=1024, axis=-1)
    band = (freqs >= 0.5) & (freqs < 40)
    high = (freqs >= 15) & (freqs < 40)
    return np.median(psd[..., high].sum(-1) / psd[..., band].sum(-1), axis=1)


def band_features(ecgs: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Per-lead log band powers (Welch), ``(n, 12 * len(BANDS))``, and their names."""
    freqs, psd = welch(ecgs, fs=FS, nperseg=1024, axis=-1)
    powers = [psd[..., (freqs >= lo) & (freqs < hi)].sum(-1) for lo, hi in BANDS]
    names = [f"{lead} {lo:g}-{hi:g} Hz" for lo, hi in BANDS for lead in STANDARD_LEADS]
    return np.log(np.concatenate(powers, axis=1) + 1e-12), names


def two_sample(real: np.ndarray, simulated: np.ndarray) -> dict:
    """Cross-validated AUC of telling real from simulated records, on two feature sets."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.r_[np.ones(len(real)), np.zeros(len(simulated))]
    both = np.concatenate([real, simulated])
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000))
    result = {}
    bands, names = band_features(both)
    scores = cross_val_predict(model, bands, y, cv=folds, method="decision_function")
    weights = model.fit(bands, y)[-1].coef_[0]
    top = np.argsort(-np.abs(weights))[:5]
    result["band powers"] = {"auc": roc_auc_score(y, scores),
                             "leans_on": [f"{names[i]} ({'real' if weights[i] > 0 else 'sim'})"
                                          for i in top]}  # fmt: skip
    try:
        from aeon.transformations.collection.convolution_based import MiniRocket
    except ImportError:
        return result
    rocket = MiniRocket(n_kernels=1000, random_state=0).fit(both.astype(np.float32))
    features = rocket.transform(both.astype(np.float32))
    scores = cross_val_predict(model, features, y, cv=folds, method="decision_function")
    result["MiniRocket"] = {"auc": roc_auc_score(y, scores), "leans_on": []}
    return result


def pretext_loss(ecgs: np.ndarray, epochs: int = 30) -> float:
    """3KG's contrastive loss (mean of the last epoch) after ``epochs`` epochs on ``ecgs``
    (resampled to 100 Hz; the encoder, batch and seed the same for every set)."""
    from sk3kg import ThreeKGEmbedder

    x = ecgs[:, :, ::5].astype(np.float32)
    embedder = ThreeKGEmbedder(max_epochs=epochs, batch_size=16, width=8, depth=1,
                               random_state=0).fit(x)  # fmt: skip
    return float(embedder.history_[-1, "train_loss"])


def qrs_facts(ecgs: np.ndarray) -> dict:
    """Per record: QRS axis (degrees, from leads I and aVF), lead II QRS amplitude (mV),
    QRS width (ms, where the median beat's spatial velocity is above a fifth of its peak)
    and heart rate (bpm)."""
    clean = sosfiltfilt(butter(2, [0.5, 40], btype="band", fs=FS, output="sos"), ecgs, axis=-1)
    axes, amplitudes, widths, rates = [], [], [], []
    for ecg in clean:
        peaks = r_peaks(ecg)
        peaks = peaks[(peaks >= 60) & (peaks < ecg.shape[-1] - 60)]
        if len(peaks) < 3:
            continue
        beat = np.median([ecg[:, p - 60 : p + 60] for p in peaks], axis=0)
        qrs = beat[:, 35:85]  # R peak +-50 ms
        net = qrs.max(axis=1) + qrs.min(axis=1)
        axes.append(np.degrees(np.arctan2(net[STANDARD_LEADS.index("aVF")], net[0])))
        amplitudes.append(np.ptp(qrs[1]))
        speed = np.sqrt((np.diff(beat, axis=1) ** 2).sum(0))
        widths.append(1000 * (speed > 0.2 * speed.max()).sum() / FS)
        rates.append(60 * FS / np.diff(peaks).mean())
    return {"QRS axis (deg)": np.array(axes), "QRS amplitude II (mV)": np.array(amplitudes),
            "QRS width (ms)": np.array(widths), "heart rate (bpm)": np.array(rates)}  # fmt: skip


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


def _iqr(values: np.ndarray) -> str:
    q1, q2, q3 = np.nanpercentile(values, [25, 50, 75])
    return f"{q2:.2f} (IQR {q3 - q1:.2f})"


def _spread(values: list) -> str:
    """The first set's value, then the range over every set (the first one included)."""
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{values[0]:.3f} (draws: {min(values):.3f}-{max(values):.3f})"


def realism_table(real: np.ndarray, real_codes: list, bunch, two: bool,
                  draws: tuple = ()) -> tuple[str, dict]:  # fmt: skip
    """The realism reference on as many simulated records as real ones: markdown and data.

    ``draws`` are further simulated sets of the same size: the share and the
    two-sample AUCs are also given as their range over ``bunch`` and the draws, as
    48 records of one draw move the AUC by a few hundredths.
    """
    simulated = bunch.data
    sets = [simulated, *draws]
    facts: dict = {"draws": len(sets)}
    rows = ["| measure | real | simulated | simulated / real |", "|---|---|---|---|"]
    shares = [float(np.median(high_band_share(x))) for x in sets]
    share = [float(np.median(high_band_share(real))), shares[0]]
    facts["share_15_40"] = share
    facts["share_15_40_draws"] = shares
    rows.append(f"| 15-40 Hz share of 0.5-40 Hz power (median) | {share[0]:.3f} | "
                f"{_spread(shares)} | {share[1] / share[0]:.2f} |")  # fmt: skip
    if two:
        tests = two_sample(real, simulated)
        others = [two_sample(real, x) for x in draws]
        for name, test in tests.items():
            test["auc_draws"] = [test["auc"]] + [other[name]["auc"] for other in others]
            leans = f" (leans on {', '.join(test['leans_on'])})" if test["leans_on"] else ""
            rows.append(f"| two-sample AUC, {name}{leans} | | {_spread(test['auc_draws'])} | |")
        facts["two_sample"] = tests
        losses = [pretext_loss(real), pretext_loss(simulated)]
        facts["pretext_loss"] = losses
        rows.append(f"| 3KG loss after 30 epochs (width 8, batch 16, seed 0) | {losses[0]:.3f} | "
                    f"{losses[1]:.3f} | {losses[1] / losses[0]:.2f} |")  # fmt: skip
    normal_real = real[[NSR in c for c in real_codes]]
    normal_sim = simulated[bunch.target[:, list(bunch.target_names).index("NSR")] == 1]
    spread = [qrs_facts(normal_real), qrs_facts(normal_sim)]
    facts["normal_sinus"] = {"n": [len(normal_real), len(normal_sim)]}
    counts = f"{len(normal_real)} real, {len(normal_sim)} simulated"
    for key in spread[0]:
        iqr = [np.subtract(*np.nanpercentile(f[key], [75, 25])) for f in spread]
        facts["normal_sinus"][key] = [_iqr(f[key]) for f in spread]
        rows.append(f"| normal sinus ({counts}): {key} | {_iqr(spread[0][key])} | "
                    f"{_iqr(spread[1][key])} "
                    f"| IQR {iqr[1] / iqr[0]:.2f} |")  # fmt: skip
    return "\n".join(rows), facts


def paper_figures(real: np.ndarray, simulated: np.ndarray, out: Path) -> None:
    """A real and a simulated record on ECG paper, and the two mean spectra."""
    from sk3kg.plotting import plot_ecg

    for name, ecg in (("real", real[0]), ("simulated", simulated[0])):
        fig = plot_ecg(ecg, fs=FS, title=f"{name} record")
        fig.savefig(out / f"ecg_{name}.png", dpi=80)
        plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, ecg in (("real", real), ("simulated", simulated)):
        freqs, psd = welch(ecg, fs=FS, nperseg=1024, axis=-1)
        ax.semilogy(freqs, psd.mean(axis=(0, 1)), label=name)
    ax.set(xlim=(0, 100), xlabel="frequency (Hz)", ylabel="PSD (mV$^2$/Hz)",
           title="Mean spectrum over leads and records")  # fmt: skip
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "spectra.png", dpi=100)
    plt.close(fig)


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"needs at least one simulated set, got {value}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="simulated records")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--figure",
        type=Path,
        default=RESULTS / "panel.png",
        help="PNG to write (default: under benchmarks/results, not tracked)",
    )
    parser.add_argument(
        "--two-sample",
        action="store_true",
        help="add the two-sample test (on --draws sets) and the pretext loss (a minute or two)",
    )
    parser.add_argument(
        "--draws",
        type=_at_least_one,
        default=5,
        help="simulated sets (seeds seed, seed+1, ...) for the range of the share and AUCs",
    )
    parser.add_argument("--out", type=Path, default=None, help="folder for tables and figures")
    args = parser.parse_args(argv)
    simulated = make_synthetic_ecgs(args.n, fs=FS, duration=10.0, random_state=args.seed).data
    loaded = read_real()
    real_data, real_codes = loaded if loaded is not None else (None, None)
    sim = summarise(simulated)
    real = summarise(real_data) if real_data is not None else None
    if real_data is None:
        print(f"(no real records: {DATA} is absent; simulated columns only)\n")
    else:
        print(f"simulated: {args.n} records; real: {len(real_data)} records of {DATA.name}\n")
    text = table(sim, real)
    print(text)
    example = real_data[0] if real_data is not None else None
    args.figure.parent.mkdir(parents=True, exist_ok=True)
    figure(sim, real, simulated[0], example, args.figure)
    print(f"\nfigure: {args.figure}")
    if real_data is None:
        return
    # The reference: as many simulated records as real ones, at the same rate and length.
    n = len(real_data)
    equal = make_synthetic_ecgs(n, fs=FS, duration=10.0, random_state=args.seed)
    draws = [make_synthetic_ecgs(n, fs=FS, duration=10.0, random_state=args.seed + i).data
             for i in range(1, args.draws)]  # fmt: skip
    reference, facts = realism_table(real_data, real_codes, equal, args.two_sample, draws)
    print(f"\n{len(real_data)} real and {len(real_data)} simulated records:\n\n{reference}")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.md").write_text(f"{text}\n\n{reference}\n")
        (args.out / "results.json").write_text(json.dumps(facts, indent=1, default=float))
        paper_figures(real_data, equal.data, args.out)


if __name__ == "__main__":
    main()
