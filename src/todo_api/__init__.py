"""todo-api: the backend of a multi-user todo app."""

from importlib.metadata import version

__version__ = version("todo-api")
