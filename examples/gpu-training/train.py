"""Train, checkpoint every epoch into checkpoints/ (a declared artifact), resume from the
newest checkpoint if one exists, and write metrics.json into OUTPUT_FOLDER."""

import argparse
import json
import os
from pathlib import Path

from tinytrain import dataset, epoch


def device() -> str:
    try:
        import torch  # listed in requirements.txt on a real cluster
    except ImportError:
        return "cpu (PyTorch is not installed)"
    return f"cuda ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "cpu"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.5)
    args = parser.parse_args()

    print(f"run {os.environ.get('HPCRUN_RUN')}: training on {device()}")
    print(f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '(unset)')}")
    checkpoints = Path("checkpoints")
    checkpoints.mkdir(exist_ok=True)
    saved = sorted(checkpoints.glob("epoch-*.json"))
    state = json.loads(saved[-1].read_text()) if saved else {"epoch": 0, "w": 0.0, "b": 0.0}
    params = {"w": state["w"], "b": state["b"]}
    data = dataset()
    loss = float("nan")
    for number in range(state["epoch"] + 1, args.epochs + 1):
        loss = epoch(params, data, args.lr)
        print(f"epoch {number}/{args.epochs}: loss {loss:.4f}")
        checkpoint = {"epoch": number, **params, "loss": loss}
        (checkpoints / f"epoch-{number:03d}.json").write_text(json.dumps(checkpoint))
    metrics = {"loss": round(loss, 6), "w": round(params["w"], 4), "b": round(params["b"], 4)}
    Path(os.environ.get("OUTPUT_FOLDER", "."), "metrics.json").write_text(json.dumps(metrics))
    print("metrics:", json.dumps(metrics))


if __name__ == "__main__":
    main()
