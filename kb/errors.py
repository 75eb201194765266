"""The errors the library raises; the CLI and the app catch only these."""


class KbError(Exception):
    """Base class: the message says what went wrong and what to do next."""


class LoadError(KbError):
    """A file could not be read into a document."""


class IndexMismatchError(KbError):
    """The index on disk was built differently from what the settings ask."""


class QueryError(KbError):
    """A query is empty, too long or otherwise unusable."""
