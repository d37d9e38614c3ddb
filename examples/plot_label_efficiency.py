"""
Label efficiency: AUC against the fraction of labelled records
==============================================================

The promise of self-supervised pretraining is to need fewer labels: the encoder learns
from every ECG, labelled or not, and only the linear classifier on top needs labels. The
3KG paper measures this by pretraining on the whole training set, then fitting a linear
probe on 1 %, 10 % and 100 % of the training labels.

This example runs that protocol in miniature on simulated ECGs: 3KG embeddings against
the embeddings of the same encoder left untrained, at 5 %, 20 % and 100 % of the labels,
with several random labelled subsets per fraction to show the spread. The full study,
with more records, more baselines and the probe's regularisation chosen on a validation
split, is ``python benchmarks/physionet2020.py``.
"""

# %%
# Data and a split by patient
# ---------------------------
# 500 simulated records of 5 s at 100 Hz from 250 patients, with the 23 diagnoses of
# the 3KG paper. 30 % of the patients form the test split; the encoder is pretrained on
# the remaining records, all of them, without labels.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupShuffleSplit
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk3kg import ThreeKGEmbedder
from sk3kg.datasets import make_synthetic_ecgs
from sk3kg.metrics import macro_auc

ecgs = make_synthetic_ecgs(
    500, fs=100, duration=5.0, n_patients=250, classes="3kg", random_state=2, cache=False
)
X, y, patients = ecgs.data, ecgs.target, ecgs.patient_ids
splitter = GroupShuffleSplit(n_splits=1, test_size=0.3, random_state=0)
train, test = next(splitter.split(X, y, groups=patients))
print(f"{len(train)} training records, {len(test)} test records")

# %%
# Pretrain once, embed once
# -------------------------
# Pretraining does not look at labels, so it is done once, on all training records,
# and reused for every labelled subset. ``max_epochs=0`` gives the baseline: the same
# encoder with its random initial weights (``random_state=0`` for both).
embeddings = {}
for name, epochs in [("3KG pretrained", 15), ("untrained encoder", 0)]:
    embedder = ThreeKGEmbedder(max_epochs=epochs, batch_size=128, random_state=0)
    embedder.fit(X[train])
    embeddings[name] = (embedder.transform(X[train]), embedder.transform(X[test]))
print(f"embeddings of {embedder.embedding_dim_} dimensions")


# %%
# Labelled subsets
# ----------------
# A subset of a given fraction of the training records is drawn the way the benchmark
# draws it: first one random positive record of every diagnosis present, so that each
# class can be learnt at all, then a uniform random fill up to the requested size.
# At 5 % the one-positive-per-class records alone outnumber the 18 records asked for,
# so the subset is just those: about one record per diagnosis (the table below gives
# the sizes).
def labelled_subset(target, fraction, seed):
    """Row positions of a random subset of ``fraction`` of ``target``'s rows."""
    rng = np.random.default_rng(seed)
    one_per_class = {int(rng.choice(np.flatnonzero(col))) for col in target.T if col.any()}
    rest = rng.permutation(np.setdiff1d(np.arange(len(target)), list(one_per_class)))
    n_fill = max(0, round(fraction * len(target)) - len(one_per_class))
    return np.sort(np.concatenate([list(one_per_class), rest[:n_fill]]).astype(int))


# %%
# The linear probe
# ----------------
# Standardised embeddings and one L2-regularised logistic regression per diagnosis,
# with a fixed ``C=0.1`` (the benchmark chooses ``C`` on a validation split instead).
# A class with no positive record in the training split cannot be learnt: it gets a
# constant score, which counts as chance (AUC 0.5) wherever it is evaluated.
def probe_scores(train_features, train_target, test_features, seed):
    """Test scores of a probe fitted on the learnable classes; 0 for the others."""
    learnable = (train_target.min(axis=0) == 0) & (train_target.max(axis=0) == 1)
    probe = make_pipeline(
        StandardScaler(),
        OneVsRestClassifier(LogisticRegression(C=0.1, max_iter=1000, random_state=seed)),
    )
    probe.fit(train_features, train_target[:, learnable])
    scores = np.zeros((len(test_features), train_target.shape[1]))
    scores[:, learnable] = probe.predict_proba(test_features)
    return scores


# %%
# AUC at each fraction
# --------------------
# Five labelled subsets (seeds 0-4) per fraction, the same subsets for both encoders.
# The test split and the encoders stay fixed, so the spread shows how much the result
# depends on *which* records are labelled; at 100 % every seed draws the whole
# training set and the spread vanishes.
fractions, seeds = [0.05, 0.2, 1.0], range(5)
auc = {name: np.empty((len(fractions), len(seeds))) for name in embeddings}
for i, fraction in enumerate(fractions):
    for j, seed in enumerate(seeds):
        rows = labelled_subset(y[train], fraction, seed)
        for name, (f_train, f_test) in embeddings.items():
            scores = probe_scores(f_train[rows], y[train][rows], f_test, seed)
            auc[name][i, j], _ = macro_auc(y[test], scores, return_excluded=True)

# The last column is the gain of 3KG over the untrained encoder, paired by labelled
# subset (both probes see the same records), mean ± standard deviation over the seeds.
gain = auc["3KG pretrained"] - auc["untrained encoder"]
row = "{:>7}{:>9}" + "{:>20}" * (len(auc) + 1)
print(row.format("labels", "records", *auc, "gain"))
for i, fraction in enumerate(fractions):
    n_labelled = len(labelled_subset(y[train], fraction, 0))
    cells = [f"{a[i].mean():.3f} ± {a[i].std():.3f}" for a in [*auc.values(), gain]]
    print(row.format(f"{fraction:.0%}", n_labelled, *cells))

# %%
# The figure
# ----------
# Mean macro AUC over the five labelled subsets, error bars one standard deviation.
# What to look for: the gap between the two curves at each fraction, against the
# error bars. Pretraining pays off where the 3KG curve lies above the untrained
# encoder's. The paper reports the largest relative gains at the smallest fractions;
# whether this run agrees can be read from the gain column above, keeping in mind
# that 15 epochs on a few hundred records leave the encoder far from converged and
# that the test split has a handful of positives for the rare diagnoses. The absolute
# values are low and noisy; compare the curves, not the numbers.
fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
for k, (name, values) in enumerate(auc.items()):
    ax.errorbar(
        np.asarray(fractions) * 100 * (1 + 0.04 * (k - 0.5)),  # offset to keep bars apart
        values.mean(axis=1),
        yerr=values.std(axis=1),
        marker="o",
        capsize=4,
        label=name,
    )
ax.set_xscale("log")
ax.set_xticks([f * 100 for f in fractions], [f"{f:.0%}" for f in fractions])
ax.minorticks_off()
ax.set(
    xlabel=f"labelled training records (of {len(train)})",
    ylabel="test macro AUC",
    title="Linear probe on frozen embeddings",
)
ax.legend(loc="lower right")
plt.show()

# %%
# The full study
# --------------
# ``python benchmarks/physionet2020.py`` runs this protocol with 2,000 simulated
# records (or the PhysioNet/CinC 2020 data, when downloaded), 1 %, 10 % and 100 % of the
# labels, SimCLR-style, CMSC, supervised and MiniRocket baselines besides the untrained
# encoder, and a probe whose ``C`` is chosen on a validation split; its report lists
# per-class, per-subgroup and challenge scores.
