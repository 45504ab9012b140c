"""Which module of ecgseg imports which, from the source with the standard library's ``ast``; circles and upward arrows.

    python tools/import_graph.py            # the listing, then any circle and any arrow against the layers
    python tools/import_graph.py --check    # exit 1 if there is a circle, an upward arrow, or a private name taken across modules

Every import counts, also those inside functions (the lazy ones), since a lazy import is still a dependency.
The layers are those of docs/ARCHITECTURE.md, bottom first; a module may import from its own layer or below, and a
package from its own submodules.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ecgseg"

#: Layers, bottom first (docs/ARCHITECTURE.md). A module not listed is reported.
LAYERS = [
    # the package root imports only _lazy (its public names load lazily), so every module may import it (__version__)
    ["ecgseg", "ecgseg._kernels", "ecgseg._detector_kernels", "ecgseg._lazy", "ecgseg.aami", "ecgseg.scheme",
     "ecgseg.atomic", "ecgseg.terms"],
    ["ecgseg.signal", "ecgseg.gaps", "ecgseg.peaks", "ecgseg.detector", "ecgseg._leads", "ecgseg.fibrillation", "ecgseg.quality",
     "ecgseg.rhythm", "ecgseg.morphology"],
    ["ecgseg.beats", "ecgseg.segmentation", "ecgseg.context"],
    ["ecgseg.records", "ecgseg.headers", "ecgseg.annotations", "ecgseg.labels", "ecgseg.diagnosis", "ecgseg.heartbeat_csv", "ecgseg.beatfile", "ecgseg.tasks", "ecgseg.protocols",
     "ecgseg.evaluate", "ecgseg.fetch", "ecgseg._transfer", "ecgseg._http", "ecgseg._layout"],
    ["ecgseg.parallel", "ecgseg.pipeline", "ecgseg.batch"],
    ["ecgseg.classify", "ecgseg.plot", "ecgseg.report", "ecgseg.report_quality"],
    ["ecgseg.cli", "ecgseg.__main__", "ecgseg._numba_blas"],
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, [names taken from it]) for every import statement in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("ecgseg"):
                names = [a.name for a in node.names]
                # `from . import x` imports the submodule x
                subs = [f"{target}.{n}" for n in names if (PACKAGE.parent / f"{target}.{n}".replace(".", "/")).with_suffix(".py").exists()
                        or (PACKAGE.parent / f"{target}.{n}".replace(".", "/") / "__init__.py").exists()]
                if subs:
                    found += [(s, []) for s in subs]
                else:
                    found.append((target, names))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("ecgseg")]
    return found


def layer_of(module: str) -> int | None:
    if module.startswith("ecgseg._") and module.endswith("_kernels"):
        return 0  # numba kernels import nothing of ecgseg
    best = None
    for i, layer in enumerate(LAYERS):
        for prefix in layer:
            if module == prefix or (prefix != "ecgseg" and module.startswith(prefix + ".")):
                best = i
    return best


def graph() -> dict[str, dict[str, list[str]]]:
    edges: dict[str, dict[str, list[str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_name(path)
        edges.setdefault(source, {})
        for target, names in imports(path):
            if target != source:
                edges[source].setdefault(target, []).extend(names)
    return edges


def cycles(edges) -> list[list[str]]:
    """Circles between modules, each once (Tarjan's strongly connected components of more than one module)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 on a circle, an upward arrow or a private name")
    args = parser.parse_args()
    edges = graph()
    problems = []
    for source in sorted(edges):
        targets = sorted(edges[source])
        print(f"{source} -> {', '.join(targets) if targets else '(nothing in ecgseg)'}")
        for target in targets:
            ls, lt = layer_of(source), layer_of(target)
            # a package and its own submodules (ecgseg.plot -> ecgseg.plot._strip); the root is a layer of its own
            same_package = target != "ecgseg" and (target.startswith(source + ".") or source.startswith(target + "."))
            if ls is None or lt is None:
                problems.append(f"not in a layer: {source if ls is None else target} (add it to LAYERS here and to "
                                "docs/ARCHITECTURE.md)")
            elif lt > ls and not same_package:
                problems.append(f"upward: {source} (layer {ls}) -> {target} (layer {lt})")
            private = [n for n in edges[source][target] if n.startswith("_") and not n.startswith("__")]
            own = source.split(".")[:2] == target.split(".")[:2]  # inside one subpackage (ecgseg.plot._common, ...)
            if private and not own:
                problems.append(f"private names: {source} takes {', '.join(private)} from {target}")
    for circle in cycles(edges):
        problems.append("circle: " + " -> ".join(circle))
    print()
    print("\n".join(sorted(set(problems))) if problems else "no circle, no upward arrow, no private name taken across modules")
    return 1 if args.check and problems else 0


if __name__ == "__main__":
    sys.exit(main())
