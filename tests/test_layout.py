"""The package's layout: no import cycles, and imports go one way along the data flow.

The import graph is built from the source (every import statement, also those
inside functions), so a cycle hidden by a function-level import is found too.
"""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "facecluster"

# Lower layers never import higher ones (same layer: allowed, cycles aside).
LAYERS = [
    {"facecluster._version", "facecluster.threads", "facecluster.openvino_runtime", "facecluster.errors", "facecluster.types", "facecluster.cache", "facecluster.distances", "facecluster.boxes", "facecluster.appearance",
     "facecluster.estimator",
     "facecluster.progress"},
    {"facecluster.video"},
    {"facecluster.faces"},
    {"facecluster.clothing"},
    {"facecluster.cluster"},
    {"facecluster.learn"},  # CCL's pseudo-labels come from a clustering
    {"facecluster.config"},
    {"facecluster.pipeline"},
    {"facecluster.outputs", "facecluster.gallery"},
    {"facecluster.research"},
    {"facecluster.jobs", "facecluster.review"},
    {"facecluster.demo"},
    {"facecluster.app"},
    {"facecluster.cli", "facecluster.__main__", "facecluster"},
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module → the facecluster modules it imports (anywhere in its body)."""
    files = {module_name(p): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = mod.split(".") if is_package else mod.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                # "from pkg import module" imports that module; "from module import name" the module
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for target in targets:
                if target in files and target != mod:
                    graph[mod].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def layer_of(module: str) -> int:
    best = None
    for i, layer in enumerate(LAYERS):
        for prefix in layer:
            if module == prefix or module.startswith(prefix + ".") and prefix != "facecluster":
                best = i
    if best is None:
        raise AssertionError(f"{module} belongs to no layer of tests/test_layout.py; add it")
    return best


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_imports_follow_the_data_flow():
    graph = import_graph()
    upward = [f"{a} imports {b}" for a, targets in graph.items() for b in sorted(targets) if layer_of(b) > layer_of(a)]
    assert upward == []


def test_cycle_finder_finds_a_cycle_hidden_in_a_function(tmp_path):
    pkg = tmp_path / "facecluster"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from facecluster.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import x\n")
    global SRC
    saved, SRC = SRC, tmp_path
    try:
        graph = import_graph(pkg)
    finally:
        SRC = saved
    assert graph["facecluster.a"] == {"facecluster.sub.b"} and graph["facecluster.sub.b"] == {"facecluster.a"}
    assert find_cycle(graph) in (["facecluster.a", "facecluster.sub.b", "facecluster.a"],
                                 ["facecluster.sub.b", "facecluster.a", "facecluster.sub.b"])


def test_start_up_imports_neither_pytorch_nor_scikit_learn():
    """A default run's modules (its embedder, learner and clusterers included) load without PyTorch and
    scikit-learn (~2 s and ~0.8 s of CPU on 2 cores): PyTorch only for SSiam/TSiam and the torch embedder,
    scikit-learn only when scikit-learn itself asks an estimator for its tags."""
    import subprocess
    import sys

    code = ("import sys, facecluster.app, facecluster.pipeline.video, facecluster.learn.variants, facecluster.learn.ccl, "
            "facecluster.cluster.agglomerative, facecluster.cluster.finch, facecluster.cluster.graph, facecluster.faces.embed; "
            "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_estimators_work_with_scikit_learn_without_importing_it():
    """The learners and clusterers keep scikit-learn's conventions (clone, get/set_params, tags, Pipeline)
    through facecluster.estimator, which imports scikit-learn only when scikit-learn asks for tags."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.utils import get_tags

    from facecluster.cluster.agglomerative import ConstrainedAgglomerative
    from facecluster.learn import CCL

    ccl = CCL(hidden=32, epochs=2, random_state=1)
    twin = clone(ccl)
    assert twin is not ccl and twin.get_params() == ccl.get_params() and repr(twin) == "CCL(epochs=2, hidden=32, random_state=1)"
    assert twin.set_params(hidden=8).hidden == 8
    try:
        twin.set_params(depth=3)
    except ValueError as exc:
        assert "Invalid parameter 'depth' for estimator CCL" in str(exc)
    else:
        raise AssertionError("an unknown parameter was accepted")
    assert get_tags(ccl).transformer_tags is not None and get_tags(ConstrainedAgglomerative()).estimator_type == "clusterer"
    X = np.random.default_rng(0).normal(size=(30, 8))
    pipe = make_pipeline(CCL(epochs=1, random_state=0), ConstrainedAgglomerative(n_clusters=3))
    assert sorted(set(pipe.fit_predict(X).tolist())) == [0, 1, 2]
    pipe.set_params(constrainedagglomerative__n_clusters=4)
    assert pipe.get_params()["constrainedagglomerative__n_clusters"] == 4
