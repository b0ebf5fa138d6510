"""Build hook: compiles spoolkit's C core through cffi (see spoolkit/_build.py).

The extension uses only the stable ABI (cffi builds it with Py_LIMITED_API), so
the wheel is tagged abi3 and installs on every CPython from 3.9 on."""

from setuptools import setup

setup(cffi_modules=["spoolkit/_build.py:ffibuilder"],
      options={"bdist_wheel": {"py_limited_api": "cp39"}})
