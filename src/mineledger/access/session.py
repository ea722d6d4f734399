"""Who acts: a :class:`Session` is one caller's work on a store — the store, which is shared
and holds no user, and the acting user, resolved against the store's users table.

The CLI opens one session per command (:func:`open_store`); an HTTP interface opens the store
once and a session per request (``Session(store, user)``), so that no request ever acts with
another's identity. Every service takes a session as its first argument and asks it
(:meth:`Session.require`) before it reads or writes.

Who the user is: the name given (``--user``), else ``$MINELEDGER_USER``, else the login name.
A store with no users is a one-person store and its user is admin; once an admin has added
users (``mineledger users add``), only they may act, each in their role. On the embedded store
roles guard against mistakes, not against someone who copies the file (README, "History,
as-of figures, users and victims' personal data").

>>> import tempfile, os
>>> with tempfile.TemporaryDirectory() as d:
...     with open_store(os.path.join(d, "x.gpkg"), user="ada") as session:
...         str(session.actor)
'ada (admin)'
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Callable, Iterable

from mineledger.access.roles import Action, Actor, Role, authorize
from mineledger.errors import PermissionDenied
from mineledger.store import Store, connect
from mineledger.store.base import PagedResult


def login_name() -> str:
    """The name the operating system knows the user by ("unknown" in some containers)."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def acting_name(user: str | None = None) -> str:
    """Who acts: the name given, else ``$MINELEDGER_USER``, else the login name."""
    return user or os.environ.get("MINELEDGER_USER") or login_name()


def actor_in(users, name: str) -> Actor:
    """The actor ``name`` is in a users table (rows with ``name``, ``role``, ``country``,
    ``organisation``); in a store with no users, the admin of a one-person store.

    Raises
    ------
    PermissionDenied
        The store has users and ``name`` is not one of them.
    """
    if users.empty:
        return Actor(name, Role.ADMIN, single_user=True)
    row = users[users["name"] == name]
    if row.empty:
        raise PermissionDenied(f"{name!r} is not a user of this store; an admin adds users "
                               "with `mineledger users add` (act as another with --user)")
    r = row.iloc[0]
    return Actor(name, Role(r["role"]), r["country"] or None, r["organisation"] or None)


#: Run with the writer at the end of every write transaction, before it commits.
_ON_COMMIT: list[Callable[[Any], None]] = []


def on_commit(hook: Callable[[Any], None]) -> None:
    """Run ``hook(writer)`` at the end of every write transaction of a session, inside it (a
    domain registers what must change with every commit: derived figures). Registering the
    same function twice runs it once."""
    if hook not in _ON_COMMIT:
        _ON_COMMIT.append(hook)


#: Actions for which a session looks its user's role up again.
_LOOKED_UP_AGAIN = frozenset({Action.MANAGE, Action.BACKUP, Action.READ_PERSONAL,
                              Action.CORRECT_PERSONAL, Action.ERASE_PERSONAL})


class Session:
    """The acting user on a store.

    Parameters
    ----------
    store : Store
        Shared by any number of sessions; a session never changes it.
    user : str, optional
        Who acts (see :func:`acting_name`); their role is looked up in the store's users
        table on first use and kept for the session's life.
    actor : Actor, optional
        An actor already known (a service acting on a store it has just made, after checking
        the right to do so elsewhere); ``user`` is then ignored.
    owns_store : bool
        Close the store when the session closes (:func:`open_store` sessions do).

    The session offers the store's reads (``read_layer``, ``read_table``, ``query`` …) so
    that services and callers need one object; they are the store's own, unfiltered: each
    service applies the role's limits.
    """

    def __init__(self, store: Store, user: str | None = None, *, actor: Actor | None = None,
                 owns_store: bool = False):
        self.store = store
        self.user_name = actor.name if actor is not None else acting_name(user)
        self._identity = actor
        self._owned_identity = actor is None  # an actor given by a service is not looked up
        self._owns_store = owns_store
        self._kept: dict | None = None  # layers read once (reading_once)

    # -- who acts ------------------------------------------------------------------------

    @property
    def actor(self) -> Actor:
        """The acting user with the role the store gives them.

        Raises
        ------
        PermissionDenied
            The store has users and this name is not one of them.
        """
        if self._identity is None:
            self._identity = actor_in(self.store.read_table("users"), self.user_name)
        return self._identity

    def forget_actor(self) -> None:
        """Look the actor up again on next use (after the users table changed)."""
        self._identity = None

    def require(self, action: Action, *, country: str | None = None,
                organisation: str | None = None) -> Actor:
        """:func:`~mineledger.access.roles.authorize` the acting user; returns the actor.

        The role of a session is looked up once and kept, but for the actions that manage the
        store or touch personal data, which look it up again (a user demoted or removed
        since the session began is refused them at once).

        Raises
        ------
        PermissionDenied
        """
        if action in _LOOKED_UP_AGAIN and self._owned_identity:
            self.forget_actor()
        actor = self.actor
        authorize(actor, action, country=country, organisation=organisation)
        return actor

    def with_store(self, store: Store) -> "Session":
        """The same actor on another store (a view of this one as of a past instant)."""
        return Session(store, actor=self.actor)

    def reading_once(self) -> "Session":
        """The same actor on the same store, each layer of a country read once and kept for
        this session's life (each read hands out a copy): for one command that reads the same
        layers many times (the report), which then sees them all as of one moment."""
        view = Session(self.store, actor=self.actor)
        view._kept = {}
        return view

    # -- the store's reads ---------------------------------------------------------------

    @property
    def location(self) -> str:
        return self.store.location

    @property
    def at(self) -> dt.datetime | None:
        """The instant a past view stands for (None: the store now)."""
        return self.store.at

    @property
    def information_as_of(self) -> dt.date | None:
        return self.store.information_as_of

    @property
    def read_only(self) -> bool:
        return self.store.read_only

    def read_layer(self, layer: str, country: str | None = None,
                   import_ids: Iterable[str] | None = None):
        if self._kept is None or import_ids is not None:
            return self.store.read_layer(layer, country, import_ids)
        if (layer, country) not in self._kept:
            self._kept[(layer, country)] = self.store.read_layer(layer, country)
        return self._kept[(layer, country)].copy()

    def read_table(self, name: str, country: str | None = None):
        return self.store.read_table(name, country)

    def read_changes(self, **bounds) -> list[dict[str, Any]]:
        return self.store.read_changes(**bounds)

    def query(self, layer: str, **kw) -> PagedResult:
        return self.store.query(layer, **kw)

    def settings(self) -> dict[str, str]:
        return self.store.settings()

    def last_commit(self):
        return self.store.last_commit()

    def personal(self, uuids: Iterable[str]):
        return self.store.personal(uuids)

    def countries(self) -> list[str]:
        return self.store.countries()

    def count(self, layer: str, country: str | None = None) -> int:
        return self.store.count(layer, country)

    def admin_of_points(self, layer: str, country: str, level: int):
        return self.store.admin_of_points(layer, country, level)

    @contextmanager
    def writer(self, *, user: str, command: str):
        """A write transaction (:meth:`Store.writer`); before it commits, each function
        given to :func:`on_commit` runs with the writer (the headline figures are brought up
        to date there: :mod:`mineledger.land.figures`)."""
        with self.store.writer(user=user, command=command) as writer:
            yield writer
            for hook in _ON_COMMIT:
                hook(writer)

    def close(self) -> None:
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Session({self.store.location!r}, user={self.user_name!r})"


def open_store(location: str | Path | None = None, *, user: str | None = None,
               create: bool = True, check_schema: bool = True) -> Session:
    """Open the store at ``location`` for ``user``: a session that closes the store with it.

    ``location``, ``create`` and ``check_schema`` are those of
    :func:`mineledger.store.connect` (a ``.gpkg`` path or a ``postgresql://`` URL).

    Raises
    ------
    StoreError
        See :func:`mineledger.store.connect`.
    """
    return Session(connect(location, create=create, check_schema=check_schema), user,
                   owns_store=True)
