"""Bad records, said once for every reader: the error that stops at one, the warning that
lists those left out."""

from __future__ import annotations

import warnings

from ._challenge._format import RecordError

__all__ = ["raise_bad_record", "report_skipped"]

_MAX_LISTED = 20  # skipped records named in the warning; all of them are in bunch.skipped


def raise_bad_record(reason: str) -> None:
    """Stop at a bad record (``on_error="raise"``), saying how to leave such records out."""
    raise RecordError(f"{reason} Pass on_error='skip' to leave bad records out.")


def report_skipped(skipped: list, n_total: int, on_error: str, *, skipped_flat=(),
                   stacklevel: int = 3) -> None:  # fmt: skip
    """One warning for the records left out: the bad ones (which raise instead under
    ``on_error="raise"``) and those with flat leads that ``skip_flat=True`` leaves out.

    ``skipped`` and ``skipped_flat`` hold ``(record, reason)`` pairs; ``stacklevel``
    (``warnings.warn``'s, counted from this function) points the warning at the
    user's call: 3 when the public loader calls this function itself.
    """
    if skipped and on_error == "raise":
        raise_bad_record(skipped[0][1])
    every = list(skipped) + list(skipped_flat)
    if not every:
        return
    listed = "\n  ".join(reason for _, reason in every[:_MAX_LISTED])
    more = f"\n  and {len(every) - _MAX_LISTED} more" if len(every) > _MAX_LISTED else ""
    advice = ["Pass on_error='raise' to stop at the first bad record instead."] * bool(skipped)
    advice += ["Pass skip_flat=False to keep the records with flat leads (the result's "
               "'flat_leads' marks those leads)."] * bool(skipped_flat)  # fmt: skip
    warnings.warn(
        f"Skipped {len(every)} of {n_total} records (all listed in the result's 'skipped'):"
        f"\n  {listed}{more}\n" + " ".join(advice),
        UserWarning,
        stacklevel=stacklevel,
    )
