"""`python -m progtheory.report`: rewrite the table of docs/PREDICTIONS.md from the registry."""

from progtheory.report.predictions import write_doc

print(f"wrote {write_doc()}")
