"""The errors the library raises; the CLI and the app catch only these."""


class KbError(Exception):
    """Base class: the message says what went wrong and what to do next."""


class LoadError(KbError):
    """A file could not be read into a document."""


class IndexMismatchError(KbError):
    """The index on disk was built differently from what the settings ask."""


class QueryError(KbError):
    """A query is empty, too long or otherwise unusable."""


class IndexDamagedError(KbError):
    """The index on disk cannot be read: a file is missing, truncated or not what it should be."""


class RemovalRefusedError(KbError):
    """A write would remove many documents at once (a missing source folder?); nothing was changed.

    Attributes:
        removing: How many documents the write would remove.
        total: How many the index holds.
    """

    def __init__(self, message: str, removing: int, total: int) -> None:
        super().__init__(message)
        self.removing = removing
        self.total = total
