"""Hypothesis strategies as building blocks: requests, schemas, unicode text, upstream chunks and stream splits. Independent of compat."""
