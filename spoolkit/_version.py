"""The package version; compiled into the C core and checked at import."""

__version__ = "0.1.0"
