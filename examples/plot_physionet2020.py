"""
3KG on the PhysioNet/CinC Challenge 2020 data
=============================================

The other examples use simulated ECGs. This one shows the same pipeline on the real
training data of the PhysioNet/CinC Challenge 2020, on which 3KG was evaluated: 43,101
12-lead ECGs from six databases (CPSC, INCART, PTB, PTB-XL, Georgia), labelled with
SNOMED CT codes, of which the paper scores 23 classes.

The data are about 7 GB and are not downloaded while this page is built. The script
looks for them under sk3kg's data home; when they are absent it prints how to get them
and stops after the first step, and the code below is only shown. With the data on disk
it runs end to end: a linear probe on 3KG embeddings of a random subset of the records,
sized to finish in minutes on a CPU.
"""

# %%
# Getting the data
# ----------------
# :func:`~sk3kg.datasets.fetch_physionet2020` downloads version 1.0.2 of the challenge
# into ``<data home>/physionet2020/`` (the data home is ``$SK3KG_DATA``, else
# ``~/sk3kg_data``; see :func:`~sk3kg.datasets.get_data_home`), checks every file's
# sha256, and resumes an interrupted download; a second call downloads nothing. It
# then reads the records, resampled to ``fs`` and cut or zero-padded to ``duration``,
# into a cached memory map, so later calls return at once. ``classes="3kg"`` gives the
# paper's 23 classes (equivalent codes merged); ``"merged"`` gives the challenge
# metric's 24.
#
# To download, call it with the default ``download_if_missing=True``. Here it is
# ``False``: the call raises an ``OSError`` whose message says where the data were
# looked for and how to get them, and we print it.
from sk3kg.datasets import fetch_physionet2020

try:
    ecg = fetch_physionet2020(download_if_missing=False, fs=100, duration=10.0, classes="3kg")
except OSError as error:
    ecg = None
    print(f"Skipping the rest of this example.\n{error}")
else:
    print(f"{ecg.data.shape[0]} records of {ecg.data.shape[2] / ecg.fs:g} s at {ecg.fs:g} Hz")

# %%
# If you downloaded the data yourself, for example with
# ``wget -r -N -c -np https://physionet.org/files/challenge-2020/1.0.2/``, read them with
# :func:`~sk3kg.datasets.load_physionet2020` instead; it takes the same keywords and
# finds every ``.hea`` file below the folder, whatever its layout:
#
# .. code-block:: python
#
#     from sk3kg.datasets import load_physionet2020
#
#     ecg = load_physionet2020(
#         "physionet.org/files/challenge-2020/1.0.2/training",
#         fs=100, duration=10.0, classes="3kg",
#     )
#
# The same function reads any folder of records in the challenge's format, which is a
# quick way to try it on a few files: sk3kg's developers keep 50 records of the 2021
# challenge in ``../shared/data/cinc2021-torch_ecg-sample/records`` beside the
# repository.
#
# Everything below runs only when the data were found.

# %%
# A subset and a split
# --------------------
# On a CPU we use a random subset of 5,000 records at 100 Hz; with a GPU, raise
# ``n_records`` to use them all. The challenge data carry no patient identifiers, so the
# split is by record; some databases (PTB, PTB-XL, INCART) hold several records of one
# patient, which makes the test score slightly optimistic. Records with none of the 23
# classes stay in: they are negatives for every class.
n_records = 5000
if ecg is not None:
    import numpy as np
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(0)
    subset = np.sort(rng.choice(len(ecg.data), min(n_records, len(ecg.data)), replace=False))
    X = np.asarray(ecg.data[subset])  # read the memory-mapped subset into memory
    y = ecg.target[subset]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    print(f"{len(X_train)} training and {len(X_test)} test records")
    print(dict(zip(ecg.target_names, y.sum(axis=0).tolist(), strict=True)))

# %%
# The pipeline
# ------------
# As in the simulated examples: 3KG pretraining with the paper's augmentations, then a
# standardised, one-vs-rest logistic regression. Twenty epochs over 4,000 records take
# a few minutes on a laptop CPU (``verbose=1`` prints each epoch); the paper trains for
# far longer on a GPU. The embedder runs on a GPU by itself when torch sees one
# (``device="auto"``).
if ecg is not None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from sk3kg import ThreeKGEmbedder

    pipe = Pipeline(
        [
            ("emb", ThreeKGEmbedder(max_epochs=20, batch_size=256, random_state=0, verbose=1)),
            ("scale", StandardScaler()),
            ("clf", OneVsRestClassifier(LogisticRegression(C=0.1, max_iter=1000))),
        ]
    )
    pipe.fit(X_train, y_train)

# %%
# Scores
# ------
# The macro AUC over the classes with a positive test record, and the AUC of each
# class. Compare with the untrained-encoder baseline of
# :ref:`sphx_glr_auto_examples_plot_pipeline.py` by refitting with
# ``emb__max_epochs=0``.
if ecg is not None:
    import matplotlib.pyplot as plt

    from sk3kg.metrics import macro_auc, per_class_auc

    y_score = pipe.predict_proba(X_test)
    auc, excluded = macro_auc(y_test, y_score, target_names=ecg.target_names, return_excluded=True)
    print(f"test macro AUC {auc:.3f}; no AUC (no positive test record): {excluded}")

    per_class = per_class_auc(y_test, y_score)  # NaN where undefined
    fig, ax = plt.subplots(figsize=(6, 6), layout="constrained")
    ax.barh(ecg.target_names, np.nan_to_num(per_class, nan=0.5) - 0.5, left=0.5)
    for name in np.asarray(ecg.target_names)[np.isnan(per_class)]:
        ax.text(0.51, name, "n/a", va="center", fontsize=8, color="0.4")
    ax.axvline(0.5, color="0.3", lw=1)
    ax.invert_yaxis()
    ax.set_xlim(min(0.3, np.nanmin(per_class) - 0.05), 1.0)
    ax.set(xlabel="test ROC AUC", title="PhysioNet 2020, linear probe on 3KG embeddings")
    plt.show()

# %%
# The full study
# --------------
# The label-efficiency benchmark (1 %, 10 % and 100 % of the labels, several
# baselines, the probe's ``C`` chosen on a validation split, per-class and challenge
# scores) runs on the real data with
#
# .. code-block:: bash
#
#     python benchmarks/physionet2020.py --data physionet2020 --download
#
# and, with the 3KG authors' training settings (a job for a GPU), with
# ``--preset paper``. Without ``--download`` it uses data already under the data home.
