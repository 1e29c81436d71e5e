"""An oSparc-style project: hpcrun runs main.py with the files given by --input in
INPUT_FOLDER; what it writes into OUTPUT_FOLDER comes back.

    hpcrun submit examples/osparc/sum-inputs --input examples/osparc/inputs
"""

import json
import os
from pathlib import Path

inputs = Path(os.environ["INPUT_FOLDER"])
outputs = Path(os.environ["OUTPUT_FOLDER"])
totals = {}
for path in sorted(inputs.glob("*.csv")):
    values = [float(line) for line in path.read_text().split() if line.strip()]
    totals[path.name] = sum(values)
    print(f"{path.name}: {len(values)} values, sum {totals[path.name]}")
(outputs / "totals.json").write_text(json.dumps(totals, indent=2) + "\n")
