"""Re-run the end of training on a trained model: batch-norm statistics on clean training
images, calibration and threshold on validation, OOD fit, test evaluation, card.

    python scripts/refinalize.py MODEL.keras DATASET --output OUT.keras

Used when what happens after the weights are chosen changes (the OOD cut-offs, the
refusal rules, the metrics) so a trained model need not be trained again. The weights
are not trained further; history, training time and the transfer record are kept from
the card.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("dataset")
    ap.add_argument("--output", required=True)
    args = ap.parse_args()

    from core.cli.report import format_report
    from core.files.dataset import scan
    from core.model.cache import decode
    from core.model.disk import save_model
    from core.model.loading import load_model
    from core.training.finalise import finalize
    from core.training.fit import check_dataset
    from core.training.recipe import TrainConfig

    src = load_model(args.model)
    old = src.card
    fields = TrainConfig.__dataclass_fields__
    cfg = TrainConfig(**{k: v for k, v in old.training.get("config", {}).items() if k in fields})
    index = scan(args.dataset, positive=cfg.positive, seed=cfg.seed)
    decoded = decode(index, cfg.spec, skip_unreadable=cfg.skip_unreadable)
    warnings = check_dataset(index, decoded, cfg)
    t = old.training
    result = finalize(src.keras_model, index, decoded, cfg, history=t.get("history", {}),
                      best_epoch=int(t.get("best_epoch", 1)) - 1,
                      stopped_by_user=bool(t.get("stopped_by_user")), warnings=warnings,
                      seconds=float(t.get("seconds", 0.0)), transfer=t.get("transfer"))
    result.card.name, result.card.notes = old.name, old.notes
    result.card.training["refinalized_from"] = Path(args.model).name
    save_model(result.keras_model, result.card, args.output, result.ood)
    sys.stdout.write(format_report(result.val, "validation"))
    sys.stdout.write(format_report(result.test, "test"))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
