"""Roles and what each may do — one rule set for the CLI, the Python API and the later HTTP
API (README, "History, as-of figures, users and victims' personal data", Roles).

=========  =====================================================================================
role       may
=========  =====================================================================================
admin      everything, in every country; manage users and settings; back up and restore
officer    everything in its country (information management officer): import, revert an
           import, change records (link, fix, mark findings), run checks, read records and
           history, export, read / correct / erase victims' personal data
operator   import its own organisation's records in its country and revert its own imports;
           read records — all of the country's, or only its own where the country's setting
           ``operator_reads`` is ``own`` —, their history, figures and exports (no personal data)
viewer     read records, history, figures and exports (no personal data); in its country if it
           has one
public     figures only (summary, land release ledger, layer counts): aggregates and
           non-sensitive fields
=========  =====================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mineledger.errors import PermissionDenied


class Role(StrEnum):
    ADMIN = "admin"
    OFFICER = "officer"
    OPERATOR = "operator"
    VIEWER = "viewer"
    PUBLIC = "public"


class Action(StrEnum):
    """What a service does, as a user would name it in a refusal."""

    IMPORT = "import records"
    REVERT = "revert an import"
    AMEND = "change records"
    CHECK = "run the data quality catalogue"
    READ = "read records"
    AGGREGATE = "read figures"
    HISTORY = "read the history of records"
    EXPORT = "export records"
    READ_PERSONAL = "read victims' personal data"
    CORRECT_PERSONAL = "correct victims' personal data"
    ERASE_PERSONAL = "erase victims' personal data"
    MANAGE = "manage users and settings"
    BACKUP = "back up or restore the store"


#: Actions each role may take (country and organisation limits are checked besides).
ALLOWED: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.OFFICER: frozenset(Action) - {Action.MANAGE, Action.BACKUP},
    Role.OPERATOR: frozenset({Action.IMPORT, Action.REVERT, Action.READ, Action.AGGREGATE,
                              Action.HISTORY, Action.EXPORT}),
    Role.VIEWER: frozenset({Action.READ, Action.AGGREGATE, Action.HISTORY, Action.EXPORT}),
    Role.PUBLIC: frozenset({Action.AGGREGATE}),
}
#: Roles whose every action is within one country.
COUNTRY_BOUND = {Role.OFFICER, Role.OPERATOR}


@dataclass(frozen=True)
class Actor:
    """A user acting on a store, with their role and limits."""

    name: str
    role: Role
    country: str | None = None
    organisation: str | None = None
    single_user: bool = False  # a store with no users: its one user is admin

    def __str__(self) -> str:
        where = "".join(f" {x}" for x in (self.country, self.organisation) if x)
        return f"{self.name} ({self.role.value}{where})"

    def may(self, action: Action) -> bool:
        """Whether the role allows ``action`` at all (country limits aside)."""
        return action in ALLOWED[self.role]


def authorize(actor: Actor, action: Action, *, country: str | None = None,
              organisation: str | None = None) -> None:
    """Refuse an action the actor's role does not allow.

    Parameters
    ----------
    actor : Actor
    action : Action
    country : str, optional
        The country the action is about (ISO3); None for an action about every country.
    organisation : str, optional
        The organisation whose records are written or reverted (for operators).

    Raises
    ------
    PermissionDenied
        Naming the user, the role and the action.
    """
    if action not in ALLOWED[actor.role]:
        raise PermissionDenied(f"{actor} may not {action.value}")
    if actor.role == Role.ADMIN:
        return
    if actor.country:
        if country is None and (actor.role in COUNTRY_BOUND or action not in
                                (Action.AGGREGATE, Action.READ)):
            raise PermissionDenied(f"{actor} may {action.value} only in {actor.country}: name "
                                   "the country (--country)")
        if country is not None and country != actor.country:
            raise PermissionDenied(f"{actor} may not {action.value} in {country}; only in "
                                   f"{actor.country}")
    elif actor.role in COUNTRY_BOUND:
        raise PermissionDenied(f"{actor} has no country; an admin must set one")
    if actor.role == Role.OPERATOR and action in (Action.IMPORT, Action.REVERT):
        if organisation != actor.organisation:
            raise PermissionDenied(f"{actor} may {action.value} only for its own organisation "
                                   f"({actor.organisation}), not for {organisation or 'records of no organisation'}")


def refuse_role(actor: Actor, action: Action) -> None:
    """Refuse ``action`` if the role never allows it, before anything is looked up (so that
    a refusal tells nothing about what the store holds)."""
    if not actor.may(action):
        raise PermissionDenied(f"{actor} may not {action.value}")
