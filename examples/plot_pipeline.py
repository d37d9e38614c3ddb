"""
3KG embeddings in a scikit-learn pipeline
=========================================

:class:`~sk3kg.ThreeKGEmbedder` is a scikit-learn transformer. Its ``fit`` pretrains a 1D
ResNet on 12-lead ECGs *without labels*, by 3KG's contrastive objective: two random views
of one ECG (its heart vector rotated by up to 45 degrees and scaled by up to 1.5 about each
axis, projected back to the 12 leads with the Dower matrix, then half of each lead masked)
should have similar embeddings, and views of different ECGs should not. Its ``transform``
returns one embedding per ECG.

Followed by a linear classifier in a :class:`~sklearn.pipeline.Pipeline`, it gives the
*linear probe* with which self-supervised representations are judged. This example fits
such a pipeline on simulated ECGs labelled with the 23 diagnoses that 3KG studied, and
compares it with the same pipeline around an encoder that was never trained.
"""

# %%
# Simulated ECGs with patients
# ----------------------------
# :func:`~sk3kg.datasets.make_synthetic_ecgs` simulates 12-lead records with the
# diagnoses of the PhysioNet/CinC Challenge 2020 (``classes="3kg"``: the 23 classes of
# the 3KG paper), at the challenge's prevalences. We keep the set small for a CPU: 480
# records of 5 s at 100 Hz (the paper used 10 s at 500 Hz), from 240 patients. A
# patient's records share the heart's orientation, size and electrode placement, which
# is what 3KG's augmentations vary. ``cache=False`` keeps nothing on disk;
# ``random_state=0`` makes the set the same on every run.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupShuffleSplit
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk3kg import ThreeKGEmbedder
from sk3kg.datasets import make_synthetic_ecgs
from sk3kg.metrics import macro_auc, per_class_auc

ecgs = make_synthetic_ecgs(
    480, fs=100, duration=5.0, n_patients=240, classes="3kg", random_state=0, cache=False
)
X, y, patients = ecgs.data, ecgs.target, ecgs.patient_ids
print(f"X: {X.shape} (records, leads, samples at {ecgs.fs:g} Hz), in mV")
print(f"y: {y.shape}, {y.sum(axis=1).mean():.1f} diagnoses per record on average")

# %%
# A split by patient
# ------------------
# Records of one patient look alike, so a record-level split would let the classifier
# recognise patients rather than diagnoses and overstate its accuracy. We hold out a
# quarter of the *patients* with :class:`~sklearn.model_selection.GroupShuffleSplit`.
splitter = GroupShuffleSplit(n_splits=1, test_size=0.25, random_state=0)
train, test = next(splitter.split(X, y, groups=patients))
assert not set(patients[train]) & set(patients[test])
print(f"{len(train)} training and {len(test)} test records, no patient in both")

# %%
# The pipeline
# ------------
# The embedder is sized for a CPU and a one-minute budget: the default encoder (4 stages
# of 2 residual blocks, ``width=16``, 128-dimensional embeddings), 15 epochs of batches
# of 128. The 3KG augmentations keep the paper's strengths (``angle=45``, ``scale=1.5``,
# ``mask_ratio=0.5``, the defaults). The embeddings are standardised and fed to one
# logistic regression per class. ``fit`` passes ``y`` along the pipeline, but the
# embedder ignores it: the encoder never sees a label.
pipe = Pipeline(
    [
        ("emb", ThreeKGEmbedder(max_epochs=15, batch_size=128, random_state=0)),
        ("scale", StandardScaler()),
        ("clf", OneVsRestClassifier(LogisticRegression(C=0.1, max_iter=1000))),
    ]
)
pipe.fit(X[train], y[train])

# %%
# The baseline is the same pipeline with ``max_epochs=0``: the encoder keeps its random
# initial weights (same seed, same architecture). A random convolutional network already
# gives useful features, so this is the bar that pretraining has to clear.
baseline = clone(pipe).set_params(emb__max_epochs=0)
baseline.fit(X[train], y[train])

# %%
# The pretraining loss
# --------------------
# The embedder keeps skorch's training log in ``history_``. The NT-Xent loss should
# fall steadily; a flat curve means the encoder learnt nothing (too few epochs, too
# high a learning rate), a curve still falling steeply means more epochs would help.
loss = pipe.named_steps["emb"].history_[:, "train_loss"]
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
ax.plot(np.arange(1, len(loss) + 1), loss, marker="o")
ax.set(xlabel="epoch", ylabel="NT-Xent loss", title=f"3KG pretraining on {len(train)} records")
plt.show()

# %%
# Macro AUC on the test patients
# ------------------------------
# :func:`~sk3kg.metrics.macro_auc` averages the ROC AUC over the classes. With only 120
# test records some rare diagnoses have no positive there, so their AUC is undefined;
# ``return_excluded=True`` returns their names instead of warning, and they are left out
# of the mean.
scores = {}
for name, model in [("3KG pretrained", pipe), ("untrained encoder", baseline)]:
    scores[name] = model.predict_proba(X[test])
    auc, excluded = macro_auc(
        y[test], scores[name], target_names=ecgs.target_names, return_excluded=True
    )
    print(f"{name:18s} macro AUC {auc:.3f}")
print(f"left out (no positive test record): {', '.join(excluded)}")

# %%
# AUC of each diagnosis
# ---------------------
# :func:`~sk3kg.metrics.per_class_auc` gives one AUC per class, NaN where it is
# undefined. The bars start at chance (AUC 0.5) and compare the two encoders class by
# class; classes without an AUC are marked "n/a", and the number of positive test
# records is written beside each name. The AUC of a class with two or three positives
# moves a lot from one split to another, so look at the overall pattern (which kinds of
# diagnosis gain from pretraining) rather than at single bars.
per_class = {name: per_class_auc(y[test], s) for name, s in scores.items()}
positives = y[test].sum(axis=0)
rows = np.arange(len(ecgs.target_names))

fig, ax = plt.subplots(figsize=(6, 8), layout="constrained")
for k, (name, auc) in enumerate(per_class.items()):
    gain = np.nan_to_num(auc, nan=0.5) - 0.5
    ax.barh(rows + (k - 0.5) * 0.4, gain, left=0.5, height=0.4, label=name)
for row in rows[np.isnan(per_class["3KG pretrained"])]:
    ax.text(0.52, row, "n/a", va="center", fontsize=8, color="0.4")
ax.axvline(0.5, color="0.3", lw=1)
ax.set_yticks(rows, [f"{n} ({p})" for n, p in zip(ecgs.target_names, positives, strict=True)])
ax.invert_yaxis()
ax.set_xlim(min(0.3, np.nanmin([*per_class.values()]) - 0.05), 1.0)
ax.set(xlabel="test ROC AUC", ylabel="diagnosis (positive test records)")
ax.set_title("Per-class AUC on the test patients")
fig.legend(loc="outside upper center", ncols=2)
plt.show()

# %%
# The classes where pretraining changed the AUC most, in this run (test AUC of the
# 3KG pipeline minus that of the baseline):
difference = per_class["3KG pretrained"] - per_class["untrained encoder"]
scored = np.flatnonzero(np.isfinite(difference))
ranked = [
    f"{ecgs.target_names[i]} {difference[i]:+.2f}" for i in scored[np.argsort(-difference[scored])]
]
print("largest differences: ", ", ".join(ranked[:4]))
print("smallest differences:", ", ".join(ranked[-4:]))

# %%
# What to take from this
# ----------------------
# The two pipelines differ only in the 3KG pretraining of the encoder on the 360
# unlabelled training records: same architecture, same initial weights, same
# classifier. Compare their macro AUCs printed above and the bars class by class.
# With 120 test records, and classes with a handful of positives, the comparison is an
# illustration of the workflow rather than a measurement. The loss curve was still
# falling when training stopped, so a longer run would likely change the numbers;
# :ref:`sphx_glr_auto_examples_plot_label_efficiency.py` repeats the comparison across
# label fractions and labelled subsets, and ``python benchmarks/physionet2020.py``
# runs the full study.
