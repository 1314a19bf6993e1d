"""The Qt binding itself: faults in it that the app would hit in ordinary use.

PySide6-Essentials 6.12.0 dropped a reference to ``True`` on every signal emitted from
Python; Python 3.11 aborts ("bool_dealloc: deallocating True or False") once the count
reaches zero, after about a thousand emits in a bare interpreter. The window emits one
signal per classified file, so a folder of a few thousand X-rays would have crashed it.
pyproject.toml pins a release without the fault; this test fails on one that has it.
"""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal

app = QCoreApplication([])

class Source(QObject):
    number = Signal(int)
    anything = Signal(object)

s = Source()
seen = []
s.number.connect(seen.append)
s.anything.connect(seen.append)
before = sys.getrefcount(True)
for i in range(20_000):
    s.number.emit(i)
    s.anything.emit(i)
print(len(seen), sys.getrefcount(True) - before)
"""


def test_emitting_many_signals_keeps_true_alive():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    emitted, drift = map(int, proc.stdout.split())
    assert emitted == 40_000
    assert abs(drift) < 100  # no reference lost per emit
