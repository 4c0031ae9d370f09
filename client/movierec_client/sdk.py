"""Typed clients of the serving and trainer services, sync and asyncio.

Both flavours share request building and response conversion (movierec_client.convert) and differ
only in how a call is awaited. Calls carry a deadline, UNAVAILABLE is retried with backoff
by gRPC's retry policy, and failures raise the exceptions of movierec_client.errors.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

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
_NOT_YET = ("UNAVAILABLE", "NOT_FOUND")


def _build(make: Callable[..., Any], *args: Any) -> Any:
    """make(*args), with a ValueError or TypeError of protobuf (an id outside int64, a
    string where a number belongs) turned into InvalidArgumentError, as the server would."""
    try:
        return make(*args)
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
    def _call(self, method: str, request, convert_response: Callable[[Any], T]) -> T:
        try:
            return convert_response(self._rpc.start(method, request))
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

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

    async def _call(self, method: str, request, convert_response: Callable[[Any], T]) -> T:
        try:
            return convert_response(await self._rpc.start(method, request))
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    async def close(self) -> None:
        """Closes the channels."""
        for channel in self._rpc.channels:
            await channel.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()


class ServingClient(_SyncClient):
    """Sync client of the serving service; a context manager.

    Args:
        target: "host:port", "dns:///name:port", or a list of IP-literal "host:port"
            balanced round-robin.
        timeout: Deadline of each call, seconds.
        max_attempts: Attempts per call on UNAVAILABLE (1 disables retries).
        token: Bearer token, where the server requires one (None sends none; "" is an
            error).
        tls: True to speak TLS, verifying the server against the system's roots; or a
            movierec_client.channel.Tls (CA, client certificate, server name). Plaintext by default.
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

    def predict(
        self,
        model: str,
        pairs: Sequence[tuple[int | types.UserFeatures, int]],
        *,
        version: int | None = None,
        timestamp: float | None = None,
    ) -> types.Predictions:
        """Scores of (user, item_id) pairs, in order; a user is a raw id or UserFeatures.
        Rating versions answer ratings, retrieval versions relevance scores (score_type);
        users the version cannot score get the fallback (strategy, fallback). Kinds that
        take context (ranking_context) score at `timestamp` (unix seconds; None: now).

        Raises:
            NotFoundError: an unknown model, version, user or item.
            InvalidArgumentError: an empty or oversized batch.
            UnavailableError: no version loaded yet.
        """
        request = _build(convert.predict_request, model, pairs, version, timestamp)
        return self._call("Predict", request, convert.predictions)

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
    ) -> types.Recommendations:
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
        request = _build(
            convert.recommend_request,
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
        return self._call("Recommend", request, convert.recommendations)

    def similar_items(
        self, model: str, item_id: int, k: int = 10, *, version: int | None = None
    ) -> types.Recommendations:
        """Top-k items by cosine similarity to an item (raw id); score is the similarity."""
        request = _build(convert.similar_items_request, model, item_id, k, version)
        return self._call("SimilarItems", request, convert.recommendations)

    def metrics(
        self,
        model: str,
        *,
        version: int | None = None,
        k: int = 0,
        baseline_version: int | None = None,
        baseline_model: str | None = None,
        threshold: float | None = None,
    ) -> types.MetricsReport:
        """Evaluation of a version on its held-out split at cut-off k (0: 10) and relevance
        threshold (None: 4), beside most-popular and, when asked, a baseline: a version of
        this model or of `baseline_model` trained on the same split."""
        request = _build(
            convert.metrics_request, model, version, k, baseline_version, baseline_model, threshold
        )
        return self._call("Metrics", request, convert.metrics_report)

    def status(self, model: str = "") -> tuple[types.ModelStatus, ...]:
        """Serving state of one model, or of every model when `model` is empty."""
        request = serving_pb2.GetModelStatusRequest(model_name=model)
        return self._call("GetModelStatus", request, convert.model_statuses)

    def set_serving_version(
        self,
        model: str,
        version: int | None = None,
        *,
        latest: bool = False,
        rollback: bool = False,
        reason: str = "",
    ) -> types.ModelStatus:
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
        request = _build(
            convert.set_serving_version_request, model, version, latest, rollback, reason
        )
        return self._call("SetServingVersion", request, convert.model_status)

    def wait_for_version(
        self, model: str, version: int = 1, timeout: float = 60.0, interval: float = 0.2
    ) -> types.ModelStatus:
        """Polls GetModelStatus until the model serves `version` or newer.

        Raises:
            DeadlineExceededError: not served within `timeout` seconds.
        """
        if not model:
            raise InvalidArgumentError("wait_for_version needs a model name")
        deadline = time.monotonic() + timeout
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


class AsyncServingClient(_AsyncClient):
    """Asyncio client of the serving service: ServingClient's methods as coroutines; an
    async context manager. Same arguments as ServingClient. Create it inside the event
    loop that will use it (gRPC binds an asyncio channel to the loop it was made in)."""

    _stub_class = serving_pb2_grpc.ServingServiceStub

    def __init__(self, target: str | Sequence[str] = DEFAULT_SERVING, **options: Any):
        super().__init__(target, **options)

    async def predict(
        self,
        model: str,
        pairs: Sequence[tuple[int | types.UserFeatures, int]],
        *,
        version: int | None = None,
        timestamp: float | None = None,
    ) -> types.Predictions:
        """See ServingClient.predict."""
        request = _build(convert.predict_request, model, pairs, version, timestamp)
        return await self._call("Predict", request, convert.predictions)

    async def recommend(
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
    ) -> types.Recommendations:
        """See ServingClient.recommend."""
        request = _build(
            convert.recommend_request,
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
        return await self._call("Recommend", request, convert.recommendations)

    async def similar_items(
        self, model: str, item_id: int, k: int = 10, *, version: int | None = None
    ) -> types.Recommendations:
        """See ServingClient.similar_items."""
        request = _build(convert.similar_items_request, model, item_id, k, version)
        return await self._call("SimilarItems", request, convert.recommendations)

    async def metrics(
        self,
        model: str,
        *,
        version: int | None = None,
        k: int = 0,
        baseline_version: int | None = None,
        baseline_model: str | None = None,
        threshold: float | None = None,
    ) -> types.MetricsReport:
        """See ServingClient.metrics."""
        request = _build(
            convert.metrics_request, model, version, k, baseline_version, baseline_model, threshold
        )
        return await self._call("Metrics", request, convert.metrics_report)

    async def status(self, model: str = "") -> tuple[types.ModelStatus, ...]:
        """See ServingClient.status."""
        request = serving_pb2.GetModelStatusRequest(model_name=model)
        return await self._call("GetModelStatus", request, convert.model_statuses)

    async def set_serving_version(
        self,
        model: str,
        version: int | None = None,
        *,
        latest: bool = False,
        rollback: bool = False,
        reason: str = "",
    ) -> types.ModelStatus:
        """See ServingClient.set_serving_version."""
        request = _build(
            convert.set_serving_version_request, model, version, latest, rollback, reason
        )
        return await self._call("SetServingVersion", request, convert.model_status)

    async def wait_for_version(
        self, model: str, version: int = 1, timeout: float = 60.0, interval: float = 0.2
    ) -> types.ModelStatus:
        """See ServingClient.wait_for_version."""
        if not model:
            raise InvalidArgumentError("wait_for_version needs a model name")
        deadline = time.monotonic() + timeout
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


def _train_request(model: str, options: dict[str, Any]) -> trainer_pb2.TrainRequest:
    known = {"kind", "objective", "dataset", "split", "seed", "test_fraction", "max_seconds"}
    options = {k: v for k, v in options.items() if v is not None}
    settings = {"kind": "", "objective": "", "dataset": "", "split": "", "seed": None}
    settings.update({k: v for k, v in options.items() if k in known})
    hyperparameters = {k: v for k, v in options.items() if k not in known}
    return _build(
        convert.train_request,
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


class TrainerClient(_SyncClient):
    """Sync client of the trainer service; a context manager. Arguments as ServingClient."""

    _stub_class = trainer_pb2_grpc.TrainerServiceStub

    def __init__(self, target: str | Sequence[str] = DEFAULT_TRAINER, **options: Any):
        super().__init__(target, **options)

    def train(self, model: str, **options: Any) -> types.Job:
        """Queues a training job.

        Args:
            model: Model name.
            **options: kind ("ease", "dot", "two_tower", "ranking" or "ranking_context"),
                objective ("retrieval" or "rating"), dataset ("ml-100k"), split ("u1"),
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
        return self._call("Train", _train_request(model, options), convert.job)

    def get_job(self, job_id: str) -> types.Job:
        """The job's current state. Raises NotFoundError."""
        return self._call("GetJob", trainer_pb2.GetJobRequest(job_id=job_id), convert.job)

    def cancel_job(self, job_id: str) -> types.Job:
        """Cancels a queued or running job; it publishes nothing. UnavailableError: the
        trainer cannot record the cancel now, and the job goes on."""
        return self._call("CancelJob", trainer_pb2.CancelJobRequest(job_id=job_id), convert.job)

    def list_models(self, model: str = "") -> tuple[types.StoredModel, ...]:
        """Models in the store with their versions (newest first) and headline metrics."""
        request = trainer_pb2.ListModelsRequest(model_name=model)
        return self._call("ListModels", request, convert.stored_models)

    def list_jobs(
        self,
        model: str = "",
        states: Sequence[str] = (),
        page_size: int = 0,
        page_token: str = "",
    ) -> types.JobPage:
        """A page of the jobs the trainer remembers, newest first, also from its earlier
        runs; only of `model` and in `states` (e.g. ("RUNNING", "QUEUED")) when given.
        Pass the page's next_page_token for the next one."""
        request = _list_jobs_request(model, states, page_size, page_token)
        return self._call("ListJobs", request, convert.job_page)

    def watch_job(self, job_id: str) -> Iterator[types.JobEvent]:
        """Yields the job's events, from its current state until a final state. The stream
        has no deadline (training takes as long as it takes)."""
        try:
            request = trainer_pb2.WatchJobRequest(job_id=job_id)
            for event in self._rpc.start("WatchJob", request, timeout=None):
                yield convert.job_event(event)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    def get_artifact(self, model: str, name: str, version: int = 0) -> types.Artifact:
        """One file a version lists in StoredVersion.artifacts (e.g. "loss.png"), streamed
        and checked against its sha256; version 0 means the newest.

        Raises:
            NotFoundError: no such model, version or artifact.
            DataLossError: the bytes do not match their checksum.
        """
        request = trainer_pb2.GetArtifactRequest(model_name=model, version=version, name=name)
        try:
            return convert.artifact(model, self._rpc.start("GetArtifact", request))
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    def wait(
        self, job_id: str, on_event: Callable[[types.JobEvent], None] = lambda e: None
    ) -> types.Job:
        """Follows a job until it ends, calling on_event for each event; returns the job."""
        job = None
        for event in self.watch_job(job_id):
            on_event(event)
            job = event.job
        return job if job is not None and job.done else self.get_job(job_id)


class AsyncTrainerClient(_AsyncClient):
    """Asyncio client of the trainer service: TrainerClient's methods as coroutines (and
    watch_job as an async iterator). Arguments as ServingClient."""

    _stub_class = trainer_pb2_grpc.TrainerServiceStub

    def __init__(self, target: str | Sequence[str] = DEFAULT_TRAINER, **options: Any):
        super().__init__(target, **options)

    async def train(self, model: str, **options: Any) -> types.Job:
        """See TrainerClient.train."""
        return await self._call("Train", _train_request(model, options), convert.job)

    async def get_job(self, job_id: str) -> types.Job:
        """See TrainerClient.get_job."""
        request = trainer_pb2.GetJobRequest(job_id=job_id)
        return await self._call("GetJob", request, convert.job)

    async def cancel_job(self, job_id: str) -> types.Job:
        """See TrainerClient.cancel_job."""
        request = trainer_pb2.CancelJobRequest(job_id=job_id)
        return await self._call("CancelJob", request, convert.job)

    async def list_models(self, model: str = "") -> tuple[types.StoredModel, ...]:
        """See TrainerClient.list_models."""
        request = trainer_pb2.ListModelsRequest(model_name=model)
        return await self._call("ListModels", request, convert.stored_models)

    async def list_jobs(
        self,
        model: str = "",
        states: Sequence[str] = (),
        page_size: int = 0,
        page_token: str = "",
    ) -> types.JobPage:
        """See TrainerClient.list_jobs."""
        request = _list_jobs_request(model, states, page_size, page_token)
        return await self._call("ListJobs", request, convert.job_page)

    async def watch_job(self, job_id: str) -> AsyncIterator[types.JobEvent]:
        """See TrainerClient.watch_job."""
        call = self._rpc.start("WatchJob", trainer_pb2.WatchJobRequest(job_id=job_id), None)
        try:
            async for event in call:
                yield convert.job_event(event)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        finally:
            call.cancel()

    async def wait(
        self,
        job_id: str,
        on_event: Callable[[types.JobEvent], Awaitable[None] | None] = lambda e: None,
    ) -> types.Job:
        """See TrainerClient.wait (on_event may also be a coroutine function)."""
        job = None
        async for event in self.watch_job(job_id):
            outcome = on_event(event)
            if asyncio.iscoroutine(outcome):
                await outcome
            job = event.job
        return job if job is not None and job.done else await self.get_job(job_id)


__all__ = ["AsyncServingClient", "AsyncTrainerClient", "ServingClient", "TrainerClient"]
