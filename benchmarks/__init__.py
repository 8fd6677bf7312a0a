"""kpchain's benchmarks (`make bench`, `make bench-year`, `make gas`): programs that measure and
print figures, never tests.

- `harness`: fresh seeded chains, the services under test, CPU meters, workers, percentiles;
- `phases`: one module per measured phase (api, raw, floor, verify, index);
- `report`: the summary against the targets, the table, benchmarks/throughput.json;
- `__main__`: `python -m benchmarks`, every phase in one run.
"""
