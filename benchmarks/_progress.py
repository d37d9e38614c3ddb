"""Where a long benchmark run is: progress bars with their time left, and the whole run's.

Every bar of the study is a ``tqdm`` bar (rate and time left of its own stage) whose
postfix carries ``run_left``, the time the whole run still needs. That comes from
the plan (``_plan.estimate``): stages not yet run are expected to take their planned
time, scaled by how the finished stages compared with their plan on this machine.
"""

import time

from skorch.callbacks import Callback
from tqdm.auto import tqdm


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


class RunClock:
    """The whole run's elapsed time and an estimate of the time it still needs.

    Parameters
    ----------
    planned : dict
        Planned seconds of each stage, in the order they run.
    """

    def __init__(self, planned: dict[str, float] | None = None) -> None:
        self.planned = dict(planned or {})
        self.actual: dict[str, float] = {}
        self.started = time.perf_counter()
        self.stage, self.stage_started = None, self.started

    def begin(self, stage: str) -> None:
        self.stage, self.stage_started = stage, time.perf_counter()

    def end(self) -> float:
        """Close the current stage, print its time and the run's; return its seconds."""
        stage, self.stage = self.stage, None
        seconds = time.perf_counter() - self.stage_started
        self.actual[stage] = seconds
        planned = self.planned.get(stage)
        versus = f" (planned {minutes(planned)})" if planned else ""
        tqdm.write(f"== {stage}: {minutes(seconds)}{versus}; run {minutes(self.elapsed())} "
                   f"elapsed, about {minutes(self.left())} left")  # fmt: skip
        return seconds

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def _pace(self) -> float:
        """How the finished stages' time compares with their plan (1.0 before any).

        The data stage does not count: it is much faster when the data are cached.
        """
        done = [s for s in self.actual if self.planned.get(s) and s != "data"]
        if not done:
            return 1.0
        return sum(self.actual[s] for s in done) / sum(self.planned[s] for s in done)

    def left(self) -> float:
        pace = self._pace()
        future = [s for s in self.planned if s not in self.actual and s != self.stage]
        left = pace * sum(self.planned[s] for s in future)
        if self.stage is not None:
            in_stage = time.perf_counter() - self.stage_started
            left += max(0.0, pace * self.planned.get(self.stage, 0.0) - in_stage)
        return left


CLOCK = RunClock()  # the run's clock; the benchmark replaces it with its plan


def bar(total: int, desc: str, unit: str, leave: bool = True) -> tqdm:
    """A progress bar that also shows the whole run's time left."""
    return tqdm(total=total, desc=desc, unit=unit, leave=leave, mininterval=1.0,
                maxinterval=10.0, dynamic_ncols=True)  # fmt: skip


def update(progress: tqdm, n: int = 1, **postfix) -> None:
    progress.set_postfix(**postfix, run_left=minutes(CLOCK.left()), refresh=False)
    progress.update(n)


class SampleProgress(Callback):
    """A progress bar over the training samples of one skorch fit (all its epochs).

    Counting samples, not epochs, keeps the bar moving when one epoch is minutes long.
    """

    def __init__(self, desc: str) -> None:
        self.desc = desc

    def on_train_begin(self, net, X=None, **kwargs):
        per_epoch = len(X) if X is not None and hasattr(X, "__len__") else 0
        self.bar_ = bar(net.max_epochs * per_epoch, self.desc, "sample", leave=False)

    def on_batch_end(self, net, training=None, **kwargs):
        if training:
            last = net.history[-1, "batches", -1]
            update(self.bar_, last["train_batch_size"], loss=f"{last['train_loss']:.3f}")

    def on_train_end(self, net, **kwargs):
        self.bar_.close()
