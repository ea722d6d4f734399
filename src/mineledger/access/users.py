"""Managing a store's users and settings (admins; README, "History, as-of figures, users and
victims' personal data")."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from mineledger.access.roles import COUNTRY_BOUND, Action, Actor, Role
from mineledger.access.session import Session
from mineledger.errors import QueryError, StoreError
from mineledger.model.codes import checked_country

#: Settings an admin may set, with what each accepts.
SETTINGS = {
    "timezone": "an IANA time zone such as UTC or Europe/Sarajevo (the days --as-of DATE means)",
    "operator_reads:ISO3": "all or own (whether operators read other organisations' records)",
}


def put_user(session: Session, name: str, role: str, *, country: str | None = None,
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
    actor = session.require(Action.MANAGE)
    try:
        role = Role(role)
    except ValueError:
        raise QueryError(f"--role {role!r}: expected one of {', '.join(r.value for r in Role)}") from None
    name = (name or "").strip()
    if not name:
        raise QueryError("a user needs a name")
    if country is not None:
        country = checked_country(country)
    if role in COUNTRY_BOUND and not country:
        raise QueryError(f"an {role.value} works in one country: give --country")
    if role == Role.OPERATOR and not organisation:
        raise QueryError("an operator writes its organisation's records: give --organisation")
    if actor.single_user and role != Role.ADMIN:
        raise QueryError("the first user of a store must be an admin (then add the others as "
                         "that admin with --user)")
    users = session.read_table("users")
    admins = set(users.loc[users["role"] == Role.ADMIN.value, "name"]) if not users.empty else set()
    if admins == {name} and role != Role.ADMIN:
        raise QueryError(f"{name} is the store's only admin; make another user admin first")
    row = {"name": name, "role": role.value, "country": country, "organisation": organisation}
    with session.writer(user=actor.name, command="users add") as writer:
        writer.put_user(row, reason=f"role {role.value}")
    session.forget_actor()
    return row


def list_users(session: Session):
    """The users table (name, role, country, organisation, created_at, created_by)."""
    session.require(Action.MANAGE)
    df = session.read_table("users")
    return df[["name", "role", "country", "organisation", "created_at", "created_by"]]


def remove_user(session: Session, name: str) -> None:
    """Remove a user (admin); the only admin cannot be removed.

    Raises
    ------
    QueryError
        No such user, or the store's only admin.
    """
    actor = session.require(Action.MANAGE)
    users = session.read_table("users")
    admins = users[users["role"] == Role.ADMIN.value]["name"].tolist()
    if admins == [name]:
        raise QueryError(f"{name} is the store's only admin; make another user admin first (a "
                         "store without an admin could not be managed)")
    try:
        with session.writer(user=actor.name, command="users remove") as writer:
            writer.remove_user(name, reason="removed")
    except StoreError as exc:
        raise QueryError(str(exc)) from None
    session.forget_actor()


def show_settings(session: Session) -> dict[str, str]:
    """The store's settings (time zone, what operators read …): anyone who may read figures
    reads them."""
    session.require(Action.AGGREGATE, country=session.actor.country)
    return {k: v for k, v in session.settings().items() if k != "schema_version"}


def set_setting(session: Session, key: str, value: str) -> None:
    """Set ``timezone`` or ``operator_reads:ISO3`` (admin).

    Raises
    ------
    QueryError
        An unknown key or a value it does not accept.
    """
    actor = session.require(Action.MANAGE)
    if key == "timezone":
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
    with session.writer(user=actor.name, command=f"settings set {key}") as writer:
        writer.set_setting(key, value)


def operator_sees_only_own(session: Session, actor: Actor, country: str | None) -> bool:
    """Whether an operator reads only its organisation's records in a country (the country's
    ``operator_reads`` setting)."""
    if actor.role != Role.OPERATOR:
        return False
    return session.settings().get(f"operator_reads:{country or actor.country}", "all") == "own"
