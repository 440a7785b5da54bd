"""Discrete-event simulator of GPU scheduling policies on the meshpipe pipeline.

Compares, on identical seeded workloads and a virtual clock: (a) the seed script's
load-per-request sequential run, (b) everything resident, (c) meshpipe's policy (the real
LeaseCore for leases and LRU reclaim + the real `orchestrator.policy.choose_next_batch`).
Run `python -m benchmarks.policy_sim`; every assumption is listed in the output.
"""
