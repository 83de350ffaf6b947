"""The optional C accelerator of servicecheck.text.normalize; everything else is in pyproject.toml.

``optional=True``: where no C compiler (or no Python headers) is found, the build goes on
without it and servicecheck uses its pure-Python code, which gives the same results.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("servicecheck.text._cnormalize", ["src/servicecheck/text/_cnormalize.c"], optional=True)])
