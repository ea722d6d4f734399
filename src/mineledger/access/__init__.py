"""Access: who acts (:class:`Session`) and what each role may do (:mod:`.roles`); managing
users and settings (:mod:`.users`). Domains import this package; it imports only the store
and the model."""

from mineledger.access.roles import ALLOWED, COUNTRY_BOUND, Action, Actor, Role, authorize
from mineledger.access.session import Session, acting_name, on_commit, open_store
from mineledger.errors import PermissionDenied

__all__ = ["ALLOWED", "COUNTRY_BOUND", "Action", "Actor", "PermissionDenied", "Role", "Session",
           "acting_name", "authorize", "on_commit", "open_store"]
