"""Errors the user can act on. The CLI prints them as one message (no traceback)."""


class CwoutcomesError(Exception):
    """A problem with the user's input or settings, explained in the message."""


class InputError(CwoutcomesError):
    """Bad input data: the message names the file, and where known the row and field."""

    def __init__(self, message: str, *, path=None, row=None, field=None):
        where = ", ".join(
            part for part in (
                f"file {path}" if path is not None else None,
                f"row {row}" if row is not None else None,
                f"field {field!r}" if field is not None else None,
            ) if part
        )
        super().__init__(f"{message} ({where})" if where else message)
        self.path, self.row, self.field = path, row, field
