"""Typed clients of the serving and trainer services, sync and asyncio, built from one
table of methods.

Each RPC is written once, in _ServingMethods or _TrainerMethods: its public signature and
docstring, and how its arguments become a request. ServingClient calls it and
AsyncServingClient awaits it (likewise the trainer's); only the two waiting helpers
(wait_for_version, wait) are written per flavour. Calls carry a deadline, UNAVAILABLE is
retried with backoff by gRPC's retry policy, and failures raise the exceptions of
movierec_client.errors.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from types import MethodType
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

import grpc

from movierec_client import convert, types
from movierec_client.channel import Tls, open_aio_channel, open_channel
from movierec_client.errors import (
    DeadlineExceededError,
    InvalidArgumentError,
    MovierecClientError,
    from_rpc_error,
)
from movierec_client.v1 import serving_pb2, serving_pb2_grpc, trainer_pb2, trainer_pb2_grpc

MAX_CHANNELS = 256
DEFAULT_SERVING = "127.0.0.1:50052"
DEFAULT_TRAINER = "127.0.0.1:50051"

T = TypeVar("T")
P = ParamSpec("P")
_NOT_YET = ("UNAVAILABLE", "NOT_FOUND")


def _build(make: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """make(*args, **kwargs), with a ValueError or TypeError of protobuf (an id outside
    int64, a string where a number belongs) turned into InvalidArgumentError, as the server
    would."""
    try:
        return make(*args, **kwargs)
    except (ValueError, TypeError) as error:
        raise InvalidArgumentError(f"bad request: {error}") from None


def _not_served(model: str, version: int, timeout: float) -> DeadlineExceededError:
    return DeadlineExceededError(
        f"model {model!r} did not serve version {version} within {timeout:.0f}s"
    )


class _Channel:
    """Channel, stub, deadline and token of one client."""

    def __init__(
        self,
        stub_class: Callable[[Any], Any],
        target: str | Sequence[str],
        timeout: float,
        max_attempts: int,
        token: str | None,
        aio: bool,
        tls: Tls | None,
        channels: int = 1,
    ):
        if token is not None and not (token and token.isascii() and token.isprintable()):
            raise ValueError("the token must be non-empty visible ASCII; None sends none")
        if not 1 <= channels <= MAX_CHANNELS:
            raise ValueError(f"channels must be 1 to {MAX_CHANNELS}, got {channels}")
        opener = open_aio_channel if aio else open_channel
        self.channels = [opener(target, max_attempts, tls, separate=channels > 1)]
        self.channels += [
            opener(target, max_attempts, tls, separate=True) for _ in range(channels - 1)
        ]
        self.channel = self.channels[0]
        self._stubs = itertools.cycle([stub_class(channel) for channel in self.channels])
        self.timeout = timeout
        self.metadata = (("authorization", f"Bearer {token}"),) if token else None

    def start(self, method: str, request, timeout: float | None = -1.0):
        """Starts the call (sync: its result; asyncio: an awaitable call) on the next of the
        client's connections."""
        timeout = self.timeout if timeout == -1.0 else timeout
        return getattr(next(self._stubs), method)(request, timeout=timeout, metadata=self.metadata)


class _ClientBase:
    _stub_class: Callable[[Any], Any]
    _aio = False

    def __init__(
        self,
        target: str | Sequence[str],
        *,
        timeout: float = 10.0,
        max_attempts: int = 4,
        token: str | None = None,
        tls: bool | Tls = False,
        tls_ca: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        channels: int = 1,
    ):
        if tls is True or (tls is False and (tls_ca or tls_cert or tls_key)):
            tls = Tls(ca=tls_ca, cert=tls_cert, key=tls_key)
        self._rpc = _Channel(
            self._stub_class,
            target,
            timeout,
            max_attempts,
            token,
            self._aio,
            tls if isinstance(tls, Tls) else None,
            channels,
        )


class _SyncClient(_ClientBase):
    def close(self) -> None:
        """Closes the channels."""
        for channel in self._rpc.channels:
            channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class _AsyncClient(_ClientBase):
    _aio = True

    async def close(self) -> None:
        """Closes the channels."""
        for channel in self._rpc.channels:
            await channel.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()


class _Rpc(Generic[P, T]):
    """One RPC in a table of methods: a descriptor that gives a sync client a method calling
    it and an asyncio client a coroutine (or async iterator) method.

    Args:
        method: The RPC's name in the service.
        build: The public method: its signature and docstring, and the request it returns.
        convert: The SDK's value of the response.
        deadline: False for a stream that has none (it lasts as long as a job).
    """

    def __init__(
        self,
        method: str,
        build: Callable[Concatenate[Any, P], Any],
        convert: Callable[..., Any],
        deadline: bool = True,
    ):
        self.method = method
        self.build = build
        self.convert = convert
        self.timeout = -1.0 if deadline else None
        self.__doc__ = build.__doc__
        self.__qualname__ = build.__qualname__
        self.__module__ = build.__module__
        self.__signature__ = inspect.signature(build).replace(
            return_annotation=inspect.Signature.empty
        )
        # [sync, asyncio] (indexed by the client's _aio), each taking the client first
        self._functions = [self._like_build(self.sync_function())]
        self._functions.append(self._like_build(self.async_function()))

    def _like_build(self, function: Callable[..., Any]) -> Callable[..., Any]:
        functools.update_wrapper(function, self.build)
        function.__signature__ = self.__signature__  # type: ignore[attr-defined]
        del function.__wrapped__  # type: ignore[attr-defined]
        return function

    def bound(self, client: _ClientBase | None) -> Any:
        """The method of `client` (the descriptor itself on the class)."""
        if client is None:
            return self
        return MethodType(self._functions[client._aio], client)

    def __call__(self, client: _ClientBase, *args: Any, **kwargs: Any) -> Any:
        """Called on the class, as a function is: ServingClient.recommend(client, ...)."""
        return self._functions[client._aio](client, *args, **kwargs)

    def start(self, client: _ClientBase, args: tuple, kwargs: dict) -> Any:
        """Builds the request and starts the call; returns (request, call)."""
        request = _build(self.build, client, *args, **kwargs)
        return request, client._rpc.start(self.method, request, self.timeout)

    def sync_function(self) -> Callable[..., Any]:
        """The function of a sync client's method (the client first)."""
        raise NotImplementedError

    def async_function(self) -> Callable[..., Any]:
        """The function of an asyncio client's method (the client first)."""
        raise NotImplementedError


class _Unary(_Rpc[P, T]):
    """A unary RPC: convert(response) -> T."""

    @overload
    def __get__(self, client: None, owner: type | None = None) -> _Unary[P, T]: ...
    @overload
    def __get__(
        self, client: _AsyncClient, owner: type | None = None
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    @overload
    def __get__(self, client: _SyncClient, owner: type | None = None) -> Callable[P, T]: ...
    def __get__(self, client, owner=None):
        return self.bound(client)

    def sync_function(self):
        def call(client, *args, **kwargs):
            try:
                return self.convert(self.start(client, args, kwargs)[1])
            except grpc.RpcError as error:
                raise from_rpc_error(error) from None

        return call

    def async_function(self):
        async def call(client, *args, **kwargs):
            try:
                return self.convert(await self.start(client, args, kwargs)[1])
            except grpc.RpcError as error:
                raise from_rpc_error(error) from None

        return call


class _Gathered(_Unary[P, T]):
    """A server-streaming RPC answered as one value: convert(request, messages) -> T."""

    def sync_function(self):
        def call(client, *args, **kwargs):
            try:
                request, stream = self.start(client, args, kwargs)
                return self.convert(request, list(stream))
            except grpc.RpcError as error:
                raise from_rpc_error(error) from None

        return call

    def async_function(self):
        async def call(client, *args, **kwargs):
            try:
                request, stream = self.start(client, args, kwargs)
                return self.convert(request, [message async for message in stream])
            except grpc.RpcError as error:
                raise from_rpc_error(error) from None

        return call


class _Stream(_Rpc[P, T]):
    """A server-streaming RPC: convert(message) -> T for each message, as an iterator (sync)
    or an async iterator (asyncio)."""

    @overload
    def __get__(self, client: None, owner: type | None = None) -> _Stream[P, T]: ...
    @overload
    def __get__(
        self, client: _AsyncClient, owner: type | None = None
    ) -> Callable[P, AsyncIterator[T]]: ...
    @overload
    def __get__(
        self, client: _SyncClient, owner: type | None = None
    ) -> Callable[P, Iterator[T]]: ...
    def __get__(self, client, owner=None):
        return self.bound(client)

    def sync_function(self):
        def call(client, *args, **kwargs):
            try:
                for message in self.start(client, args, kwargs)[1]:
                    yield self.convert(message)
            except grpc.RpcError as error:
                raise from_rpc_error(error) from None

        return call

    def async_function(self):
        async def call(client, *args, **kwargs):
            stream = self.start(client, args, kwargs)[1]
            try:
                async for message in stream:
                    yield self.convert(message)
            except grpc.RpcError as error:
                raise from_rpc_error(error) from None
            finally:
                stream.cancel()

        return call


def _unary(
    method: str, convert: Callable[[Any], T]
) -> Callable[[Callable[Concatenate[Any, P], Any]], _Unary[P, T]]:
    """Declares a unary RPC of a table; the decorated function builds its request."""
    return lambda build: _Unary(method, build, convert)


def _gathered(
    method: str, convert: Callable[[Any, list], T]
) -> Callable[[Callable[Concatenate[Any, P], Any]], _Gathered[P, T]]:
    """Declares a server-streaming RPC answered as one value."""
    return lambda build: _Gathered(method, build, convert)


def _stream(
    method: str, convert: Callable[[Any], T]
) -> Callable[[Callable[Concatenate[Any, P], Any]], _Stream[P, T]]:
    """Declares a server-streaming RPC without a deadline, yielding each message."""
    return lambda build: _Stream(method, build, convert, deadline=False)


class _ServingMethods:
    """The serving service's RPCs, written once for both flavours of client."""

    @_unary("Predict", convert.predictions)
    def predict(
        self,
        model: str,
        pairs: Sequence[tuple[int | types.UserFeatures, int]],
        *,
        version: int | None = None,
        timestamp: float | None = None,
    ) -> serving_pb2.PredictRequest:
        """Scores of (user, item_id) pairs, in order; a user is a raw id or UserFeatures.
        Rating versions answer ratings, retrieval versions relevance scores (score_type);
        users the version cannot score get the fallback (strategy, fallback). Kinds that
        take context (ranking_context) score at `timestamp` (unix seconds; None: now).

        Raises:
            NotFoundError: an unknown model, version, user or item.
            InvalidArgumentError: an empty or oversized batch.
            UnavailableError: no version loaded yet.
        """
        return convert.predict_request(model, pairs, version, timestamp)

    @_unary("Recommend", convert.recommendations)
    def recommend(
        self,
        model: str,
        user_id: int | None = None,
        k: int = 10,
        *,
        include_seen: bool = False,
        exclude: Sequence[int] = (),
        version: int | None = None,
        features: types.UserFeatures | None = None,
        num_candidates: int = 0,
        timestamp: float | None = None,
    ) -> serving_pb2.RecommendRequest:
        """Top-k items for a user (raw id) or a user described only by `features`,
        excluding the items the user rated in training (unless include_seen) and
        `exclude`. The answer's strategy says whether the model, its user tower or the
        popularity fallback chose them; kinds that take context score at `timestamp` (unix
        seconds; None: now). A ranking version answers in two stages, taking
        num_candidates (0: its own setting) from its candidate source; the answer's
        candidates_from names that version.

        Raises:
            NotFoundError: an unknown model, version or user.
            InvalidArgumentError: k or num_candidates out of range.
            UnavailableError: a ranking version's candidate model is not loaded.
            FailedPreconditionError: its candidate version was trained on other data.
        """
        return convert.recommend_request(
            model,
            user_id,
            k,
            include_seen,
            exclude,
            version,
            features,
            num_candidates,
            timestamp,
        )

    @_unary("SimilarItems", convert.recommendations)
    def similar_items(
        self, model: str, item_id: int, k: int = 10, *, version: int | None = None
    ) -> serving_pb2.SimilarItemsRequest:
        """Top-k items by cosine similarity to an item (raw id); score is the similarity."""
        return convert.similar_items_request(model, item_id, k, version)

    @_unary("Metrics", convert.metrics_report)
    def metrics(
        self,
        model: str,
        *,
        version: int | None = None,
        k: int = 0,
        baseline_version: int | None = None,
        baseline_model: str | None = None,
        threshold: float | None = None,
    ) -> serving_pb2.MetricsRequest:
        """Evaluation of a version on its held-out split at cut-off k (0: 10) and relevance
        threshold (None: 4), beside most-popular and, when asked, a baseline: a version of
        this model or of `baseline_model` trained on the same split."""
        return convert.metrics_request(
            model, version, k, baseline_version, baseline_model, threshold
        )

    @_unary("GetModelStatus", convert.model_statuses)
    def status(self, model: str = "") -> serving_pb2.GetModelStatusRequest:
        """Serving state of one model, or of every model when `model` is empty."""
        return serving_pb2.GetModelStatusRequest(model_name=model)

    @_unary("SetServingVersion", convert.model_status)
    def set_serving_version(
        self,
        model: str,
        version: int | None = None,
        *,
        latest: bool = False,
        rollback: bool = False,
        reason: str = "",
    ) -> serving_pb2.SetServingVersionRequest:
        """Pins `version` as the one answering requests that name none, or follows the
        newest good version again (latest=True), or rolls back to the newest good version
        older than the serving one (rollback=True). Every serving process on the store
        follows within a poll interval.

        Raises:
            InvalidArgumentError: not exactly one of version, latest and rollback.
            NotFoundError: an unknown model or version, or nothing older to roll back to.
            FailedPreconditionError: the version cannot be served (the reason says why), or
                the server pins the model by flag.
        """
        return convert.set_serving_version_request(model, version, latest, rollback, reason)

    @_unary("ListIds", convert.version_ids)
    def list_ids(
        self, model: str, *, version: int | None = None, max_ids: int = 0
    ) -> serving_pb2.ListIdsRequest:
        """The raw ids a version knows: the users of its training data with their training
        rating counts, and the items it scores; at most max_ids of each (0: 100,000),
        evenly spaced. Requests drawn from them are answered by the model, never
        NOT_FOUND or the fallback.

        Raises:
            NotFoundError: an unknown model or version.
            InvalidArgumentError: max_ids out of range.
        """
        return serving_pb2.ListIdsRequest(model=convert.model_spec(model, version), max_ids=max_ids)


class _TrainerMethods:
    """The trainer service's RPCs, written once for both flavours of client."""

    @_unary("Train", convert.job)
    def train(self, model: str, **options: Any) -> trainer_pb2.TrainRequest:
        """Queues a training job.

        Args:
            model: Model name.
            **options: kind ("ease", "dot", "two_tower", "ranking" or "ranking_context"),
                objective ("retrieval" or "rating"), dataset ("ml-100k"), split ("u1"
                for ml-100k, else "random"),
                seed, test_fraction, the shared hyperparameters (epochs, learning_rate,
                batch_size, patience, validation_fraction, num_negatives,
                negative_sampling, negative_sharing, retrieval_loss, min_positive_rating,
                rating_loss, optimizer, workers) and the kind's own (ease: l2,
                low_rating_weight; dot: embedding_dim, l2,
                output; two_tower: layers, l2, use_demographics, temperature; ranking:
                embedding_dim, layers, l2, candidate_model, num_candidates;
                ranking_context: those and time_buckets); those left out or None take the
                server's defaults; and max_seconds, the job's wall-clock limit (at most the
                trainer's).

        Raises:
            InvalidArgumentError: bad name, kind, dataset, split or hyperparameter.
            ResourceExhaustedError: the job queue is full.
            UnavailableError: the trainer cannot record the job now (its records are
                locked or unwritable; the message says why); nothing was queued.
        """
        return _train_request(model, options)

    @_unary("GetJob", convert.job)
    def get_job(self, job_id: str) -> trainer_pb2.GetJobRequest:
        """The job's current state. Raises NotFoundError."""
        return trainer_pb2.GetJobRequest(job_id=job_id)

    @_unary("CancelJob", convert.job)
    def cancel_job(self, job_id: str) -> trainer_pb2.CancelJobRequest:
        """Cancels a queued or running job; it publishes nothing. UnavailableError: the
        trainer cannot record the cancel now, and the job goes on."""
        return trainer_pb2.CancelJobRequest(job_id=job_id)

    @_unary("ListModels", convert.stored_models)
    def list_models(self, model: str = "") -> trainer_pb2.ListModelsRequest:
        """Models in the store with their versions (newest first) and headline metrics."""
        return trainer_pb2.ListModelsRequest(model_name=model)

    @_unary("ListJobs", convert.job_page)
    def list_jobs(
        self,
        model: str = "",
        states: Sequence[str] = (),
        page_size: int = 0,
        page_token: str = "",
    ) -> trainer_pb2.ListJobsRequest:
        """A page of the jobs the trainer remembers, newest first, also from its earlier
        runs; only of `model` and in `states` (e.g. ("RUNNING", "QUEUED")) when given.
        Pass the page's next_page_token for the next one."""
        return _list_jobs_request(model, states, page_size, page_token)

    @_stream("WatchJob", convert.job_event)
    def watch_job(self, job_id: str) -> trainer_pb2.WatchJobRequest:
        """Yields the job's events, from its current state until a final state (an async
        iterator for the asyncio client). The stream has no deadline (training takes as
        long as it takes)."""
        return trainer_pb2.WatchJobRequest(job_id=job_id)

    @_gathered("GetArtifact", lambda request, chunks: convert.artifact(request.model_name, chunks))
    def get_artifact(
        self, model: str, name: str, version: int = 0
    ) -> trainer_pb2.GetArtifactRequest:
        """One file a version lists in StoredVersion.artifacts (e.g. "loss.png"), streamed
        and checked against its sha256; version 0 means the newest.

        Raises:
            NotFoundError: no such model, version or artifact.
            DataLossError: the bytes do not match their checksum.
        """
        return trainer_pb2.GetArtifactRequest(model_name=model, version=version, name=name)


class ServingClient(_ServingMethods, _SyncClient):
    """Sync client of the serving service; a context manager.

    Args:
        target: "host:port", "dns:///name:port", or a list of IP-literal "host:port"
            balanced round-robin.
        timeout: Deadline of each call, seconds.
        max_attempts: Attempts per call on UNAVAILABLE (1 disables retries).
        token: Bearer token, where the server requires one (None sends none; "" is an
            error).
        tls: True to speak TLS, verifying the server against the system's roots; or a
            movierec_client.Tls (CA, client certificate, server name). Plaintext by
            default.
        tls_ca: PEM CA bundle that signed the server's certificate (implies TLS).
        tls_cert: PEM client certificate, for servers requiring mutual TLS (implies TLS).
        tls_key: PEM private key of tls_cert.
        channels: Connections per target, used in turn. One connection reaches one of the
            processes of `movierec serving --workers N` (the kernel spreads connections,
            not calls), so give at least N to load them all.

    Raises:
        ValueError: an empty token, or TLS files that cannot be read.
    """

    _stub_class = serving_pb2_grpc.ServingServiceStub

    def __init__(self, target: str | Sequence[str] = DEFAULT_SERVING, **options: Any):
        super().__init__(target, **options)

    def wait_for_version(
        self, model: str, version: int = 1, timeout: float = 60.0, interval: float = 0.2
    ) -> types.ModelStatus:
        """Polls GetModelStatus until the model serves `version` or newer.

        Raises:
            DeadlineExceededError: not served within `timeout` seconds.
        """
        deadline = _wait_deadline(model, timeout)
        while True:
            try:
                (status,) = self.status(model)
                if status.serving_version >= version:
                    return status
            except MovierecClientError as error:
                if error.code not in _NOT_YET:
                    raise
            if time.monotonic() > deadline:
                raise _not_served(model, version, timeout)
            time.sleep(interval)


class AsyncServingClient(_ServingMethods, _AsyncClient):
    """Asyncio client of the serving service: ServingClient's methods as coroutines; an
    async context manager. Same arguments as ServingClient. Create it inside the event
    loop that will use it (gRPC binds an asyncio channel to the loop it was made in)."""

    _stub_class = serving_pb2_grpc.ServingServiceStub

    def __init__(self, target: str | Sequence[str] = DEFAULT_SERVING, **options: Any):
        super().__init__(target, **options)

    async def wait_for_version(
        self, model: str, version: int = 1, timeout: float = 60.0, interval: float = 0.2
    ) -> types.ModelStatus:
        """Polls GetModelStatus until the model serves `version` or newer.

        Raises:
            DeadlineExceededError: not served within `timeout` seconds.
        """
        deadline = _wait_deadline(model, timeout)
        while True:
            try:
                (status,) = await self.status(model)
                if status.serving_version >= version:
                    return status
            except MovierecClientError as error:
                if error.code not in _NOT_YET:
                    raise
            if time.monotonic() > deadline:
                raise _not_served(model, version, timeout)
            await asyncio.sleep(interval)


def _wait_deadline(model: str, timeout: float) -> float:
    if not model:
        raise InvalidArgumentError("wait_for_version needs a model name")
    return time.monotonic() + timeout


def _train_request(model: str, options: dict[str, Any]) -> trainer_pb2.TrainRequest:
    known = {"kind", "objective", "dataset", "split", "seed", "test_fraction", "max_seconds"}
    options = {k: v for k, v in options.items() if v is not None}
    settings: dict[str, Any] = {"kind": "", "objective": "", "dataset": "", "split": ""}
    settings["seed"] = None
    settings.update({k: v for k, v in options.items() if k in known})
    hyperparameters = {k: v for k, v in options.items() if k not in known}
    return convert.train_request(
        model,
        settings["kind"],
        settings["objective"],
        settings["dataset"],
        settings["split"],
        settings["seed"],
        settings.get("test_fraction", 0.0),
        hyperparameters,
        settings.get("max_seconds"),
    )


def _list_jobs_request(
    model: str, states: Sequence[str], page_size: int, page_token: str
) -> trainer_pb2.ListJobsRequest:
    try:
        values = [trainer_pb2.JobState.Value(state) for state in states]
    except ValueError:
        raise InvalidArgumentError(
            f"unknown job state in {list(states)}; choose QUEUED, RUNNING, SUCCEEDED,"
            " FAILED or CANCELLED"
        ) from None
    return trainer_pb2.ListJobsRequest(
        model_name=model, states=values, page_size=page_size, page_token=page_token
    )


class TrainerClient(_TrainerMethods, _SyncClient):
    """Sync client of the trainer service; a context manager. Arguments as ServingClient."""

    _stub_class = trainer_pb2_grpc.TrainerServiceStub

    def __init__(self, target: str | Sequence[str] = DEFAULT_TRAINER, **options: Any):
        super().__init__(target, **options)

    def wait(
        self, job_id: str, on_event: Callable[[types.JobEvent], None] = lambda e: None
    ) -> types.Job:
        """Follows a job until it ends, calling on_event for each event (with the asyncio
        client, a function or a coroutine function); returns the job."""
        job = None
        for event in self.watch_job(job_id):
            on_event(event)
            job = event.job
        return job if job is not None and job.done else self.get_job(job_id)


class AsyncTrainerClient(_TrainerMethods, _AsyncClient):
    """Asyncio client of the trainer service: TrainerClient's methods as coroutines (and
    watch_job as an async iterator). Arguments as ServingClient."""

    _stub_class = trainer_pb2_grpc.TrainerServiceStub

    def __init__(self, target: str | Sequence[str] = DEFAULT_TRAINER, **options: Any):
        super().__init__(target, **options)

    async def wait(
        self,
        job_id: str,
        on_event: Callable[[types.JobEvent], Awaitable[None] | None] = lambda e: None,
    ) -> types.Job:
        """Follows a job until it ends, calling on_event for each event (with the asyncio
        client, a function or a coroutine function); returns the job."""
        job = None
        async for event in self.watch_job(job_id):
            outcome = on_event(event)
            if asyncio.iscoroutine(outcome):
                await outcome
            job = event.job
        return job if job is not None and job.done else await self.get_job(job_id)


__all__ = ["AsyncServingClient", "AsyncTrainerClient", "ServingClient", "TrainerClient"]
