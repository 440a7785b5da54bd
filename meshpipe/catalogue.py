"""The stage catalogue: every process a meshpipe deployment runs, and what belongs to each.

One entry per model stage (detector, matting, shape, texture) and one per non-stage process
(the lease arbiter, the orchestrator). Everything that needs "the list of stages" or "the
port of the matting stage" reads it from here: the stage runtime's registry, the orchestrator
(its stage clients and endpoint defaults), the weights tool, the local and Docker launchers,
the image build's wheelhouse, the stages' own settings and the policy simulator.

Adding a fifth stage is one `StageEntry` below plus its folder `services/<name>/` (settings,
backends, a servicer module exposing `SPEC`) and its RPC in `proto/`; adding a process that
is not a stage (e.g. a gateway) is one `ProcessEntry`. docs/design.md §Where to change what
lists the rest.

Pure data: importing this module imports nothing from a stage or the orchestrator.
"""

from __future__ import annotations

from dataclasses import dataclass

PROTO_PACKAGE = "meshpipe.v1"
STAGE_START_ORDER = 10  # the stages start together, in one group


@dataclass(frozen=True)
class StageEntry:
    """One model stage. Its name is also its CLI name, metric label, Docker image target,
    package extra (`meshpipe[<name>]`), Kubernetes/compose service name and the folder
    `services/<name>/`.

    `grpc_service`: the service in proto package meshpipe.v1 that serves its inference RPCs.
    `production_backend`: the backend id that `--backend auto` picks when its weights and a GPU
    are present; `production_weights`: "module:function" giving that backend's WeightsSpecs
    for a settings object (imported only when asked).
    """

    name: str
    grpc_service: str
    grpc_port: int
    metrics_port: int
    production_backend: str
    production_weights: str

    @property
    def is_stage(self) -> bool:
        """Always True (a ProcessEntry says False)."""
        return True

    @property
    def env_prefix(self) -> str:
        """Environment prefix of its settings, e.g. MESHPIPE_MATTING_."""
        return f"MESHPIPE_{self.name.upper()}_"

    @property
    def metric_label(self) -> str:
        """Value of the `stage` label in every metric about this stage."""
        return self.name

    @property
    def image_target(self) -> str:
        """Target in deploy/docker/Dockerfile that builds its image."""
        return self.name

    @property
    def extra(self) -> str:
        """The package extra its image installs."""
        return self.name

    @property
    def spec_module(self) -> str:
        """Module exposing its `SPEC` (a meshpipe.runtime.server.StageSpec)."""
        return f"services.{self.name}.service"

    @property
    def settings_module(self) -> str:
        """Module defining its one StageSettings subclass."""
        return f"services.{self.name}.settings"

    @property
    def full_grpc_service(self) -> str:
        """Fully qualified gRPC service name, e.g. meshpipe.v1.Matting (health checks)."""
        return f"{PROTO_PACKAGE}.{self.grpc_service}"

    @property
    def command(self) -> tuple[str, ...]:
        """`meshpipe` arguments that serve it."""
        return ("stage", self.name)


@dataclass(frozen=True)
class ProcessEntry:
    """A process that is not a model stage: its default ports, settings class ("module:Class",
    imported only when asked), the package extra its image installs, and when it starts:
    processes start in groups of equal `start_order`, lowest first, the stages at
    STAGE_START_ORDER (the arbiter, which the stages need, before them; the orchestrator,
    which calls them, after; a client-facing process after the orchestrator)."""

    name: str
    grpc_port: int
    metrics_port: int
    settings: str
    extra: str
    start_order: int

    @property
    def is_stage(self) -> bool:
        """Always False."""
        return False

    @property
    def env_prefix(self) -> str:
        """Environment prefix of its settings, e.g. MESHPIPE_ORCHESTRATOR_."""
        return f"MESHPIPE_{self.name.upper()}_"

    @property
    def image_target(self) -> str:
        """Target in deploy/docker/Dockerfile that builds its image."""
        return self.name

    @property
    def command(self) -> tuple[str, ...]:
        """`meshpipe` arguments that serve it."""
        return (self.name,)


# The pipeline's stages, in pipeline order.
STAGE_ENTRIES: tuple[StageEntry, ...] = (
    StageEntry(
        name="detector",
        grpc_service="Detector",
        grpc_port=50061,
        metrics_port=9101,
        production_backend="qwen-vl",
        production_weights="services.detector.backends.qwen_vl:weights_specs",
    ),
    StageEntry(
        name="matting",
        grpc_service="Matting",
        grpc_port=50062,
        metrics_port=9102,
        production_backend="birefnet",
        production_weights="services.matting.backends.birefnet:weights_specs",
    ),
    StageEntry(
        name="shape",
        grpc_service="Shape",
        grpc_port=50063,
        metrics_port=9103,
        production_backend="hunyuan3d",
        production_weights="services.shape.backends.hunyuan:weights_specs",
    ),
    StageEntry(
        name="texture",
        grpc_service="Texture",
        grpc_port=50064,
        metrics_port=9104,
        production_backend="hunyuan-paint",
        production_weights="services.texture.backends.hunyuan_paint:weights_specs",
    ),
)

# The processes that are not stages. One more (a gateway, say) is one more entry here.
PROCESS_ENTRIES: tuple[ProcessEntry, ...] = (
    ProcessEntry(
        name="arbiter",
        grpc_port=50070,
        metrics_port=9110,
        settings="orchestrator.arbiter.settings:ArbiterSettings",
        extra="orchestrator",
        start_order=0,
    ),
    ProcessEntry(
        name="orchestrator",
        grpc_port=50051,
        metrics_port=9100,
        settings="orchestrator.settings:OrchestratorSettings",
        extra="orchestrator",
        start_order=20,
    ),
)

STAGES: tuple[str, ...] = tuple(e.name for e in STAGE_ENTRIES)

# The HTTP gateway (REST, SSE, the studio page): a client of the orchestrator, started after
# it, with one HTTP port (its /metrics included) and settings `gateway.settings`.
GATEWAY = "gateway"
# Images that are not one of the gRPC processes above: the gateway, and the RunPod serverless
# worker (stages, orchestrator and worker in one container). Image target -> package extra.
EXTRA_IMAGES: dict[str, str] = {GATEWAY: "gateway", "runpod": "runpod"}

Entry = StageEntry | ProcessEntry


def stage(name: str) -> StageEntry:
    """The entry of a stage; ValueError naming the known stages otherwise."""
    for entry in STAGE_ENTRIES:
        if entry.name == name:
            return entry
    raise ValueError(f"unknown stage {name!r}; expected one of {', '.join(STAGES)}")


def services() -> tuple[str, ...]:
    """Every process, in start-up order: the processes the stages need, the stages, then
    the processes that call the stages."""
    return tuple(e.name for group in start_groups() for e in group)


def start_groups() -> tuple[tuple[Entry, ...], ...]:
    """Entries grouped in start-up order (a group starts in parallel once the previous one
    is healthy)."""
    groups: dict[int, list[Entry]] = {STAGE_START_ORDER: list(STAGE_ENTRIES)}
    for process in PROCESS_ENTRIES:
        groups.setdefault(process.start_order, []).append(process)
    return tuple(tuple(groups[order]) for order in sorted(groups))


def entry(name: str) -> Entry:
    """The entry of any process (stage or not); ValueError naming them all otherwise."""
    everything: tuple[Entry, ...] = (*STAGE_ENTRIES, *PROCESS_ENTRIES)
    for found in everything:
        if found.name == name:
            return found
    raise ValueError(f"unknown service {name!r}; expected one of {', '.join(services())}")


def image_extras() -> dict[str, str]:
    """Image target -> the package extra its image installs, in start-up order (the gRPC
    processes, then EXTRA_IMAGES)."""
    grpc = {e.image_target: e.extra for group in start_groups() for e in group}
    return {**grpc, **EXTRA_IMAGES}
