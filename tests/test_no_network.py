"""Never a network socket: the self-test, ``classify`` and the window start-up stay local.

Each run is a subprocess with a guard installed before anything else is imported (a
``sitecustomize`` module first on ``PYTHONPATH``, so Python child processes get it too).
The guard makes every way out raise (``connect``, ``connect_ex``, ``sendto``, ``sendmsg``,
``socket.create_connection``, ``bind`` to an address that is not loopback, name lookups of
a host that is not local) and writes each attempt to a log; the log must hold none. Socket
*creations* and loopback binds are logged apart: a library probing for IPv6 at import time
creates a socket without ever connecting it, which is acceptable and reported here.

The guard sees Python's ``socket`` module only; native code (Qt, TensorFlow's C++) that
opens sockets itself is outside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

GUARD = textwrap.dedent(
    '''
    """Test guard (tests/test_no_network.py): no socket may leave this machine."""
    import json as _json
    import os as _os
    import socket as _socket
    import traceback as _traceback

    _LOG = _os.environ["COVIDCXR_NET_GUARD_LOG"]
    _LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "::1", "0.0.0.0", "::"}


    def _record(kind, call, family=None, address=None):
        stack = [f"{f.filename}:{f.lineno} {f.name}" for f in _traceback.extract_stack()[:-2]]
        entry = {"pid": _os.getpid(), "kind": kind, "call": call, "family": str(family),
                 "address": repr(address), "stack": stack[-8:]}
        with open(_LOG, "a", encoding="utf-8") as fh:
            fh.write(_json.dumps(entry) + "\\n")


    def _refuse(call, family, address):
        _record("attempt", call, family, address)
        raise OSError(f"network access blocked by the test guard: {call} {address!r}")


    def _is_loopback(address):
        host = address[0] if isinstance(address, tuple) else address
        return host in ("localhost", "::1") or str(host).startswith("127.")


    _init = _socket.socket.__init__


    def _guarded_init(self, family=-1, type=-1, proto=-1, fileno=None):
        _init(self, family, type, proto, fileno)
        _record("create", "socket", self.family, (self.type, fileno))


    def _way_out(name):
        original = getattr(_socket.socket, name)

        def guarded(self, *args):
            if self.family == _socket.AF_UNIX:  # local IPC, not the network
                _record("local", name, self.family, args[-1] if args else None)
                return original(self, *args)
            _refuse(name, self.family, args[-1] if args else None)

        return guarded


    _bind = _socket.socket.bind


    def _guarded_bind(self, address):
        if self.family == _socket.AF_UNIX or _is_loopback(address):
            _record("bind-local", "bind", self.family, address)
            return _bind(self, address)
        _refuse("bind", self.family, address)


    def _guarded_create_connection(address, *args, **kwargs):
        _refuse("create_connection", None, address)


    _getaddrinfo = _socket.getaddrinfo


    def _guarded_getaddrinfo(host, *args, **kwargs):
        if host not in _LOCAL_HOSTS and not str(host).startswith("127."):
            _refuse("getaddrinfo", None, host)
        return _getaddrinfo(host, *args, **kwargs)


    _socket.socket.__init__ = _guarded_init
    for _name in ("connect", "connect_ex", "sendto", "sendmsg"):
        setattr(_socket.socket, _name, _way_out(_name))
    _socket.socket.bind = _guarded_bind
    _socket.create_connection = _guarded_create_connection
    _socket.getaddrinfo = _guarded_getaddrinfo
    _record("installed", "guard")
    '''
)

# The window: open it on the sample folder, and quit once the model has loaded and the
# files are classified (or after two minutes, which fails).
WINDOW = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QTimer
    from gui.shell.app import create

    app, window = create([sys.argv[1]])
    state = {"model": None, "finished": False}

    def check():
        if state["model"] is not None and state["finished"]:
            window.close()
            app.quit()

    def model_changed(model):
        state["model"] = model
        check()

    def finished():
        state["finished"] = True
        check()

    window.classify.modelChanged.connect(model_changed)
    window.classify.classificationFinished.connect(finished)
    QTimer.singleShot(120_000, app.quit)
    app.exec()
    ok = state["model"] is not None and state["finished"]
    print("window: model", getattr(state["model"], "display_name", None), "finished", ok)
    sys.exit(0 if ok else 3)
    """
)


def run_guarded(tmp_path: Path, args: list[str]) -> tuple[subprocess.CompletedProcess, list]:
    """Run ``python ARGS`` under the guard in ``tmp_path``; its output and the guard's log."""
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir(exist_ok=True)
    (guard_dir / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "net.jsonl"
    log.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(guard_dir), str(REPO)]),
        "COVIDCXR_NET_GUARD_LOG": str(log),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "QT_QPA_PLATFORM": "offscreen",
        # The window's settings go to a scratch folder, not the user's.
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    done = subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return done, entries


def assert_no_attempt(done: subprocess.CompletedProcess, entries: list) -> None:
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert any(e["kind"] == "installed" for e in entries), "the guard was not installed"
    attempts = [e for e in entries if e["kind"] == "attempt"]
    assert not attempts, json.dumps(attempts, indent=1)
    # Creations, loopback binds and local (AF_UNIX) traffic are allowed; say what they were.
    others = [e for e in entries if e["kind"] not in ("installed", "attempt")]
    for e in others:
        print(f"{e['kind']}: {e['call']} {e['family']} {e['address']} <- {e['stack'][-1:]}")


def test_the_guard_blocks_and_logs_a_connection(tmp_path):
    code = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('192.0.2.1', 80), timeout=1)\n"
        "except OSError as exc:\n"
        "    assert 'blocked by the test guard' in str(exc), exc\n"
        "s = socket.socket()\n"
        "try:\n"
        "    s.connect(('192.0.2.1', 80))\n"
        "except OSError as exc:\n"
        "    assert 'blocked by the test guard' in str(exc), exc\n"
        "s.close()\n"
    )
    done, entries = run_guarded(tmp_path, ["-c", code])
    assert done.returncode == 0, done.stderr
    assert [e["call"] for e in entries if e["kind"] == "attempt"] == [
        "create_connection",
        "connect",
    ]
    assert [e["kind"] for e in entries].count("create") == 1


@pytest.mark.slow
def test_self_test_opens_no_socket(tmp_path):
    done, entries = run_guarded(tmp_path, ["-m", "gui.shell.launcher", "--self-test"])
    assert_no_attempt(done, entries)
    assert "OK model=" in done.stdout


@pytest.mark.slow
def test_classify_opens_no_socket(tmp_path):
    out = tmp_path / "X.csv"
    args = ["-m", "gui.shell.launcher", "classify", str(REPO / "tests" / "data"), "--output", str(out)]
    done, entries = run_guarded(tmp_path, args)
    assert_no_attempt(done, entries)
    assert len(out.read_text().splitlines()) > 3


@pytest.mark.slow
def test_window_start_up_opens_no_socket(tmp_path):
    done, entries = run_guarded(tmp_path, ["-c", WINDOW, str(REPO / "tests" / "data")])
    assert_no_attempt(done, entries)
    assert "finished True" in done.stdout
