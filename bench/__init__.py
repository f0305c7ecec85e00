"""Reproducible benchmarks of the engine: ``python -m bench.run [--quick]`` writes bench/results/latest.md.

Each benchmark is a module with a ``run(ctx)`` function that returns markdown tables; the
registry in :mod:`bench.run` says which exist and in what order. Benchmarks use the public
``Engine`` facade (and, where the point is the query itself, the service functions), never
SpiffWorkflow except for the raw baselines in :mod:`bench.baseline`.
"""
