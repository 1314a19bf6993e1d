"""The PACS work the classify page runs on workers (gui.services.workers): every
association is opened off the GUI thread, so a slow or absent PACS never freezes the window.
Each job is a plain function of a ``Control`` and returns a typed result from core.pacs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


def echo_job(_control: Any, peer: Any, settings: Any) -> float:
    """C-ECHO: the round trip in seconds."""
    from core.pacs.scu import echo

    return echo(peer, settings)


def find_job(control: Any, peer: Any, settings: Any, query: Any) -> list:
    """C-FIND: the studies matching ``query`` (core.pacs.scu.Study)."""
    from core.pacs.scu import find_studies

    return find_studies(peer, settings, query, should_stop=control.should_stop)


@dataclass(frozen=True)
class RetrieveResult:
    """The films of the chosen studies on disk, and what could not be fetched."""

    files: list[Path]
    failed: int
    messages: list[str]


def retrieve_job(control: Any, peer: Any, settings: Any, study_uids: list[str],
                 folder: Path) -> RetrieveResult:
    """C-GET (or C-MOVE, as the settings say) each study's CR and DX films into
    ``folder/<study UID>/``."""
    from core.pacs.scu import retrieve

    files: list[Path] = []
    failed, messages = 0, []
    for i, uid in enumerate(study_uids):
        control.check()
        control.progress(i, len(study_uids), uid)
        got = retrieve(peer, settings, uid, folder / uid, should_stop=control.should_stop)
        files += got.files
        failed += got.failed
        messages += got.messages
    control.progress(len(study_uids), len(study_uids), "")
    return RetrieveResult(files, failed, messages)


@dataclass(frozen=True)
class SendResult:
    """Results written for the DICOM films (an ExportSummary) and how their send went (a
    SendReport); ``folder`` holds whatever was not taken, for a retry."""

    summary: Any
    report: Any
    folder: Path


def send_results_job(control: Any, predictions: list, model: Any, folder: Path, peer: Any,
                     settings: Any) -> SendResult:
    """Write each DICOM film's SR and SC into ``folder``, then C-STORE them to ``peer``;
    what the PACS took moves to ``folder/sent``, the rest stays for :func:`resend_job`."""
    from core.output.dicom_results import export_results

    summary = export_results(predictions, model, folder, on_progress=control.progress,
                             should_stop=control.should_stop)
    files = [f for w in summary.written for f in (w.capture, w.report)]
    control.check()
    return SendResult(summary, _send_and_file(control, files, peer, settings, folder), folder)


def resend_job(control: Any, folder: Path, peer: Any, settings: Any) -> SendResult:
    """Send again what an earlier send left in ``folder``."""
    # a dot starts the temporary name of a file being written (core.files.atomic)
    files = sorted(p for p in folder.glob("*.dcm") if not p.name.startswith("."))
    return SendResult(None, _send_and_file(control, files, peer, settings, folder), folder)


def _send_and_file(control: Any, files: list[Path], peer: Any, settings: Any,
                   folder: Path) -> Any:
    import os

    from core.pacs.scu import send

    report = send(files, peer, settings, on_progress=control.progress,
                  should_stop=control.should_stop)
    sent = folder / "sent"
    for obj in report.sent:
        sent.mkdir(exist_ok=True)
        os.replace(obj.path, sent / Path(obj.path).name)
    return report
