"""Typed clients of the serving and trainer services, sync and asyncio.

Each method builds its request once in a shared base class; the sync clients return the
result, the asyncio clients return an awaitable of the same result. Calls carry a deadline,
UNAVAILABLE is retried with backoff by gRPC's retry policy, and failures raise the
exceptions of client.errors.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import grpc

from client import convert, types
from client.channel import open_aio_channel, open_channel
from client.errors import (
    DeadlineExceededError,
    InvalidArgumentError,
    MovierecClientError,
    from_rpc_error,
)
from movierec.v1 import serving_pb2, serving_pb2_grpc, trainer_pb2, trainer_pb2_grpc

DEFAULT_SERVING = "127.0.0.1:50052"
DEFAULT_TRAINER = "127.0.0.1:50051"


def _checked(method):
    """Turns a ValueError or TypeError raised while building a request (an id outside
    int64, a string where a number belongs) into InvalidArgumentError, as the server would."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except (ValueError, TypeError) as error:
            raise InvalidArgumentError(f"bad request: {error}") from None

    return wrapper


class _Client:
    """Channel, deadline, token and the one place calls are made and errors translated."""

    _stub_class: Callable[[Any], Any]
    _aio = False

    def __init__(
        self,
        target: str | Sequence[str],
        *,
        timeout: float = 10.0,
        max_attempts: int = 4,
        token: str | None = None,
    ):
        opener = open_aio_channel if self._aio else open_channel
        self._channel = opener(target, max_attempts)
        self._stub = self._stub_class(self._channel)
        self.timeout = timeout
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None

    def _invoke(self, method: str, request, convert_response):
        try:
            response = getattr(self._stub, method)(
                request, timeout=self.timeout, metadata=self._metadata
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return convert_response(response)


class _AsyncClient(_Client):
    _aio = True

    async def _invoke(self, method: str, request, convert_response):
        try:
            response = await getattr(self._stub, method)(
                request, timeout=self.timeout, metadata=self._metadata
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return convert_response(response)

    async def close(self) -> None:
        """Closes the channel."""
        await self._channel.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()


class _SyncClient(_Client):
    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


_NOT_YET = ("UNAVAILABLE", "NOT_FOUND")


def _not_served(model: str, version: int, timeout: float) -> DeadlineExceededError:
    return DeadlineExceededError(
        f"model {model!r} did not serve version {version} within {timeout:.0f}s"
    )


async def _serving_status_or_none(status_call) -> types.ModelStatus | None:
    try:
        (status,) = await status_call
    except MovierecClientError as error:
        if error.code not in _NOT_YET:
            raise
        return None
    return status


class _ServingMethods(_Client):
    _stub_class = serving_pb2_grpc.ServingServiceStub

    @_checked
    def predict(
        self, model: str, pairs: Sequence[tuple[int, int]], *, version: int | None = None
    ) -> types.Predictions:
        """Predicted ratings for (user_id, item_id) pairs of raw ids, in order.

        Raises:
            NotFoundError: an unknown model, version, user or item.
            InvalidArgumentError: an empty or oversized batch.
            UnavailableError: no version loaded yet.
        """
        return self._invoke(
            "Predict", convert.predict_request(model, pairs, version), convert.predictions
        )

    @_checked
    def recommend(
        self,
        model: str,
        user_id: int,
        k: int = 10,
        *,
        include_seen: bool = False,
        exclude: Sequence[int] = (),
        version: int | None = None,
    ) -> types.Recommendations:
        """Top-k items for a user (raw id), excluding the items the user rated in training
        (unless include_seen) and `exclude`.

        Raises:
            NotFoundError: an unknown model, version or user.
            InvalidArgumentError: k out of range.
        """
        request = serving_pb2.RecommendRequest(
            model=convert.model_spec(model, version),
            user_id=user_id,
            k=k,
            include_seen=include_seen,
            exclude_item_ids=list(exclude),
        )
        return self._invoke("Recommend", request, convert.recommendations)

    @_checked
    def similar_items(
        self, model: str, item_id: int, k: int = 10, *, version: int | None = None
    ) -> types.Recommendations:
        """Top-k items by cosine similarity to an item (raw id); score is the similarity."""
        request = serving_pb2.SimilarItemsRequest(
            model=convert.model_spec(model, version), item_id=item_id, k=k
        )
        return self._invoke("SimilarItems", request, convert.recommendations)

    @_checked
    def metrics(
        self,
        model: str,
        *,
        version: int | None = None,
        k: int = 0,
        baseline_version: int | None = None,
    ) -> types.MetricsReport:
        """Evaluation of a version on its held-out split, optionally beside a baseline."""
        request = serving_pb2.MetricsRequest(model=convert.model_spec(model, version), k=k)
        if baseline_version is not None:
            request.baseline.CopyFrom(convert.model_spec(model, baseline_version))
        return self._invoke("Metrics", request, convert.metrics_report)

    @_checked
    def status(self, model: str = "") -> tuple[types.ModelStatus, ...]:
        """Serving state of one model, or of every model when `model` is empty."""
        request = serving_pb2.GetModelStatusRequest(model_name=model)
        return self._invoke("GetModelStatus", request, convert.model_statuses)


class ServingClient(_ServingMethods, _SyncClient):
    """Sync client of the serving service; a context manager.

    Args:
        target: "host:port", "dns:///name:port", or a list of "host:port" balanced
            round-robin.
        timeout: Deadline of each call, seconds.
        max_attempts: Attempts per call on UNAVAILABLE (1 disables retries).
        token: Bearer token, where the server requires one.
    """

    def __init__(self, target: str | Sequence[str] = DEFAULT_SERVING, **options):
        super().__init__(target, **options)

    def wait_for_version(
        self, model: str, version: int = 1, timeout: float = 60.0, interval: float = 0.2
    ) -> types.ModelStatus:
        """Polls GetModelStatus until the model serves `version` or newer.

        Raises:
            DeadlineExceededError: not served within `timeout` seconds.
        """
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


class AsyncServingClient(_ServingMethods, _AsyncClient):
    """Asyncio client of the serving service: ServingClient's methods, each awaitable; an
    async context manager. Same arguments as ServingClient.
    """

    def __init__(self, target: str | Sequence[str] = DEFAULT_SERVING, **options):
        super().__init__(target, **options)

    async def wait_for_version(
        self, model: str, version: int = 1, timeout: float = 60.0, interval: float = 0.2
    ) -> types.ModelStatus:
        """Polls GetModelStatus until the model serves `version` or newer.

        Raises:
            DeadlineExceededError: not served within `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            status = await _serving_status_or_none(self.status(model))
            if status is not None and status.serving_version >= version:
                return status
            if time.monotonic() > deadline:
                raise _not_served(model, version, timeout)
            await asyncio.sleep(interval)


class _TrainerMethods(_Client):
    _stub_class = trainer_pb2_grpc.TrainerServiceStub

    @_checked
    def train(
        self,
        model: str,
        *,
        kind: str = "dot",
        dataset: str = "ml-100k",
        split: str = "u1",
        seed: int | None = None,
        test_fraction: float = 0.0,
        **hyperparameters: Any,
    ) -> types.Job:
        """Queues a training job; hyperparameters left out take the server's defaults.

        Raises:
            InvalidArgumentError: bad name, kind, dataset, split or hyperparameter.
            ResourceExhaustedError: the job queue is full.
        """
        request = convert.train_request(
            model, kind, dataset, split, seed, test_fraction, hyperparameters
        )
        return self._invoke("Train", request, convert.job)

    @_checked
    def get_job(self, job_id: str) -> types.Job:
        """The job's current state. Raises NotFoundError."""
        return self._invoke("GetJob", trainer_pb2.GetJobRequest(job_id=job_id), convert.job)

    @_checked
    def cancel_job(self, job_id: str) -> types.Job:
        """Cancels a queued or running job; it publishes nothing."""
        return self._invoke("CancelJob", trainer_pb2.CancelJobRequest(job_id=job_id), convert.job)

    @_checked
    def list_models(self, model: str = "") -> tuple[types.StoredModel, ...]:
        """Models in the store with their versions (newest first) and headline metrics."""
        request = trainer_pb2.ListModelsRequest(model_name=model)
        return self._invoke("ListModels", request, convert.stored_models)


class TrainerClient(_TrainerMethods, _SyncClient):
    """Sync client of the trainer service; a context manager. Arguments as ServingClient."""

    def __init__(self, target: str | Sequence[str] = DEFAULT_TRAINER, **options):
        super().__init__(target, **options)

    def watch_job(self, job_id: str) -> Iterator[types.JobEvent]:
        """Yields the job's events, from its current state until a final state.

        The stream has no deadline (training takes as long as it takes).
        """
        try:
            for event in self._stub.WatchJob(
                trainer_pb2.WatchJobRequest(job_id=job_id), metadata=self._metadata
            ):
                yield convert.job_event(event)
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


class AsyncTrainerClient(_TrainerMethods, _AsyncClient):
    """Asyncio client of the trainer service: TrainerClient's methods, each awaitable."""

    def __init__(self, target: str | Sequence[str] = DEFAULT_TRAINER, **options):
        super().__init__(target, **options)

    async def watch_job(self, job_id: str) -> AsyncIterator[types.JobEvent]:
        """Async-iterates the job's events until a final state."""
        call = self._stub.WatchJob(
            trainer_pb2.WatchJobRequest(job_id=job_id), metadata=self._metadata
        )
        try:
            async for event in call:
                yield convert.job_event(event)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        except asyncio.CancelledError:
            call.cancel()
            raise

    async def wait(
        self, job_id: str, on_event: Callable[[types.JobEvent], None] = lambda e: None
    ) -> types.Job:
        """Follows a job until it ends, calling on_event for each event; returns the job."""
        job = None
        async for event in self.watch_job(job_id):
            on_event(event)
            job = event.job
        return job if job is not None and job.done else await self.get_job(job_id)


__all__ = [
    "AsyncServingClient",
    "AsyncTrainerClient",
    "ServingClient",
    "TrainerClient",
]
