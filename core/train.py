"""The command line of the training loop (the contract ``python -m core.train``); the loop itself lives
in :mod:`core.training.loop`.

    python -m core.train --model unet --dataset synthetic --seconds 60 --out unet.safetensors
"""
from core.training.loop import main

if __name__ == "__main__":
    raise SystemExit(main())
