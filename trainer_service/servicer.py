"""TrainerService servicer: protobuf in, job manager or store call, protobuf out."""

from __future__ import annotations

import dataclasses
from typing import Any

from movierec.errors import InvalidRequest
from movierec.kinds.versions import VersionAudit
from movierec.store.model_store import ModelStore, check_model_name
from movierec.training.spec import EpochReport, TrainSpec, build_train_spec
from movierec_client.v1 import trainer_pb2, trainer_pb2_grpc
from trainer_service.jobs import Job, JobManager, JobState, page_of

_KIND_HYPERPARAMETERS = "kind_hyperparameters"


def _set_fields(message, values: dict[str, Any]) -> None:
    """Fills set fields of `message` from a plain dict (repeated fields extended)."""
    message.SetInParent()
    for name, value in values.items():
        if isinstance(value, list | tuple):
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)


def _fields(message) -> dict[str, Any]:
    """The set fields of a message as a plain dict (repeated ones as lists)."""
    return {
        field.name: list(value) if field.is_repeated else value
        for field, value in message.ListFields()
    }


def spec_from_request(request: trainer_pb2.TrainRequest, data_dir: str | None = None) -> TrainSpec:
    """Validated TrainSpec of a TrainRequest (unset optional fields take defaults); an
    imported dataset is looked for in data folder `data_dir` (None: the environment's)."""
    chosen = request.WhichOneof(_KIND_HYPERPARAMETERS)
    return build_train_spec(
        model_name=request.model_name,
        kind=request.kind,
        objective=request.objective,
        dataset=request.dataset.name,
        split=request.dataset.split,
        test_fraction=request.dataset.test_fraction,
        seed=request.dataset.seed if request.dataset.HasField("seed") else None,
        hyperparameters=_fields(request.hyperparameters),
        kind_params=_fields(getattr(request, chosen)) if chosen else None,
        kind_params_for=chosen,
        data_dir=data_dir,
    )


def request_of(spec: TrainSpec) -> trainer_pb2.TrainRequest:
    """TrainRequest with every default filled in, as reported in a Job. The kind's
    hyperparameters go into the oneof field named after the kind.
    """
    request = trainer_pb2.TrainRequest(
        model_name=spec.model_name,
        kind=spec.kind,
        objective=spec.objective,
        dataset=trainer_pb2.DatasetSpec(
            name=spec.dataset, split=spec.split, test_fraction=spec.test_fraction, seed=spec.seed
        ),
        hyperparameters=trainer_pb2.Hyperparameters(**dataclasses.asdict(spec.hyperparameters)),
    )
    _set_fields(getattr(request, spec.kind), dataclasses.asdict(spec.kind_params))
    return request


def epoch_pb(report: EpochReport) -> trainer_pb2.EpochProgress:
    """EpochProgress message of an EpochReport."""
    return trainer_pb2.EpochProgress(**dataclasses.asdict(report))


def job_pb(job: Job) -> trainer_pb2.Job:
    """Job message of a Job."""
    return trainer_pb2.Job(
        job_id=job.job_id,
        request=request_of(job.spec),
        state=trainer_pb2.JobState.Value(job.state.value),
        error=job.error,
        version=job.version,
        epochs=[epoch_pb(e) for e in job.epochs],
        metrics=job.metrics,
        created_at_unix=job.created_at,
        started_at_unix=job.started_at,
        finished_at_unix=job.finished_at,
        max_seconds=job.max_seconds,
    )


class TrainerServicer(trainer_pb2_grpc.TrainerServiceServicer):
    """Translates TrainerService calls to a JobManager and a ModelStore."""

    def __init__(self, jobs: JobManager, store: ModelStore):
        self.jobs = jobs
        self.store = store
        self.audit = VersionAudit(store)

    def Train(self, request, context):
        """Validates and queues a job."""
        limit = request.max_seconds if request.HasField("max_seconds") else None
        spec = spec_from_request(request, self.jobs.data_dir)
        return job_pb(self.jobs.submit(spec, max_seconds=limit))

    def GetJob(self, request, context):
        """Current state of a job."""
        return job_pb(self.jobs.get(request.job_id))

    def WatchJob(self, request, context):
        """Streams a job's events until it ends or the client leaves."""
        for event in self.jobs.watch(request.job_id, context.is_active):
            yield trainer_pb2.JobEvent(
                job=job_pb(event.job), epoch=epoch_pb(event.epoch) if event.epoch else None
            )

    def CancelJob(self, request, context):
        """Cancels a job."""
        return job_pb(self.jobs.cancel(request.job_id))

    def ListJobs(self, request, context):
        """A page of the jobs the trainer remembers, newest first."""
        if request.model_name:
            check_model_name(request.model_name)
        states = set()
        for value in request.states:
            if value not in trainer_pb2.JobState.values() or value == 0:
                raise InvalidRequest(f"unknown job state {value}")
            states.add(JobState(trainer_pb2.JobState.Name(value)))
        page, token = page_of(
            self.jobs.list(request.model_name, states), request.page_size, request.page_token
        )
        return trainer_pb2.ListJobsResponse(jobs=[job_pb(j) for j in page], next_page_token=token)

    def ListModels(self, request, context):
        """Models in the store with their versions, states and headline metrics."""
        names = [request.model_name] if request.model_name else self.store.list_models()
        return trainer_pb2.ListModelsResponse(
            models=[
                trainer_pb2.ModelInfo(
                    name=name,
                    versions=[
                        trainer_pb2.VersionInfo(
                            version=v.version,
                            state=trainer_pb2.VersionInfo.READY
                            if v.ready
                            else trainer_pb2.VersionInfo.CORRUPT,
                            kind=v.kind,
                            objective=v.objective,
                            split=v.split,
                            metrics=v.metrics,
                            created_at_unix=v.created_at,
                            error=v.error,
                            artifacts=v.artifacts,
                        )
                        for v in self.audit.describe(name)
                    ],
                )
                for name in names
            ]
        )

    def GetArtifact(self, request, context):
        """Streams a file a version's manifest lists as an artifact."""
        artifact = self.store.open_artifact(request.model_name, request.version, request.name)
        first = True
        for data in artifact.chunks():
            if first:
                first = False
                yield trainer_pb2.ArtifactChunk(
                    version=artifact.version,
                    name=artifact.name,
                    content_type=artifact.content_type,
                    size=artifact.size,
                    sha256=artifact.sha256,
                    data=data,
                )
            else:
                yield trainer_pb2.ArtifactChunk(data=data)
