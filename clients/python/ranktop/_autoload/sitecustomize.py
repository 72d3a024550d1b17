"""ranktop's zero-code hook, put first on PYTHONPATH by `ranktop run` and `ranktop launch`.

With RANKTOP_ADDR set it installs an import hook that patches accelerate when the script imports
it; nothing else is imported or patched up front. Because this file shadows any other
`sitecustomize` on sys.path (a venv's, the distribution's), it runs that one afterwards.
"""

import os
import sys


def _install_ranktop():
    if not os.environ.get("RANKTOP_ADDR"):
        return
    try:
        from ranktop import _hook

        _hook.install()
    except Exception as error:  # noqa: BLE001 - a broken adapter must never stop the script
        sys.stderr.write("ranktop: could not instrument this process: %s: %s\n" % (type(error).__name__, error))


def _chain_shadowed_sitecustomize():
    here = os.path.dirname(os.path.abspath(__file__))
    for entry in sys.path:
        directory = os.path.abspath(entry or os.getcwd())
        if directory == here:
            continue
        if os.path.isfile(os.path.join(directory, "sitecustomize.py")) or os.path.isdir(
            os.path.join(directory, "sitecustomize")
        ):
            break
    else:
        return
    import importlib.machinery
    import importlib.util

    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", [directory])
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # noqa: BLE001 - the way site.py reports a failing sitecustomize
        if sys.flags.verbose:
            sys.excepthook(*sys.exc_info())
        else:
            sys.stderr.write(
                "Error in sitecustomize; set PYTHONVERBOSE for traceback:\n%s: %s\n" % (type(error).__name__, error)
            )


_install_ranktop()
_chain_shadowed_sitecustomize()
