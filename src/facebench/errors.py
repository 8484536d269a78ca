"""The project's one exception type: a message that names the file and what is wrong."""


class FacebenchError(Exception):
    """An expected failure (bad input, missing model, unavailable backend), shown as one line."""
