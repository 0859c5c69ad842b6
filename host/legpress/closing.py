"""``Closing``: ``with obj:`` for the library's objects that own a resource and have close()."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """Mixin: entering returns the object; leaving calls :meth:`close`, whatever happened."""

    def close(self) -> None:
        """Release what the object holds; each class that mixes this in defines it."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
