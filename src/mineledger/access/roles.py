"""Users, roles and what each may do — one rule set for the CLI, the Python API and the
HTTP API, enforced here in the service layer.

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

Who acts: the store is opened for a user name (``--user``, ``MINELEDGER_USER``, else the login
name). A store with no users is a one-person store and its user is admin; once an admin has
added users (``mineledger users add``), only they may act, each in their role. On the embedded
store roles guard against mistakes, not against someone who copies the file — that is what the
encryption of personal data is for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from mineledger.errors import MineledgerError


class PermissionDenied(MineledgerError):
    """The acting user's role does not allow the action (the message names both)."""


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
    """The user a store was opened for, with their role and limits."""

    name: str
    role: Role
    country: str | None = None
    organisation: str | None = None
    single_user: bool = False  # a store with no users: its one user is admin

    def __str__(self) -> str:
        where = "".join(f" {x}" for x in (self.country, self.organisation) if x)
        return f"{self.name} ({self.role.value}{where})"


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


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def login_name() -> str:
    """The name the operating system knows the user by ("unknown" in some containers)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def acting_name(user: str | None = None) -> str:
    """Who acts: the name given, else ``$MINELEDGER_USER``, else the login name."""
    import os

    return user or os.environ.get("MINELEDGER_USER") or login_name()


def actor_of(store) -> Actor:
    """The user the store was opened for (``open_store(…, user=…)``, ``MINELEDGER_USER``,
    else the login name), with the role the store's users table gives them.

    Raises
    ------
    PermissionDenied
        The store has users and this name is not one of them.
    """
    cached = getattr(store, "_actor", None)
    if cached is not None:
        return cached
    name = acting_name(getattr(store, "user_name", None))
    users = store.read_table("users")
    if users.empty:
        actor = Actor(name, Role.ADMIN, single_user=True)
    else:
        row = users[users["name"] == name]
        if row.empty:
            raise PermissionDenied(f"{name!r} is not a user of this store; an admin adds users "
                                   "with `mineledger users add` (act as another with --user)")
        r = row.iloc[0]
        actor = Actor(name, Role(r["role"]), r["country"] or None, r["organisation"] or None)
    store._actor = actor
    return actor


def require(store, action: Action, *, country: str | None = None,
            organisation: str | None = None) -> Actor:
    """:func:`authorize` the store's acting user; returns the actor."""
    actor = actor_of(store)
    authorize(actor, action, country=country, organisation=organisation)
    return actor


# --- managing users and settings (admin) ---------------------------------------------------------

#: Settings an admin may set, with what each accepts.
SETTINGS = {
    "timezone": "an IANA time zone such as UTC or Europe/Sarajevo (the days --as-of DATE means)",
    "operator_reads:ISO3": "all or own (whether operators read other organisations' records)",
}


def put_user(store, name: str, role: str, *, country: str | None = None,
             organisation: str | None = None) -> dict:
    """Add a user or change one's role (admin; in a one-person store, the first user added
    must be an admin, who is then the only one who can add others).

    Raises
    ------
    QueryError
        An unknown role, an officer or operator without a country, an operator without an
        organisation, a bad country code, or a first user who is not an admin.
    PermissionDenied
        The acting user is not an admin.
    """
    from mineledger.errors import QueryError

    actor = require(store, Action.MANAGE)
    try:
        role = Role(role)
    except ValueError:
        raise QueryError(f"--role {role!r}: expected one of {', '.join(r.value for r in Role)}") from None
    name = (name or "").strip()
    if not name:
        raise QueryError("a user needs a name")
    if country is not None and not (len(country) == 3 and country.isalpha() and country.isupper()):
        raise QueryError(f"--country {country!r}: expected an ISO 3166-1 alpha-3 code such as COL")
    if role in COUNTRY_BOUND and not country:
        raise QueryError(f"an {role.value} works in one country: give --country")
    if role == Role.OPERATOR and not organisation:
        raise QueryError("an operator writes its organisation's records: give --organisation")
    if actor.single_user and role != Role.ADMIN:
        raise QueryError("the first user of a store must be an admin (then add the others as "
                         "that admin with --user)")
    users = store.read_table("users")
    admins = set(users.loc[users["role"] == Role.ADMIN.value, "name"]) if not users.empty else set()
    if admins == {name} and role != Role.ADMIN:
        raise QueryError(f"{name} is the store's only admin; make another user admin first")
    row = {"name": name, "role": role.value, "country": country, "organisation": organisation}
    with store.writer(user=actor.name, command="users add") as writer:
        writer.put_user(row, reason=f"role {role.value}")
    store._actor = None
    return row


def list_users(store):
    require(store, Action.MANAGE)
    df = store.read_table("users")
    return df[["name", "role", "country", "organisation", "created_at", "created_by"]]


def remove_user(store, name: str) -> None:
    from mineledger.errors import QueryError, StoreError

    actor = require(store, Action.MANAGE)
    users = store.read_table("users")
    admins = users[users["role"] == Role.ADMIN.value]["name"].tolist()
    if admins == [name]:
        raise QueryError(f"{name} is the store's only admin; make another user admin first (a "
                         "store without an admin could not be managed)")
    try:
        with store.writer(user=actor.name, command="users remove") as writer:
            writer.remove_user(name, reason="removed")
    except StoreError as exc:
        raise QueryError(str(exc)) from None
    store._actor = None


def show_settings(store) -> dict[str, str]:
    actor = actor_of(store)
    authorize(actor, Action.READ, country=actor.country)
    return {k: v for k, v in store.settings().items() if k != "schema_version"}


def set_setting(store, key: str, value: str) -> None:
    """Set ``timezone`` or ``operator_reads:ISO3`` (admin).

    Raises
    ------
    QueryError
        An unknown key or a value it does not accept.
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from mineledger.errors import QueryError

    actor = require(store, Action.MANAGE)
    if key == "timezone":
        from zoneinfo import available_timezones

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise QueryError(f"timezone {value!r}: expected {SETTINGS['timezone']}") from None
        if value not in available_timezones() or value in ("localtime", "Factory") or \
                value.startswith(("right/", "posix/")):
            raise QueryError(f"timezone {value!r}: expected {SETTINGS['timezone']}")
    elif key.startswith("operator_reads:") and len(key) == len("operator_reads:") + 3:
        if value not in ("all", "own"):
            raise QueryError(f"{key} {value!r}: expected all or own")
    else:
        raise QueryError(f"setting {key!r}; expected one of: " +
                         "; ".join(f"{k} ({v})" for k, v in SETTINGS.items()))
    with store.writer(user=actor.name, command=f"settings set {key}") as writer:
        writer.set_setting(key, value)


def operator_sees_only_own(store, actor: Actor, country: str | None) -> bool:
    """Whether an operator reads only its organisation's records in a country."""
    if actor.role != Role.OPERATOR:
        return False
    return store.settings().get(f"operator_reads:{country or actor.country}", "all") == "own"
