"""TensorFlow's shared libraries, mapped without holding the GIL.

Importing TensorFlow on a worker thread froze the window for 0.5 to 1 s at every start:
Python maps an extension module's libraries (``dlopen``: 1.3 GB of TensorFlow to relocate
and initialise) while holding the GIL, so the event loop could not run
(bench/bench_gui_startup.py, "stall while TensorFlow and the model load"). ``ctypes.CDLL``
holds it too (Python 3.11), but a call *through* ctypes into C releases it: calling the C
library's own ``dlopen`` that way, on the worker, maps the two large libraries while the
window goes on; the import then finds them loaded. They are loaded privately
(``RTLD_LOCAL``) and at once (``RTLD_NOW``), as the import would load them; the handles
are kept, so they stay mapped.

Best effort: on another platform, or where the libraries are not found under these names,
nothing is mapped here and the import does it, as before.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

#: In dependency order: the framework library, then the one that needs it.
TENSORFLOW_LIBRARIES = ("libtensorflow_framework.so.2", "libtensorflow_cc.so.2")
_handles: list[int] = []


def preload_tensorflow() -> list[Path]:
    """Map TensorFlow's large libraries with the GIL released; returns those mapped (none
    once TensorFlow is imported, or where they are not found)."""
    if "tensorflow" in sys.modules or not sys.platform.startswith("linux"):
        return []
    spec = importlib.util.find_spec("tensorflow")
    if spec is None or spec.origin is None:
        return []
    folder = Path(spec.origin).parent
    dlopen = ctypes.CDLL(None).dlopen  # a foreign call: ctypes releases the GIL around it
    dlopen.restype = ctypes.c_void_p
    dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    mapped = []
    for name in TENSORFLOW_LIBRARIES:
        path = folder / name
        handle = dlopen(os.fsencode(path), os.RTLD_NOW | os.RTLD_LOCAL) if path.is_file() else 0
        if not handle:
            break
        _handles.append(handle)
        mapped.append(path)
    return mapped
