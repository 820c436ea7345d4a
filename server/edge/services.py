"""What the routes of one proxy app share: `Services`, built by `create_app`."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Literal

from server.config import Config
from server.credentials.scheduler import CredentialBoard, Schedulers
from server.edge.auth import KeyRing
from server.edge.model_catalogue import ModelCatalogue
from server.flags import FlagService
from server.metrics import ProxyMetrics
from server.state.store import StateStore
from server.upstream.client import Upstream
from server.upstream.transports import UpstreamTimeouts

SchemaMode = Literal["parameters", "parametersJsonSchema"]
"""How tool schemas go upstream (compat.ConversionOptions.schema_mode)."""


@dataclass(slots=True)
class Services:
    """The parts of one proxy app; `board`, `schedulers`, `upstream` exist once serving
    started and an upstream is configured."""

    config: Config
    store: StateStore
    flags: FlagService
    metrics: ProxyMetrics
    catalogue: ModelCatalogue
    proxy_keys: KeyRing
    admin_keys: KeyRing
    timeouts: UpstreamTimeouts
    rng: random.Random
    schema_mode: SchemaMode
    board: CredentialBoard | None = None
    schedulers: Schedulers | None = None
    upstream: Upstream | None = None
    ready: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def credential_states(self) -> list[tuple[str, str]]:
        return self.board.states() if self.board is not None else []
