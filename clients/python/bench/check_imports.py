"""Imports each of the adapter's modules alone, in a fresh interpreter, and fails on an import circle.

    python3 clients/python/bench/check_imports.py

A module that can only be imported after another (a circle) fails here, and the graph of
`from . import` edges is checked for cycles too.
"""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ranktop"


def modules():
    for path in sorted(PACKAGE.glob("*.py")):
        yield ("ranktop" if path.stem == "__init__" else "ranktop." + path.stem), path


def edges(path):
    """The adapter modules `path` imports at its top level (imports inside functions are lazy)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add("ranktop." + node.module)
            else:
                found.update("ranktop." + alias.name for alias in node.names)
    return found


def main():
    failures = 0
    graph = {}
    for name, path in modules():
        graph[name] = edges(path)
        result = subprocess.run([sys.executable, "-c", "import %s" % name], cwd=str(PACKAGE.parent),
                                capture_output=True, text=True)
        status = "ok" if result.returncode == 0 else "FAILED\n" + result.stderr
        failures += result.returncode != 0
        print("import %-28s %s  (imports %s)" % (name, status, ", ".join(sorted(graph[name])) or "-"))

    def visit(node, trail):
        if node in trail:
            return trail[trail.index(node):] + [node]
        for nxt in graph.get(node, ()):
            cycle = visit(nxt, trail + [node])
            if cycle:
                return cycle
        return None

    for name in graph:
        cycle = visit(name, [])
        if cycle:
            print("import circle: " + " -> ".join(cycle))
            failures += 1
            break
    print("no import circle" if not failures else "%d problem(s)" % failures)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
