"""Fit y = a*x + b to data/points.csv (prepare's artifact) by least squares; the result goes
to OUTPUT_FOLDER/model.json."""

import csv
import json
import os
from pathlib import Path

with open("data/points.csv") as handle:
    rows = [(float(row["x"]), float(row["y"])) for row in csv.DictReader(handle)]
n = len(rows)
mean_x = sum(x for x, _ in rows) / n
mean_y = sum(y for _, y in rows) / n
a = sum((x - mean_x) * (y - mean_y) for x, y in rows) / sum((x - mean_x) ** 2 for x, _ in rows)
b = mean_y - a * mean_x
upstream = Path(os.environ["INPUT_FOLDER"], "prepare", "prepare.txt")
print(f"{n} points ({upstream.read_text().strip()} from prepare): y = {a:.2f}x + {b:.2f}")
Path(os.environ["OUTPUT_FOLDER"], "model.json").write_text(json.dumps({"a": a, "b": b}))
