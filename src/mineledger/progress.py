"""A minimal progress protocol, so services report progress without printing themselves."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, ContextManager, Iterator, Protocol


class Advance(Protocol):
    def __call__(self, n: int = 1) -> None: ...


#: ``progress(description, total)`` returns a context manager yielding an ``advance(n)``.
ProgressFactory = Callable[[str, int], ContextManager[Advance]]


@contextmanager
def no_progress(description: str, total: int) -> Iterator[Advance]:
    """The default: report nothing."""
    yield lambda n=1: None
