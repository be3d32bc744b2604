"""How it is reported: per-tool summary rows with medians and ratios, RESULTS.md, the
chart, and the machine and versions. Works on plain run records; imports no other room."""
