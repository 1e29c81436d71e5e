"""A stand-in for training: a made-up loss from the parameters, written as metrics.json
into OUTPUT_FOLDER, where `hpcrun sweep` collects it."""

import argparse
import json
import math
import os
import time

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--batch-size", type=int, required=True)
args = parser.parse_args()

time.sleep(1)  # "training"
loss = abs(math.log10(args.lr) + 1.5) + 8 / args.batch_size
metrics = {"loss": round(loss, 4), "accuracy": round(1 / (1 + loss), 4)}
print(f"lr={args.lr} batch_size={args.batch_size} -> {metrics}")
output = os.environ.get("OUTPUT_FOLDER", ".")
with open(os.path.join(output, "metrics.json"), "w") as handle:
    json.dump(metrics, handle)
