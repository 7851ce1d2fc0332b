"""OpenVINO's runtime (the ``openvino`` extra), loaded without its telemetry, for the networks that run on it.

``import openvino`` also loads its model-conversion tools (``openvino.tools.ovc``), which on import send usage
telemetry over the network from a forked process (``openvino-telemetry``, on unless a user opted out). A run must not
do that, and a fork of a multithreaded process can hang (a run killed meanwhile left such a child behind, holding its
output pipes). :func:`import_openvino` loads the runtime with those tools blocked for that one import; a later
explicit import of the tools still works.

The bindings set up their numpy bridge (pybind11's) lazily, on the first array they convert, with a one-time guard
taken while holding the GIL on one path and released on another: two threads converting their first arrays at once
(two inference streams running their first batches) can deadlock for good: SFace's two streams hung 16 of 90 fresh
processes that way. :func:`import_openvino` converts one array each way in the importing thread, under a lock: 0 of 90.
"""
from __future__ import annotations

import functools
import importlib.util
import sys
import threading
from types import ModuleType

import numpy as np

from facecluster.errors import MissingDependencyError

_IMPORT_LOCK = threading.Lock()
_bridge_ready = False  # whether the numpy bridge has been set up (see the module)


@functools.lru_cache(maxsize=1)
def cpu_runs_bf16() -> bool:
    """Whether OpenVINO can run networks in bfloat16 on this CPU (AMX or AVX-512 BF16: Intel Xeon from Sapphire
    Rapids on, AMD Zen 4 on); False where the package is not installed."""
    return installed() and "BF16" in import_openvino().Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def installed() -> bool:
    """Whether the ``openvino`` package is installed (without importing it)."""
    return importlib.util.find_spec("openvino") is not None


def import_openvino(needed_by: str = "this backend") -> ModuleType:
    """The ``openvino`` module, imported without its model-conversion tools (see the module). Raises
    :class:`MissingDependencyError` naming ``needed_by`` where it is not installed. Its numpy bridge is set up
    before it is returned (see the module)."""
    global _bridge_ready
    with _IMPORT_LOCK:
        openvino = _import_without_tools(needed_by)
        if not _bridge_ready:
            tensor = openvino.Tensor(np.zeros((1, 1), np.float32))  # numpy → OpenVINO
            np.array(tensor.data)  # and back: the first conversions, here in one thread
            _bridge_ready = True
        return openvino


def _import_without_tools(needed_by: str) -> ModuleType:
    if "openvino" in sys.modules and sys.modules["openvino"] is not None:
        return sys.modules["openvino"]
    tools = "openvino.tools.ovc"
    blocked = tools not in sys.modules
    if blocked:
        sys.modules[tools] = None  # `from openvino.tools.ovc import ...` then raises ImportError, which openvino catches
    try:
        import openvino
    except ImportError:
        raise MissingDependencyError(f"{needed_by} needs the openvino package: pip install 'facecluster[openvino]'") from None
    finally:
        if blocked and sys.modules.get(tools, 0) is None:
            del sys.modules[tools]
    return openvino
