"""Zero-code mode for an installed ranktop (`pip install ranktop`), with no PYTHONPATH to set.

The wheel puts `ranktop_autoload.pth` in site-packages; Python runs its one line at start-up, which
imports this module only when RANKTOP_ADDR is set (a multi-node run: `RANKTOP_ADDR=tcp://...`
on every node), so an interpreter that is not being watched pays one environment lookup. Under
`ranktop run` the `_autoload` sitecustomize does the same; installing twice is a no-op.
"""

import sys

try:
    from ranktop import _hook

    _hook.install()
except Exception as error:  # noqa: BLE001 - a broken adapter must never stop the script
    sys.stderr.write("ranktop: could not instrument this process: %s: %s\n" % (type(error).__name__, error))
