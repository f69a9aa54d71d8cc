"""The emulator: a set of emulated providers served from one background thread.

    with Emulator(latency_scale=0) as emu:              # or `async with`
        openai = emu.add("openai-main", "openai", behaviour=Behaviour(faults={"server_error": .1}))
        httpx.post(openai.url, headers=openai.headers(), json={...})
        emu.journal.entries("openai-main")

Each provider listens on its own port of 127.0.0.1 (port 0: the system picks one). The servers
run on an asyncio loop in a daemon thread, so sync tests, async tests (any loop) and the CLI use
the same object; ``stop()`` closes every socket, drops hung connections and joins the thread.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import threading
from collections.abc import Coroutine, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from .behaviour import Behaviour, BehaviourError
from .clock import Clock, SystemClock
from .journal import Journal
from .provider import EmulatedProvider

__all__ = ["Emulator"]

_START_TIMEOUT: Final = 10.0
_PROVIDER_KEYS: Final = frozenset(
    {"name", "type", "wire", "api_key", "model", "port", "path_prefix", "seed", "behaviour",
     "config"}
)  # fmt: skip
_TOP_KEYS: Final = frozenset({"seed", "latency_scale", "providers", "$schema", "description"})


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Emulator:
    def __init__(
        self,
        *,
        clock: Clock | None = None,
        latency_scale: float = 1.0,
        host: str = "127.0.0.1",
    ) -> None:
        """``latency_scale`` multiplies every provider's own scale (0: answer at once).
        ``clock`` drives rate-limit buckets and timed phases (never the latency)."""
        if not _loopback(host):
            raise ValueError(f"the emulator listens on loopback only, not {host!r}")
        if not latency_scale >= 0:
            raise ValueError("latency_scale must be >= 0")
        self.clock: Clock = clock or SystemClock()
        self.journal = Journal()
        self._latency_scale = latency_scale
        self.host = host
        self._providers: dict[str, EmulatedProvider] = {}
        self._extra_config: dict[str, dict[str, object]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def latency_scale(self) -> float:
        """Multiplies every provider's own latency scale; settable at run time."""
        return self._latency_scale

    @latency_scale.setter
    def latency_scale(self, value: float) -> None:
        if not value >= 0:
            raise ValueError("latency_scale must be >= 0")
        self._latency_scale = value
        for provider in list(self._providers.values()):
            provider.latency_scale = value

    # -- providers ----------------------------------------------------------------------------

    def add(
        self,
        name: str,
        type: str = "openai",
        *,
        api_key: str | None = "",
        model: str | None = None,
        behaviour: Behaviour | None = None,
        seed: int = 0,
        path_prefix: str | None = None,
        port: int = 0,
        wire: str | None = None,
        config: Mapping[str, object] | None = None,
    ) -> EmulatedProvider:
        """A new provider (started at once if the emulator runs). ``api_key`` "" makes one up
        (``sk-emulator-NAME``), None accepts requests without a key. ``config``: extra fields
        for this provider's entry in :meth:`config_document` (priority, prices, ...)."""
        with self._lock:
            if name in self._providers:
                raise ValueError(f"a provider named {name!r} already exists")
            provider = EmulatedProvider(
                name,
                type,
                api_key=api_key,
                model=model,
                behaviour=behaviour,
                seed=seed,
                path_prefix=path_prefix,
                port=port,
                wire=wire,
                clock=self.clock,
                journal=self.journal,
                latency_scale=self.latency_scale,
                host=self.host,
            )
            self._providers[name] = provider
            self._extra_config[name] = dict(config or {})
        if self.running:
            try:
                self._call(provider._start())
            except BaseException:
                with self._lock:
                    del self._providers[name]
                raise
        return provider

    def __getitem__(self, name: str) -> EmulatedProvider:
        return self._providers[name]

    def __iter__(self) -> Iterator[EmulatedProvider]:
        return iter(list(self._providers.values()))

    def __len__(self) -> int:
        return len(self._providers)

    @property
    def providers(self) -> Mapping[str, EmulatedProvider]:
        return dict(self._providers)

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self) -> Self:
        """Bind every provider's port and serve from a background thread."""
        if self._loop is not None:
            raise RuntimeError("the emulator is already running")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=_serve, args=(loop,), name="llmpool-emulator", daemon=True)
        self._loop, self._thread = loop, thread
        thread.start()
        try:
            for provider in list(self._providers.values()):
                self._call(provider._start())
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close every server and connection (hung ones too) and join the thread. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if threading.current_thread() is thread:
            raise RuntimeError("stop() cannot be called from the emulator's own thread")
        try:
            for provider in list(self._providers.values()):
                self._call(provider._stop())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            self._loop = self._thread = None

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(_START_TIMEOUT)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        # Binding takes a few ms on the emulator's own thread; no executor thread is left behind.
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"Emulator({', '.join(self._providers)}; {state})"

    # -- provider config.json -----------------------------------------------------------------

    def config_document(
        self, overrides: Mapping[str, Mapping[str, object]] | None = None
    ) -> dict[str, object]:
        """A provider configuration (our config.json format) pointing at these providers:
        name, type, base_url, model and api_key, plus each provider's ``config`` extras and
        ``overrides[name]``. The emulator must be running (the ports are known then)."""
        providers: list[dict[str, object]] = []
        for name, provider in self._providers.items():
            entry: dict[str, object] = {
                "name": name,
                "type": provider.type,
                "base_url": provider.base_url,
                "model": provider.model,
            }
            if provider.api_key is not None:
                entry["api_key"] = provider.api_key
            entry.update(self._extra_config.get(name, {}))
            entry.update((overrides or {}).get(name, {}))
            providers.append(entry)
        return {"providers": providers}

    def write_config(
        self, path: str | Path, overrides: Mapping[str, Mapping[str, object]] | None = None
    ) -> Path:
        """Write :meth:`config_document` to ``path`` (JSON); returns the path."""
        target = Path(path)
        document = self.config_document(overrides)
        target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        return target

    # -- emulator config (EMU.json) -----------------------------------------------------------

    @classmethod
    def from_config(
        cls,
        source: Mapping[str, object] | str | Path,
        *,
        clock: Clock | None = None,
        latency_scale: float | None = None,
    ) -> Emulator:
        """An emulator (not started) from an emulator config: a mapping or a JSON file path.
        ``latency_scale`` given here wins over the document's."""
        if isinstance(source, str | Path):
            try:
                data: object = json.loads(Path(source).read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise BehaviourError(f"{source}: not JSON ({exc})") from None
        else:
            data = dict(source)
        if not isinstance(data, dict):
            raise BehaviourError("emulator config: expected an object")
        _known(data, _TOP_KEYS, "emulator config")
        scale = data.get("latency_scale", 1.0) if latency_scale is None else latency_scale
        if isinstance(scale, bool) or not isinstance(scale, int | float) or scale < 0:
            raise BehaviourError("latency_scale: expected a number >= 0")
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise BehaviourError("seed: expected an integer")
        providers = data.get("providers")
        if not isinstance(providers, list) or not providers:
            raise BehaviourError("providers: expected a non-empty list")
        emulator = cls(clock=clock, latency_scale=float(scale))
        for i, spec in enumerate(providers):
            where = f"providers[{i}]"
            if not isinstance(spec, dict):
                raise BehaviourError(f"{where}: expected an object")
            _known(spec, _PROVIDER_KEYS, where)
            name = spec.get("name")
            if not isinstance(name, str) or not name:
                raise BehaviourError(f"{where}.name: expected a non-empty string")
            kwargs: dict[str, Any] = {"seed": seed + i}
            for key in ("type", "wire", "model", "path_prefix"):
                if key in spec:
                    kwargs[key] = _string(spec[key], f"{where}.{key}")
            if "api_key" in spec:
                key_value = spec["api_key"]
                kwargs["api_key"] = (
                    None if key_value is None else _string(key_value, f"{where}.api_key")
                )
            for key in ("port", "seed"):
                if key in spec:
                    value = spec[key]
                    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                        raise BehaviourError(f"{where}.{key}: expected an integer >= 0")
                    kwargs[key] = value
            if "behaviour" in spec:
                kwargs["behaviour"] = Behaviour.from_json(spec["behaviour"], f"{where}.behaviour")
            if "config" in spec:
                extra = spec["config"]
                if not isinstance(extra, dict):
                    raise BehaviourError(f"{where}.config: expected an object")
                kwargs["config"] = extra
            try:
                emulator.add(name, **kwargs)
            except ValueError as exc:
                raise BehaviourError(f"{where}: {exc}") from None
        return emulator


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    """The emulator thread: run the loop until stop(), then finish every task and close it
    here, so stop() works from any thread, a running event loop's included."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _known(data: Mapping[str, object], keys: frozenset[str], where: str) -> None:
    unknown = sorted(set(data) - keys)
    if unknown:
        raise BehaviourError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(keys))})"
        )


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise BehaviourError(f"{where}: expected a string")
    return value
