"""``covidcxr listen``: a DICOM Storage SCP that classifies the films sent to it, grows
``predicted.csv`` and sends each film's SR and heat-map SC to a PACS (core.pacs.node).

Every option defaults to the PACS settings file (core.pacs.settings), which the window's
PACS dialog edits; an option given here wins for this run only.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from dataclasses import replace
from typing import Any

from core.cli.common import check_model, resolve_model
from core.errors import CovidCXRError
from core.files.atomic import check_writable


def add_settings_arguments(p: argparse.ArgumentParser) -> None:
    """What every PACS command shares: the settings file and our own AE title."""
    p.add_argument("--settings", metavar="FILE",
                   help="PACS settings file (default $COVIDCXR_PACS_SETTINGS or "
                   "~/.config/covidcxr/pacs.json, which the window's PACS dialog edits)")
    p.add_argument("--ae-title", help="our AE title (default from the settings: COVIDCXR)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_settings_arguments(p)
    p.add_argument("--host", help="address to listen on (default 127.0.0.1: this machine "
                   "only; 0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, help="port to listen on (default 11112)")
    p.add_argument("--allow", metavar="AE[,AE...]",
                   help="calling AE titles whose films are accepted (others are refused)")
    p.add_argument("--send-to", metavar="AE@HOST:PORT",
                   help="where each film's SR and SC go (default: the settings' destination, "
                   "else its PACS); unsent results stay in the spool's outbox and are retried")
    p.add_argument("--output", "-o", default="predicted.csv",
                   help="CSV that grows by one row per film (kept across restarts)")
    p.add_argument("--spool", metavar="DIR",
                   help="the node's folder: received films, results to send, sent results")
    p.add_argument("--log-fields", metavar="FIELD[,FIELD...]",
                   help="header fields a log line may show besides the SOP Instance UID "
                   "(PatientID, AccessionNumber, StudyID, StudyDate, PatientName); "
                   "none by default")
    p.add_argument("--tls-cert", metavar="PEM", help="TLS: our certificate")
    p.add_argument("--tls-key", metavar="PEM", help="TLS: our private key")
    p.add_argument("--tls-ca", metavar="PEM", help="TLS: the CA our callers' certificates "
                   "must be signed by (then a caller without one is refused)")
    p.add_argument("--model", default=argparse.SUPPRESS, help="model .keras file")
    p.add_argument("--threshold", type=float, help="override the model card's threshold")


def node_settings(args: argparse.Namespace) -> Any:
    """The settings file, with this command's options over it, checked."""
    from core.pacs.settings import load_settings, parse_peer, parse_titles

    s = load_settings(getattr(args, "settings", None))
    changes: dict[str, Any] = {}
    if getattr(args, "ae_title", None):
        changes["ae_title"] = args.ae_title
    for name in ("host", "port", "spool", "tls_cert", "tls_key", "tls_ca"):
        value = getattr(args, name, None)
        if value not in (None, ""):
            changes[name] = value
    if getattr(args, "allow", None):
        changes["allowed"] = parse_titles(args.allow)
    if getattr(args, "send_to", None):
        changes["destination"] = parse_peer(args.send_to, "--send-to")
    if getattr(args, "log_fields", None):
        changes["log_fields"] = tuple(f.strip() for f in args.log_fields.split(",") if f.strip())
    return replace(s, **changes).checked()


def setup_logging() -> None:
    """The node's log lines on stderr, time-stamped (pynetdicom's own stay quiet)."""
    logger = logging.getLogger("covidcxr.pacs")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def run(args: argparse.Namespace) -> int:
    from core.pacs.node import StorageNode

    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise CovidCXRError("--threshold must be between 0 and 1")
    settings = node_settings(args)
    if not settings.allowed:
        raise CovidCXRError("name the nodes that may send films: --allow AE[,AE...] (or "
                            "'accepted calling AE titles' in the PACS settings)")
    check_writable(args.output, "--output")
    model_path = resolve_model(getattr(args, "model", None))
    check_model(model_path)
    setup_logging()

    from core.model.loading import device_name, load_model

    model = load_model(model_path)
    node = StorageNode(settings, model, args.output, threshold=args.threshold,
                       device=device_name(model))

    def stop_on_signal(_sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_signal)
    node.start()
    print(f"covidcxr listen: {settings.ae_title} on {node.address[0]}:{node.address[1]}, "
          f"model {model.display_name}; Ctrl-C stops", file=sys.stderr, flush=True)
    try:
        node.wait()
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()
    left = sorted(node.outbox.glob("*.dcm"))
    print(f"stopped; rows in {node.journal.output}", file=sys.stderr)
    if left:
        print(f"{len(left)} results not yet sent are kept in {node.outbox} (sent at the next "
              f"start, or: covidcxr pacs send {node.outbox} --to AE@HOST:PORT)",
              file=sys.stderr)
    return 0
