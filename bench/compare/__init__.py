"""Gavel against hcoop-meetbot (Limnoria), side by side: a black-box benchmark driver.

`python -m bench.compare --write docs/benchmarks.md` (what `make bench` runs). Not part
of `make test`.
"""
