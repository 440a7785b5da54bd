"""GPU lease arbiter (docs/design.md §Leases): one ledger of device memory per GPU.

* `ledger` / `core`: the pure arbiter (no I/O, injectable clock): budget, leases, queue,
  reclaim, TTLs, learned footprints.
* `arbiter`: the asyncio driver the orchestrator embeds (`Arbiter`), with its timers.
* `service` / `server`: the gRPC face (`meshpipe.v1.Arbiter`) that stage processes reach,
  and the standalone process (`meshpipe arbiter`).
* `truth` / `metrics`: NVML or simulated device readings, drift, Prometheus metrics.
"""
