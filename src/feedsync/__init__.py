"""feedsync: a folder of front-matter articles in, RSS and Atom feeds per topic and provider out."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("feedsync")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
