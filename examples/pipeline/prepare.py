"""Write a few (x, y) points on the line y = 2x + 1 into the CSV file named on the command line."""

import sys

with open(sys.argv[1], "w") as handle:
    handle.write("x,y\n")
    for x in range(10):
        handle.write(f"{x},{2 * x + 1}\n")
print(f"wrote {sys.argv[1]}")
