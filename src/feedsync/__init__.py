"""feedsync: a folder of front-matter articles in, RSS and Atom feeds per topic and provider out."""

# The one place the version is written (pyproject.toml reads it): importlib.metadata would cost
# more start-up time than a run that finds nothing changed.
__version__ = "0.2.0"
