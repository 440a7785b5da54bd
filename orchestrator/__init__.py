"""The orchestrator: jobs, scheduler, artifacts and (later) the GPU lease arbiter."""
