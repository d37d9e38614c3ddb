"""
Pretrain on your own ECGs
=========================

Your hospital's export, another PhysioNet database or MIMIC-IV-ECG: a folder of
WFDB records (``.hea`` headers beside their signal files, in any nesting of
sub-folders) is all :class:`~sk3kg.ThreeKGEmbedder` needs. This example writes
a few simulated records as WFDB files, loads the folder with
:func:`~sk3kg.datasets.load_wfdb_folder`, pretrains on it without labels,
saves the encoder and probes it on labelled records.
"""

# %%
# A folder of WFDB records
# ------------------------
# We write 240 simulated 10-s records at 100 Hz the way a hospital's export
# might hold them: one folder per patient, leads named in upper case, in an
# order of their own. :func:`wfdb.wrsamp` writes each record's header and
# signal file.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import wfdb

from sk3kg import ThreeKGEmbedder, fit_linear_probe
from sk3kg.datasets import load_wfdb_folder, make_synthetic_ecgs
from sk3kg.metrics import macro_auc

folder = Path(tempfile.mkdtemp()) / "my_ecgs"
simulated = make_synthetic_ecgs(240, fs=100, duration=10.0, random_state=0)
order = [6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5]  # V1-V6 first, then the limb leads
names = [simulated.leads[i].upper() for i in order]
for i, ecg in enumerate(simulated.data):
    patient = folder / f"patient{i // 4:03d}"
    patient.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(f"ecg{i:04d}", fs=100, units=["mV"] * 12, sig_name=names,
                p_signal=ecg[order].T.astype(float), fmt=["16"] * 12,
                comments=[f"patient: {i // 4}"], write_dir=str(patient))  # fmt: skip
print(sorted(p.name for p in folder.iterdir())[:3], "...")

# %%
# Load the folder
# ---------------
# :func:`~sk3kg.datasets.load_wfdb_folder` finds every header below the folder,
# reads each record with :func:`wfdb.rdrecord`, puts the leads in the standard
# order whatever their case, converts to mV and keeps 10 s at the asked rate.
# The rows stream into a cache under the data home (here a temporary one), so
# a folder larger than memory loads too, and the next call returns a memory map
# at once. Bad records are left out and listed in ``skipped``.
home = Path(tempfile.mkdtemp())
ecgs = load_wfdb_folder(folder, fs=100, duration=10.0, data_home=home)
print(ecgs.data.shape, ecgs.leads[:3], ecgs.record_ids[0], ecgs.comments[0])
np.testing.assert_allclose(ecgs.data, simulated.data, atol=1e-3)  # read back in mV

# %%
# Pretrain without labels
# -----------------------
# The records of one patient share a folder: ``groups`` makes them positives of
# each other, and the group-aware batches put every patient's records together.
# Each view starts from its own 5-s window (``crop=500`` at 100 Hz), which the
# benchmark found to keep paying with longer pretraining.
patients = [record_id.split("/")[0] for record_id in ecgs.record_ids]
embedder = ThreeKGEmbedder(crop=500, width=8, depth=1, max_epochs=3, batch_size=64,
                           random_state=0)  # fmt: skip
embedder.fit(ecgs.data, groups=patients)
print("contrastive loss by epoch:", np.round(embedder.history_[:, "train_loss"], 2))

# %%
# Save the encoder, load it back
# ------------------------------
# :meth:`~sk3kg.ThreeKGEmbedder.save_pretrained` writes a folder with the
# settings (JSON) and the weights (safetensors, no pickle);
# :meth:`~sk3kg.ThreeKGEmbedder.from_pretrained` reads it back anywhere.
saved = Path(tempfile.mkdtemp()) / "my-encoder"
embedder.save_pretrained(saved)
print(sorted(p.name for p in saved.iterdir()))
encoder = ThreeKGEmbedder.from_pretrained(saved)

# %%
# Probe it on labelled records
# ----------------------------
# The simulator's diagnoses serve as labels: a linear probe
# (:func:`~sk3kg.fit_linear_probe`, ``C`` chosen on a validation split) on the
# frozen embeddings of 160 records, scored on the other 80 against the
# untrained encoder's.
y = simulated.target
train, valid, test = np.arange(120), np.arange(120, 160), np.arange(160, 240)
scores = {}
for name, model in [("untrained", ThreeKGEmbedder(width=8, depth=1, max_epochs=0,
                                                  random_state=0).fit(ecgs.data)),
                    ("pretrained", encoder)]:  # fmt: skip
    Z = model.transform(ecgs.data)
    probe = fit_linear_probe(Z[train], y[train], Z[valid], y[valid], random_state=0)
    scores[name] = macro_auc(y[test], probe.logits(Z[test].astype(float)))
print({name: round(score, 3) for name, score in scores.items()})

fig, ax = plt.subplots(figsize=(4, 2.5))
ax.barh(list(scores), list(scores.values()), color=["grey", "tab:blue"])
ax.set(xlim=(0.5, 1.0), xlabel="test macro AUC of the linear probe")
fig.tight_layout()
