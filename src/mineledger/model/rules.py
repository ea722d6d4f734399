"""Pure rules of the hazard life cycle. No I/O.

- Status transitions (GICHD Minimum Data Requirements; IMSMA's typical cycle: SHA, open →
  progress report → CHA, worked on → completion report → closed → handed over).
- Evidence: an SHA for which direct evidence is recorded becomes a CHA (IMAS 04.10).
- Date of information: a report changes a hazard's summary fields only if its date of
  information is later than the one already applied; an equal or earlier one enters the
  history only (IMSMA NG information model).
"""

from __future__ import annotations

import datetime as dt

from mineledger.errors import MineledgerError
from mineledger.model.vocab import HazardStatus, HazardType


class TransitionError(MineledgerError):
    """A status change that the life cycle does not allow."""


#: Allowed status changes. ``superseded``: the hazard was split or merged by survey, and its
#: land now belongs to the hazards it became (see the lineage), so it is never counted twice.
TRANSITIONS: dict[str, set[str]] = {
    HazardStatus.OPEN: {HazardStatus.WORKED_ON, HazardStatus.CLOSED, HazardStatus.SUPERSEDED},
    HazardStatus.WORKED_ON: {HazardStatus.CLOSED, HazardStatus.SUPERSEDED},
    HazardStatus.CLOSED: {HazardStatus.HANDED_OVER, HazardStatus.OPEN},
    HazardStatus.HANDED_OVER: {HazardStatus.OPEN},
    HazardStatus.SUPERSEDED: set(),
}

#: Records that allow a closed hazard to be handed over.
HANDOVER_RECORDS = {"completion", "handover"}


def check_transition(current: str, new: str, *, hazard: str = "hazard",
                     record: str | None = None, remaining_m2: float | None = None) -> str:
    """Check a status change; return the new status.

    Parameters
    ----------
    current, new : str
        :class:`HazardStatus` values.
    hazard : str
        How to name the hazard in the error (its id or local id).
    record : str, optional
        The kind of record that asks for the change (``progress``, ``completion``,
        ``handover`` …).
    remaining_m2 : float, optional
        The hazard's remaining area; closing needs it to be zero when it is known.

    Raises
    ------
    TransitionError
        The life cycle does not allow it (reopening is allowed: new evidence can reopen a
        closed or handed-over area, and that is recorded).

    Examples
    --------
    >>> check_transition("open", "worked_on")
    'worked_on'
    >>> check_transition("closed", "handed_over", record="completion")
    'handed_over'
    >>> check_transition("worked_on", "handed_over")
    Traceback (most recent call last):
    ...
    mineledger.model.rules.TransitionError: hazard: cannot go from worked_on to handed_over; allowed: closed, superseded
    """
    current, new = HazardStatus(current), HazardStatus(new)
    if new == current:
        return new.value
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none (final)"
        raise TransitionError(f"{hazard}: cannot go from {current.value} to {new.value}; "
                              f"allowed: {allowed}")
    if new == HazardStatus.HANDED_OVER and record not in HANDOVER_RECORDS:
        raise TransitionError(f"{hazard}: handing over needs a completion or handover record, "
                              f"got {record or 'none'}")
    if new == HazardStatus.CLOSED and remaining_m2 is not None and remaining_m2 > 0:
        raise TransitionError(f"{hazard}: cannot close with {remaining_m2:,.0f} m² remaining; "
                              "cancel, reduce or clear it first")
    return new.value


def status_after_release(current: str, remaining_m2: float) -> str:
    """The status a hazard takes once its remaining area is known: an open or worked-on
    hazard whose remaining area reaches zero is closed; one with land left is worked on once
    land was released from it.

    >>> status_after_release("worked_on", 0.0)
    'closed'
    >>> status_after_release("open", 1250.0)
    'worked_on'
    """
    current = HazardStatus(current)
    if current not in (HazardStatus.OPEN, HazardStatus.WORKED_ON):
        return current.value
    return HazardStatus.CLOSED.value if remaining_m2 <= 0 else HazardStatus.WORKED_ON.value


def hazard_type_after_evidence(current: str, evidence: str | None) -> str:
    """An SHA with direct evidence becomes a CHA; a CHA stays one (IMAS 04.10).

    >>> hazard_type_after_evidence("SHA", "direct")
    'CHA'
    >>> hazard_type_after_evidence("SHA", "indirect")
    'SHA'
    """
    current = HazardType(current)
    if evidence == "direct":
        return HazardType.CHA.value
    return current.value


def applies(report_date: dt.date | None, applied_date: dt.date | None) -> bool:
    """Whether a report with date of information ``report_date`` updates a summary whose
    date of information is ``applied_date``: only a later date does. A report without a date
    never overrides a dated summary; the first report always applies.

    >>> import datetime as dt
    >>> applies(dt.date(2024, 5, 1), dt.date(2024, 3, 1))
    True
    >>> applies(dt.date(2024, 3, 1), dt.date(2024, 3, 1))
    False
    >>> applies(None, None), applies(None, dt.date(2024, 1, 1))
    (True, False)
    """
    if applied_date is None:
        return True
    if report_date is None:
        return False
    return report_date > applied_date
