"""``covidcxr pacs echo | find | retrieve | send``: the PACS dialog's work on the command
line (core.pacs.scu). ``retrieve`` fetches films into a folder for ``classify``; ``send``
is also how results that a PACS did not take are sent again."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core.cli.listen import add_settings_arguments, node_settings
from core.errors import CovidCXRError


def _peer_argument(p: argparse.ArgumentParser, flag: str, what: str) -> None:
    p.add_argument(flag, metavar="AE@HOST:PORT", help=f"{what} (default: from the settings)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="pacs_command", required=True)
    e = sub.add_parser("echo", help="check that the PACS answers (C-ECHO)")
    _peer_argument(e, "--pacs", "the PACS")
    f = sub.add_parser("find", help="find studies (C-FIND): one line a study")
    _peer_argument(f, "--pacs", "the PACS")
    f.add_argument("--patient", default="", help="patient name, wildcards allowed (Doe*)")
    f.add_argument("--patient-id", default="")
    f.add_argument("--date", default="", metavar="YYYYMMDD[-YYYYMMDD]",
                   help="study date or range")
    f.add_argument("--modality", default="CR,DX", help="modalities in the study (CR,DX)")
    r = sub.add_parser("retrieve", help="fetch a study's CR/DX films (C-GET or C-MOVE)")
    _peer_argument(r, "--pacs", "the PACS")
    r.add_argument("study", nargs="+", help="Study Instance UIDs (as `find` prints them)")
    r.add_argument("--into", required=True, metavar="DIR", help="folder for the films")
    r.add_argument("--method", choices=("get", "move"),
                   help="C-GET (default from the settings) or C-MOVE (the PACS connects back "
                   "to our AE title at --host/--port, which it must know)")
    r.add_argument("--host", help="C-MOVE: address we listen on (default 127.0.0.1)")
    r.add_argument("--port", type=int, help="C-MOVE: port we listen on")
    s = sub.add_parser("send", help="send DICOM files (results) to a PACS (C-STORE)")
    s.add_argument("paths", nargs="+", help="DICOM files or folders of them")
    _peer_argument(s, "--to", "where to send")
    for q in (e, f, r, s):
        add_settings_arguments(q)


def run(args: argparse.Namespace) -> int:
    settings = node_settings(args)
    return {"echo": _echo, "find": _find, "retrieve": _retrieve, "send": _send}[
        args.pacs_command](args, settings)


def _peer(args: argparse.Namespace, settings: Any, flag: str) -> Any:
    from core.pacs.settings import parse_peer

    text = getattr(args, flag.strip("-"), None)
    if text:
        return parse_peer(text, flag)
    peer = settings.send_to if flag == "--to" else settings.pacs
    if peer is None:
        raise CovidCXRError(f"name the PACS: {flag} AE@HOST:PORT (or set it in the PACS "
                            "settings)")
    return peer


def _echo(args: argparse.Namespace, settings: Any) -> int:
    from core.pacs.scu import echo

    peer = _peer(args, settings, "--pacs")
    print(f"{peer} answers ({1000 * echo(peer, settings):.0f} ms)")
    return 0


def _find(args: argparse.Namespace, settings: Any) -> int:
    from core.pacs.scu import StudyQuery, find_studies

    lo, _, hi = args.date.partition("-")
    query = StudyQuery(patient_name=args.patient, patient_id=args.patient_id,
                       date_from=lo, date_to=hi or lo,
                       modalities=tuple(m.strip() for m in args.modality.split(",") if m.strip()))
    peer = _peer(args, settings, "--pacs")
    studies = find_studies(peer, settings, query)
    for st in studies:
        print("\t".join([st.study_instance_uid, st.study_date, st.patient_id, st.patient_name,
                         "/".join(st.modalities), st.description,
                         "" if st.instances is None else str(st.instances)]))
    print(f"{len(studies)} studies", file=sys.stderr)
    return 0


def _retrieve(args: argparse.Namespace, settings: Any) -> int:
    from core.pacs.scu import retrieve

    peer = _peer(args, settings, "--pacs")
    total, failed = 0, 0
    for uid in args.study:
        got = retrieve(peer, settings, uid, Path(args.into) / uid, method=args.method)
        total += len(got.files)
        failed += got.failed
        for m in got.messages:
            print(f"{uid}: {m}", file=sys.stderr)
        print(f"{uid}: {len(got.files)} films into {Path(args.into) / uid}")
    print(f"{total} films retrieved" + (f"; {failed} failed" if failed else ""))
    print(f"classify them: covidcxr classify {args.into}", file=sys.stderr)
    return 1 if failed else 0


def _files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(p.glob("*.dcm")))
        elif p.is_file():
            out.append(p)
        else:
            raise CovidCXRError(f"no such file or folder: {p}")
    return out


def print_send_report(report: Any) -> None:
    """One line per object that failed, and the summary; how to try again."""
    for obj in report.objects:
        if not obj.ok:
            print(f"not sent: {obj.path}: {obj.status}{': ' + obj.message if obj.message else ''}",
                  file=sys.stderr)
    print(report.describe())
    if report.failed:
        print("the files stay where they are; send them again with: covidcxr pacs send "
              + " ".join(sorted({str(Path(o.path).parent) for o in report.failed}))
              + f" --to {report.peer}", file=sys.stderr)


def _send(args: argparse.Namespace, settings: Any) -> int:
    from core.pacs.scu import send

    files = _files(args.paths)
    if not files:
        raise CovidCXRError("no .dcm files to send in " + ", ".join(args.paths))
    report = send(files, _peer(args, settings, "--to"), settings)
    print_send_report(report)
    return 1 if report.failed else 0
