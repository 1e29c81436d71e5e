"""hpcrun against its peers, side by side: `python -m bench --smoke` or `--cluster`."""
