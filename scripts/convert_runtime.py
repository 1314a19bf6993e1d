"""Convert a model (and the lung segmenter) for the lean runtime, LiteRT (issue #30).

    python scripts/convert_runtime.py [MODEL.keras] [--lungs]

The model's set gains NAME.tflite (P, features and the head's activation map from one
pass) and NAME.views.tflite (P alone, for the test-time views), each checked against the
Keras network before it is written, their sha256 in the card, as one change. ``--lungs``
converts models/lungs.keras beside itself and names it in models/lungs.json. A model saved
by the app or by training is converted as it is saved; this is for one saved before, and
part of rebuilding what depends on the bundled model (models/README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=str(REPO / "models" / "covidcxr.keras"))
    ap.add_argument("--lungs", action="store_true", help="convert the lung segmenter too")
    ap.add_argument("--no-model", action="store_true", help="the segmenter alone")
    args = ap.parse_args()

    from core.model.disk import add_runtime, current_weights, open_set
    from core.model.loading import read_keras
    from core.model.lungs import convert_segmenter

    if args.lungs:
        print("lungs:", json.dumps(convert_segmenter(), indent=1))
    if not args.no_model:
        weights = Path(args.model)
        files, card = open_set(current_weights(weights))
        net = read_keras(weights, files, card)
        print(weights.name + ":", json.dumps(add_runtime(weights, net), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
