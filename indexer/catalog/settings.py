"""The one typed settings object; the only code that reads os.environ."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from indexer.catalog.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")
MB = 1 << 20


@dataclass(frozen=True)
class DecodeBudget:
    """Limits of one decode beyond its pixel count (enforced by `indexer.encoder.decode_budget`)."""

    max_memory_bytes: int = 384 * MB  # estimated peak of decoding + converting
    max_seconds: float = 10.0  # wall time from the first decoded byte
    max_jpeg_scans: int = 100  # progressive JPEGs have about 10; each scan costs a pass


DISTANCES = ("cosine", "euclidean", "manhattan")
_HOST_NAME = re.compile(r"\.?[a-z0-9_-]+(\.[a-z0-9_-]+)*", re.ASCII)


@dataclass(frozen=True)
class Settings:
    """Runtime configuration shared by the CLI, the web app and the workers."""

    home: Path
    database_url: str
    redis_url: str | None = None
    device: str = "auto"
    model: str | None = None
    max_upload_mb: float = 20.0
    max_pixels: int = 64_000_000
    api_key: str | None = None
    batch_size: int = 32
    max_k: int = 1000
    sync_interval_s: float = 1.0
    # Redis redelivers a task unacknowledged this long (a worker killed mid-task loses nothing).
    visibility_timeout_s: float = 3600.0
    index_factory: str = "auto"  # or a FAISS factory string: "IVF4096,PQ32", "HNSW32", ...
    index_memory_mb: float = 4096.0  # budget for the index; over it, IVF-PQ replaces IVF-Flat
    index_nprobe: int | None = None  # IVF lists probed per query; None: from the list count
    index_ef_search: int | None = None  # HNSW search breadth; None: tuned at build time
    index_tombstone_fraction: float = 0.1  # dead HNSW entries above this share: rebuild
    source_roots: tuple[Path, ...] = ()  # folders the API may index from; none: API refuses
    decode_threads: int = 1  # threads reading and decoding files per worker process
    torch_threads: int | None = None  # intra-op threads of the encoder; None: torch's default
    distance: str = "cosine"  # search scores and ranking: cosine|euclidean|manhattan
    anomaly_k: int = 5  # neighbours whose mean distance is a query's novelty score
    anomaly_percentile: float = 99.0  # of the catalog's leave-one-out scores: the threshold
    api_key_reads: bool = False  # True: read endpoints need the API key too
    rate_limit_per_minute: int = 0  # searches per client and minute; 0 (default): no limit
    proxy_hops: int = 0  # trusted reverse proxies in front (X-Forwarded-For hops)
    # Host names served besides addresses, localhost and this machine's name ("*": any).
    allowed_hosts: tuple[str, ...] = ()
    max_job_files: int = 1_000_000  # images one indexing job may list
    encoder_runtime: str = "auto"  # auto: ONNX Runtime on the CPU when installed, else PyTorch
    request_timeout_s: float = 30.0  # long API requests (duplicates, filtered search) give up
    max_file_mb: float = 256.0  # catalog files larger than this are not read
    read_timeout_s: float = 60.0  # reading one catalog file gives up after this
    decode_memory_mb: float = 384.0  # estimated peak memory of one decode
    decode_timeout_s: float = 10.0  # decoding one image gives up after this
    max_jpeg_scans: int = 100  # progressive JPEGs with more scans are refused
    job_lease_s: float = 120.0  # a running job silent this long (and not alive here) is dead

    @property
    def index_dir(self) -> Path:
        """Where index snapshots live, one file per model version."""
        return self.home / "index"

    @property
    def onnx_dir(self) -> Path:
        """Where the encoder's ONNX exports (and their records) are cached."""
        return self.home / "onnx"

    @property
    def decode_budget(self) -> DecodeBudget:
        """What one decode may cost beyond its pixel count."""
        return DecodeBudget(
            max_memory_bytes=int(self.decode_memory_mb * MB),
            max_seconds=self.decode_timeout_s,
            max_jpeg_scans=self.max_jpeg_scans,
        )

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * MB)

    @property
    def upload_dir(self) -> Path:
        return self.home / "uploads"

    @property
    def feedback_dir(self) -> Path:
        """Query images users gave feedback on, kept for `lookalike train --feedback`."""
        return self.home / "feedback"

    @property
    def embedded(self) -> bool:
        """True when Celery tasks run in-process (no Redis configured)."""
        return self.redis_url is None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from LOOKALIKE_*, DATABASE_URL and REDIS_URL."""
        env = os.environ if env is None else env
        home = Path(env.get("LOOKALIKE_HOME", ".lookalike")).expanduser().resolve()
        database_url = env.get("DATABASE_URL") or f"sqlite:///{home / 'lookalike.db'}"
        device = env.get("LOOKALIKE_DEVICE", "auto").lower()
        if device not in DEVICES:
            raise ConfigError(f"LOOKALIKE_DEVICE must be one of {DEVICES}, got {device!r}")
        distance = env.get("LOOKALIKE_DISTANCE", "cosine").lower()
        if distance not in DISTANCES:
            raise ConfigError(f"LOOKALIKE_DISTANCE must be one of {DISTANCES}, got {distance!r}")
        percentile = _number(env, "LOOKALIKE_ANOMALY_PERCENTILE", 99.0)
        if percentile > 100:
            raise ConfigError(f"LOOKALIKE_ANOMALY_PERCENTILE must be <= 100, got {percentile}")
        return cls(
            home=home,
            database_url=database_url,
            redis_url=env.get("REDIS_URL") or None,
            device=device,
            model=env.get("LOOKALIKE_MODEL") or None,
            max_upload_mb=_number(env, "LOOKALIKE_MAX_UPLOAD_MB", 20.0),
            max_pixels=int(_number(env, "LOOKALIKE_MAX_PIXELS", 64_000_000)),
            api_key=env.get("LOOKALIKE_API_KEY") or None,
            batch_size=int(_number(env, "LOOKALIKE_BATCH_SIZE", 32)),
            max_k=int(_number(env, "LOOKALIKE_MAX_K", 1000)),
            sync_interval_s=_number(env, "LOOKALIKE_SYNC_INTERVAL_S", 1.0),
            index_factory=env.get("LOOKALIKE_INDEX_FACTORY") or "auto",
            index_memory_mb=_number(env, "LOOKALIKE_INDEX_MEMORY_MB", 4096.0),
            index_nprobe=int(_number(env, "LOOKALIKE_NPROBE", 0)) or None,
            index_ef_search=int(_number(env, "LOOKALIKE_EF_SEARCH", 0)) or None,
            index_tombstone_fraction=_number(env, "LOOKALIKE_TOMBSTONE_FRACTION", 0.1),
            visibility_timeout_s=_number(env, "LOOKALIKE_VISIBILITY_TIMEOUT_S", 3600.0),
            source_roots=_paths(env.get("LOOKALIKE_SOURCE_ROOTS", "")),
            decode_threads=int(_number(env, "LOOKALIKE_DECODE_THREADS", _default_threads())),
            torch_threads=int(_number(env, "LOOKALIKE_TORCH_THREADS", 0)) or None,
            distance=distance,
            anomaly_k=int(_number(env, "LOOKALIKE_ANOMALY_K", 5)),
            anomaly_percentile=percentile,
            api_key_reads=_flag(env, "LOOKALIKE_API_KEY_READS"),
            rate_limit_per_minute=_count(env, "LOOKALIKE_RATE_LIMIT", 0),
            proxy_hops=_count(env, "LOOKALIKE_PROXY_HOPS", 0),
            allowed_hosts=_hosts(env.get("LOOKALIKE_ALLOWED_HOSTS", "")),
            max_job_files=int(_number(env, "LOOKALIKE_MAX_JOB_FILES", 1_000_000)),
            request_timeout_s=_number(env, "LOOKALIKE_REQUEST_TIMEOUT_S", 30.0),
            max_file_mb=_number(env, "LOOKALIKE_MAX_FILE_MB", 256.0),
            read_timeout_s=_number(env, "LOOKALIKE_READ_TIMEOUT_S", 60.0),
            decode_memory_mb=_number(env, "LOOKALIKE_DECODE_MEMORY_MB", 384.0),
            decode_timeout_s=_number(env, "LOOKALIKE_DECODE_TIMEOUT_S", 10.0),
            max_jpeg_scans=int(_number(env, "LOOKALIKE_MAX_JPEG_SCANS", 100)),
            job_lease_s=_number(env, "LOOKALIKE_JOB_LEASE_S", 120.0),
            encoder_runtime=_choice(
                env, "LOOKALIKE_ENCODER_RUNTIME", ("auto", "onnx", "onnx-int8", "torch")
            ),
        )


def _paths(raw: str) -> tuple[Path, ...]:
    """Colon-separated folders, user-expanded and resolved (symlinks included)."""
    return tuple(Path(part).expanduser().resolve() for part in raw.split(":") if part.strip())


def _hosts(raw: str) -> tuple[str, ...]:
    """Comma-separated host names: `name`, `.domain` (and its subdomains) or `*`."""
    hosts = tuple(part.strip().lower().rstrip(".") for part in raw.split(",") if part.strip())
    for host in hosts:
        if host != "*" and not _HOST_NAME.fullmatch(host):
            raise ConfigError(
                "LOOKALIKE_ALLOWED_HOSTS takes host names such as search.example.com or "
                f".example.com (no scheme, port or path), got {host!r}"
            )
    return hosts


def _default_threads() -> int:
    """Decode threads per worker process: a few, but not more than the cores."""
    return max(1, min(4, os.cpu_count() or 1))


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = (env.get(name) or choices[0]).strip().lower()
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {choices}, got {raw!r}")
    return raw


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number >= 0 (0 switches the feature off)."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < 0:
        raise ConfigError(f"{name} must be 0 or more, got {raw!r}")
    return value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value
