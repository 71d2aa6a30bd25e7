"""Benchmarks: a synthetic national-scale catalog (``bench.synthetic``) and the runner (``python -m bench.run``).

Nothing here is imported by the application; the package only reads catalog/ and writes scratch files.
"""
