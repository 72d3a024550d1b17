from setuptools import Extension, setup

# The optional C batch encoder (ranktop/_native.c): without a compiler the adapter is pure Python.
setup(ext_modules=[Extension("ranktop._native", ["ranktop/_native.c"], optional=True)])
