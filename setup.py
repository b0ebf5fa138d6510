"""Build hook: compiles spoolkit's C core through cffi (see spoolkit/_build.py)."""

from setuptools import setup

setup(cffi_modules=["spoolkit/_build.py:ffibuilder"])
