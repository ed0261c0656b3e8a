"""Benchmarks: `python -m bench.run [--quick] [--only chat,pages,...]` (or `make bench`).

Each benchmark module exposes `run(quick: bool) -> list[dict]` (rows for `bench.common.Table`)
and provisions its own throwaway servers through `bench.common`.
"""
