"""Where the study's records come from: the simulator, PhysioNet 2020 and 2021, PTB-XL;
and, for pretraining only, MIMIC-IV-ECG (unlabelled).

``load_data`` gives the records a method is evaluated on, with their labels per class
set and their split; ``load_pool`` the unlabelled records it is pretrained on when
that is another dataset (``--pretrain-data``). Records of a pool that are also in the
evaluation's validation or test split (PhysioNet 2021 holds the 2020 records, and both
hold PTB-XL's as ``HR*``) are left out of pretraining. MIMIC-IV-ECG's patients are
none of theirs (another hospital), so none of its records is left out.
"""

from pathlib import Path

import numpy as np

from sk3kg.datasets import (
    PTBXL_TASKS,
    code_to_index,
    fetch_mimic_iv_ecg,
    fetch_physionet2020,
    fetch_physionet2021,
    fetch_ptbxl,
    get_class_set,
    get_data_home,
    load_mimic_iv_ecg,
    load_physionet2020,
    load_physionet2021,
    load_ptbxl,
    make_synthetic_ecgs,
    ptbxl_split,
)

DATASETS = ("synthetic", "physionet2020", "physionet2021", "ptbxl")
# Datasets that can only be pretrained on: they carry no diagnosis labels.
POOLS = (*DATASETS, "mimic-iv-ecg")
# Records in each real dataset and classes of each PTB-XL task, for --plan before
# anything is loaded.
SIZES = {"physionet2020": 43_101, "physionet2021": 88_253, "ptbxl": 21_799,
         "mimic-iv-ecg": 800_035}  # fmt: skip
PTBXL_TASK_SIZES = {"all": 71, "diagnostic": 44, "subdiagnostic": 23, "superdiagnostic": 5,
                    "form": 19, "rhythm": 12}  # fmt: skip
_FOLDERS = {"physionet2020": ("physionet2020", "1.0.2", "training"),
            "physionet2021": ("physionet2021", "1.0.3", "training"),
            "ptbxl": ("ptbxl", "1.0.3", ""),
            "mimic-iv-ecg": ("mimic-iv-ecg", "1.0", "")}  # fmt: skip
_NAMES = {"synthetic": "embedded synthetic data (sk3kg.datasets.make_synthetic_ecgs)",
          "physionet2020": "PhysioNet/CinC 2020 training data",
          "physionet2021": "PhysioNet/CinC 2021 training data",
          "ptbxl": "PTB-XL 1.0.3",
          "mimic-iv-ecg": "MIMIC-IV-ECG 1.0"}  # fmt: skip


def root(name: str, data_home) -> Path:
    """Where ``fetch_<name>`` keeps a dataset under the data home."""
    parts = _FOLDERS[name]
    return Path(get_data_home(data_home)).joinpath(*parts[:2]) / parts[2]


def resolve(choice: str, data_home) -> str:
    """``auto``: the PhysioNet 2020 data when they are under the data home, else the simulator."""
    if choice != "auto":
        return choice
    return "physionet2020" if root("physionet2020", data_home).is_dir() else "synthetic"


def class_sets_for(classes: str, merged: bool = True) -> list[str]:
    """The primary class set, plus (``merged``) the challenge's 24 merged classes beside
    3KG's 23, which the challenge score needs."""
    return [classes, "merged"] if classes == "3kg" and merged else [classes]


def convert_target(target: np.ndarray, source: str, destination: str) -> np.ndarray:
    """Re-express a multilabel target of one class set in a coarser one."""
    index = code_to_index(destination)
    codes = get_class_set(source).codes
    out = np.zeros((len(target), len(get_class_set(destination).codes)), dtype=target.dtype)
    for j, code in enumerate(codes):
        out[:, index[code]] |= target[:, j]
    return out


def _simulated(config: dict, classes: str, data_home):
    # Simulated once, then read from a memory map under the data home.
    return make_synthetic_ecgs(
        config["n_records"], fs=config["fs"], duration=config["duration"], classes=classes,
        n_patients=config["n_records"] // 2, random_state=0, cache=True, n_jobs=-1,
        data_home=data_home,
    )  # fmt: skip


def _bunch(name: str, config: dict, classes: str, data_home, download: bool):
    """The dataset's Bunch at the run's rate and length, downloaded first if asked."""
    if name == "synthetic":
        return _simulated(config, classes, data_home)
    if name == "mimic-iv-ecg":  # as many records as pretraining sees, at most
        kwargs = {"fs": config["fs"], "duration": config["duration"],
                  "n_records": min(config["pretrain_records"], SIZES[name])}  # fmt: skip
        if download:
            return fetch_mimic_iv_ecg(data_home=data_home, **kwargs)
        return load_mimic_iv_ecg(root(name, data_home), data_home=data_home, **kwargs)
    if name == "ptbxl":
        kwargs = {"fs": config["fs"], "task": classes}
        if download:
            return fetch_ptbxl(data_home=data_home, **kwargs)
        return load_ptbxl(root(name, data_home), data_home=data_home, **kwargs)
    kwargs = {"fs": config["fs"], "duration": config["duration"], "classes": classes}
    fetch, load = {"physionet2020": (fetch_physionet2020, load_physionet2020),
                   "physionet2021": (fetch_physionet2021, load_physionet2021)}[name]  # fmt: skip
    if download:
        return fetch(data_home=data_home, **kwargs)
    return load(root(name, data_home), data_home=data_home, **kwargs)


def record_keys(name: str, bunch) -> np.ndarray:
    """One name per record across datasets: PTB-XL's record ``ecg_id`` is the challenges' HR."""
    if name == "ptbxl":
        return np.array([f"HR{int(i):05d}" for i in bunch.ecg_id])
    return np.asarray(bunch.record_ids).astype(str)


def signals(records, config: dict) -> np.ndarray:
    """Records as float32 in memory, each scaled to a unit range when the preset asks.

    Applied to the rows a caller needs (a split, the kept pool records), so the
    memory-mapped data are read once, without a whole in-memory copy first.
    """
    X = np.asarray(records, dtype=np.float32)
    if config["scale_range"]:
        span = X.max(axis=(1, 2), keepdims=True) - X.min(axis=(1, 2), keepdims=True)
        X = X / np.where(span > 0, span, 1.0)
    return X


def _challenge_labels(bunch, classes: str, merged: bool) -> dict:
    finest = "scored" if classes == "scored" else "merged"
    target = np.asarray(bunch.target, dtype=np.int64)
    labels = {}
    for class_set in class_sets_for(classes, merged):
        klass = get_class_set(class_set)
        labels[class_set] = {"target": convert_target(target, finest, class_set),
                             "names": list(klass.abbreviations),
                             "codes": list(klass.codes)}  # fmt: skip
    return labels


def load_data(args, config) -> dict:
    """The evaluation records, their labels per class set, patients, keys and description.

    ``classes`` is the label set: a challenge class set, or a PTB-XL task for
    ``--data ptbxl`` (whose split is the official folds, ``"split"`` in the result).
    """
    name = resolve(config["data"], args.data_home)
    classes = args.classes or ("superdiagnostic" if name == "ptbxl" else "3kg")
    if (name == "ptbxl") != (classes in PTBXL_TASKS):
        choices = PTBXL_TASKS if name == "ptbxl" else ("3kg", "merged", "scored")
        raise SystemExit(f"--classes {classes} does not apply to --data {name}: use one of "
                         f"{choices}.")  # fmt: skip
    finest = classes if name == "ptbxl" else ("scored" if classes == "scored" else "merged")
    bunch = _bunch(name, config, finest, args.data_home, args.download)
    # The records as loaded (a memory map when cached); ``signals`` prepares each split.
    data = {"X": bunch.data, "name": name, "keys": record_keys(name, bunch)}
    if name == "ptbxl":
        target = np.asarray(bunch.target, dtype=np.int64)
        data["labels"] = {classes: {"target": target, "names": list(bunch.target_names),
                                    "codes": None}}  # fmt: skip
        data["patients"] = np.asarray(bunch.patient_id)
        data["split"] = ptbxl_split(bunch.strat_fold, labelled=target.any(axis=1))
        what = f"{len(bunch.data)} records, task {classes}, official folds 1-8 / 9 / 10"
    else:
        data["labels"] = _challenge_labels(bunch, classes, config["merged_classes"])
        # The challenges publish no patient ids; each record is its own group.
        ids = bunch.patient_ids if name == "synthetic" else bunch.record_ids
        data["patients"] = np.asarray(ids)
        what = f"{len(bunch.data)} records of {len(np.unique(data['patients']))} patients"
    data["targets"] = {c: v["target"] for c, v in data["labels"].items()}
    size = f"{config['fs']:g} Hz, {config['duration']:g} s"
    data["description"] = f"Data: {_NAMES[name]}: {what}, {size}."
    return data


def load_pool(name: str, args, config, exclude: np.ndarray) -> tuple[np.ndarray, str]:
    """Unlabelled pretraining records of another dataset, without the ``exclude`` keys."""
    task = "superdiagnostic" if name == "ptbxl" else "merged"
    bunch = _bunch(name, config, task, args.data_home, args.download)
    keep = ~np.isin(record_keys(name, bunch), exclude)
    X = signals(bunch.data[np.flatnonzero(keep)], config)
    left_out = f", {int((~keep).sum())} of them left out (in the evaluation's test or validation)"
    return X, (f"Pretraining data: {_NAMES[name]}: {len(X)} records"
               f"{left_out if not keep.all() else ''}.")  # fmt: skip
