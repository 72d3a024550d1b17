from setuptools import Extension, setup

# The optional C encoders, shared-memory writer, collective wrapper and process-group hooks (ranktop/_native*.c):
# without a compiler the adapter is pure Python.
setup(ext_modules=[Extension("ranktop._native", ["ranktop/_native.c", "ranktop/_native_lock.c", "ranktop/_native_ring.c", "ranktop/_native_collective.c", "ranktop/_native_pg_hooks.c"],
                             depends=["ranktop/_native_float.h", "ranktop/_native_ryu_table.h", "ranktop/_native_json.h", "ranktop/_native_lock.h", "ranktop/_native_ring.h", "ranktop/_native_collective.h", "ranktop/_native_pg_hooks.h", "ranktop/_native_error.h", "ranktop/_native_module.h"], optional=True)])
