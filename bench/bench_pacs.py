"""The DICOM node's targets (issue #32), against a real Orthanc on loopback:

1. N films (default 100) pushed by DCMTK's ``storescu`` to ``covidcxr listen``: every film's
   SR and SC back in Orthanc, in the film's own study, both valid by ``dciodvfy``; the time
   from a film's arrival to its results in Orthanc (median, p95; the node measures it from
   the C-STORE it answered to the C-STORE Orthanc answered for the second result).
2. The listener killed (SIGKILL) mid-transfer and restarted, the sender retrying the whole
   batch: every film has one row and one SR + SC, the interrupted one included.
3. An unlisted AE title (refused), a malformed dataset (one error row), an aborted
   association (nothing it completed lost), the node still answering an echo.

Films: the original-size files of ``/work/shared/data/fullres`` (PNG/JPEG) wrapped as DX
DICOM, each copy a new study and SOP Instance UID. Not a timed test: run it by hand.

    .venv/bin/python bench/bench_pacs.py [--films 100] [--source DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pydicom  # noqa: E402

from tests.pacs_support import Orthanc, film, free_port, which  # noqa: E402

NODE_AE = "COVIDCXR"


def make_films(source: Path, folder: Path, n: int) -> list[Path]:
    images = sorted(p for p in source.iterdir()
                    if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".jfif"))
    out = []
    for i in range(n):
        out.append(film(folder / f"film{i:03d}.dcm", images[i % len(images)],
                        patient_id=f"BENCH-{i:03d}", patient_name=f"Bench^{i:03d}"))
    return out


class Node:
    def __init__(self, root: Path, orthanc: Orthanc, port: int) -> None:
        self.root, self.port, self.orthanc = root, port, orthanc
        self.csv = root / "predicted.csv"
        self.spool = root / "spool"
        self.log_path = root / "listen.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> float:
        t0 = time.monotonic()
        env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2",
               "COVIDCXR_PACS_SETTINGS": str(self.root / "pacs.json")}
        log = open(self.log_path, "a")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gui.shell.launcher", "listen", "--port", str(self.port),
             "--ae-title", NODE_AE, "--allow", "STORESCU,BENCHSCU", "--send-to",
             self.orthanc.peer, "--output", str(self.csv), "--spool", str(self.spool)],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        while "covidcxr listen:" not in self.log()[self._mark:]:
            if self.proc.poll() is not None:
                raise RuntimeError(self.log()[-3000:])
            time.sleep(0.2)
        self._mark = len(self.log())
        return time.monotonic() - t0

    _mark = 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def rows(self) -> list[dict[str, str]]:
        if not self.csv.is_file():
            return []
        with self.csv.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(120)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_until(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.5)
    raise RuntimeError(f"timed out: {what}")


def results_by_study(orthanc: Orthanc) -> dict[str, list[dict]]:
    """Our SRs and SCs in Orthanc, by study UID (via the series level: one call a series)."""
    out: dict[str, list[dict]] = {}
    for sid in orthanc.rest("/series"):
        s = orthanc.rest(f"/series/{sid}")
        modality = s["MainDicomTags"].get("Modality")
        if modality not in ("SR", "OT"):
            continue
        study = orthanc.rest(f"/studies/{s['ParentStudy']}")["MainDicomTags"]["StudyInstanceUID"]
        for oid in s["Instances"]:
            out.setdefault(study, []).append({"id": oid, "modality": modality})
    return out


def result_count(orthanc: Orthanc) -> int:
    stats = orthanc.rest("/statistics")
    return int(stats["CountInstances"])


def study_of(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).StudyInstanceUID)


def dciodvfy_errors(orthanc: Orthanc, ids: list[str], folder: Path) -> dict[str, int]:
    """Files that dciodvfy finds an error in, out of those checked."""
    folder.mkdir(parents=True, exist_ok=True)
    bad = 0
    for oid in ids:
        f = folder / f"{oid}.dcm"
        f.write_bytes(orthanc.file(oid))
        r = subprocess.run(["dciodvfy", str(f)], capture_output=True, text=True, timeout=60)
        if re.search(r"^Error", r.stderr + r.stdout, re.M):
            bad += 1
    return {"checked": len(ids), "with_errors": bad}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--films", type=int, default=100)
    ap.add_argument("--kill-films", type=int, default=20)
    ap.add_argument("--source", default="/work/shared/data/fullres")
    ap.add_argument("--json", help="write the numbers here too")
    args = ap.parse_args()
    for program in ("Orthanc", "storescu", "dciodvfy"):
        if which(program) is None:
            print(f"{program} is missing: apt-get install orthanc dcmtk dicom3tools")
            return 2
    root = Path(tempfile.mkdtemp(prefix="bench_pacs_"))
    port = free_port()
    orthanc = Orthanc(root / "orthanc", {NODE_AE: port})
    node = Node(root / "node", orthanc, port)
    (root / "node").mkdir()
    report: dict = {"films": args.films, "source": args.source}
    try:
        films = make_films(Path(args.source), root / "films", args.films)
        report["node_start_s"] = round(node.start(), 1)

        # ---- 1. N films by storescu
        t0 = time.monotonic()
        r = orthanc.storescu(*films, port=port, aet=NODE_AE, timeout=3600)
        sent_s = time.monotonic() - t0
        assert r.returncode == 0, r.stderr[-2000:]
        wait_until(lambda: len(node.rows()) >= args.films, 3600, "every row")
        wait_until(lambda: result_count(orthanc) >= 2 * args.films, 3600, "every result")
        all_s = time.monotonic() - t0
        by_study = results_by_study(orthanc)
        studies = {study_of(f) for f in films}
        good = sum(1 for s in studies if sorted(x["modality"] for x in by_study.get(s, []))
                   == ["OT", "SR"])
        times = [float(m) for m in re.findall(r"results of film \S+ in \S+ ([0-9.]+) s after",
                                              node.log())]
        rows = node.rows()
        labels: dict[str, int] = {}
        for row in rows:
            labels[row["label"] if row["status"] == "ok" else "error"] = labels.get(
                row["label"] if row["status"] == "ok" else "error", 0) + 1
        ids = [x["id"] for s in studies for x in by_study.get(s, [])]
        report["push"] = {
            "films": len(films), "rows": len(rows), "labels": labels,
            "studies_with_sr_and_sc": good, "results_elsewhere": sum(
                len(v) for k, v in by_study.items() if k not in studies),
            "storescu_s": round(sent_s, 1), "all_results_in_orthanc_s": round(all_s, 1),
            "films_per_min": round(60 * len(films) / all_s, 1),
            "arrival_to_results_s": {
                "n": len(times), "median": round(statistics.median(times), 2),
                "p95": round(sorted(times)[int(0.95 * (len(times) - 1))], 2),
                "max": round(max(times), 2)} if times else None,
            "dciodvfy": dciodvfy_errors(orthanc, ids, root / "check"),
        }
        print(json.dumps(report["push"], indent=1), flush=True)

        # ---- 2. killed mid-transfer, restarted, the sender retries
        more = [film(root / "films2" / f"k{i:03d}.dcm", Path(args.source) / sorted(
            os.listdir(args.source))[i % 10], patient_id=f"KILL-{i:03d}")
            for i in range(args.kill_films)]
        before = len(list((node.spool / "films").glob("*.dcm")))
        sender = subprocess.Popen(
            [which("storescu") or "storescu", "-aet", "STORESCU", "-aec", NODE_AE,
             "127.0.0.1", str(port), *map(str, more)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_until(lambda: len(list((node.spool / "films").glob("*.dcm"))) >= before + 5, 600,
                   "five films of the second batch")
        node.kill()
        killed_after = len(list((node.spool / "films").glob("*.dcm"))) - before
        _out, err = sender.communicate(timeout=120)
        rows_at_kill = len(node.rows())
        restart_s = node.start()
        r = orthanc.storescu(*more, port=port, aet=NODE_AE, timeout=3600)  # the retry
        assert r.returncode == 0, r.stderr[-2000:]
        names = {f"{pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID}.dcm"
                 for f in more}
        wait_until(lambda: len({x["filename"] for x in node.rows()} & names) == len(names),
                   1800, "a row for every film of the second batch")
        kstudies = {study_of(f) for f in more}
        wait_until(lambda: all(len(results_by_study(orthanc).get(s, [])) >= 2
                               for s in kstudies), 1800, "results of the second batch")
        time.sleep(3)
        by_study = results_by_study(orthanc)
        per_film_rows = [sum(1 for x in node.rows() if x["filename"] == n) for n in names]
        report["kill"] = {
            "films": len(more), "stored_before_the_kill": killed_after,
            "storescu_exit_at_kill": sender.returncode, "rows_before_restart": rows_at_kill,
            "restart_s": round(restart_s, 1),
            "films_with_one_row": sum(1 for c in per_film_rows if c == 1),
            "films_with_more_rows": sum(1 for c in per_film_rows if c > 1),
            "studies_with_one_sr_and_one_sc": sum(
                1 for s in kstudies if sorted(x["modality"] for x in by_study.get(s, []))
                == ["OT", "SR"]),
            "studies_with_extra_results": sum(1 for s in kstudies
                                              if len(by_study.get(s, [])) > 2),
            "log_backlog_line": next((ln for ln in node.log().splitlines()
                                      if "not yet classified" in ln), ""),
        }
        print(json.dumps(report["kill"], indent=1), flush=True)

        # ---- 3. unlisted AE, malformed dataset, aborted association
        from pynetdicom import AE, _config

        from core.pacs.scu import echo
        from core.pacs.settings import NodeSettings, parse_peer

        probe = film(root / "probe" / "p.dcm", Path(args.source) / sorted(
            os.listdir(args.source))[0], patient_id="PROBE")
        n_rows = len(node.rows())
        r = orthanc.storescu(probe, port=port, aet=NODE_AE, calling="INTRUDER")
        refused = r.returncode != 0 and len(node.rows()) == n_rows
        raw = probe.read_bytes()
        i = raw.find(b"\x10\x00\x10\x00PN")
        bad = root / "probe" / "bad.dcm"
        bad.write_bytes(raw[:i] + b"\x10\x00\x10\x00SQ\x00\x00\xff\xff\xff\xff"
                        + b"\xfe\xff\x00\xe0\x10\x00\x00\x00abc")
        _config.STORE_SEND_CHUNKED_DATASET = True
        ae = AE(ae_title="BENCHSCU")
        ae.add_requested_context(pydicom.dcmread(probe, stop_before_pixels=True).SOPClassUID)
        assoc = ae.associate("127.0.0.1", port, ae_title=NODE_AE)
        bad_status = int(assoc.send_c_store(bad).Status)
        assoc.release()
        time.sleep(1)
        error_rows = [x for x in node.rows()[n_rows:] if x["status"] == "error"]
        other = film(root / "probe" / "q.dcm", Path(args.source) / sorted(
            os.listdir(args.source))[1], patient_id="ABORT")
        assoc = ae.associate("127.0.0.1", port, ae_title=NODE_AE)
        done_status = int(assoc.send_c_store(other).Status)
        assoc.abort()
        uid = pydicom.dcmread(other, stop_before_pixels=True).SOPInstanceUID
        wait_until(lambda: any(x["filename"] == f"{uid}.dcm" for x in node.rows()), 300,
                   "the completed film of the aborted association")
        up = echo(parse_peer(f"{NODE_AE}@127.0.0.1:{port}"), NodeSettings(ae_title="BENCHSCU"))
        report["safety"] = {
            "unlisted_ae_refused": refused,
            "malformed_status": f"0x{bad_status:04X}", "malformed_error_rows": len(error_rows),
            "aborted_completed_status": f"0x{done_status:04X}",
            "aborted_completed_film_has_row": True, "node_answers_echo_ms": round(1000 * up, 1),
        }
        print(json.dumps(report["safety"], indent=1), flush=True)
    finally:
        node.stop()
        orthanc.stop()
    report["workdir"] = str(root)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
