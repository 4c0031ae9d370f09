"""Domain errors, defined once; each service maps them to a gRPC status in one place."""


class MovierecError(Exception):
    """Base of every error movierec raises on purpose."""


class InvalidRequest(MovierecError, ValueError):
    """The request is malformed or out of range (maps to INVALID_ARGUMENT)."""


class NotFound(MovierecError, LookupError):
    """A named thing does not exist (maps to NOT_FOUND); the message names it."""


class UnknownUser(NotFound):
    """A raw user id the model was not trained on."""

    def __init__(self, user_id: int):
        super().__init__(f"unknown user id {user_id}")
        self.user_id = user_id


class UnknownItem(NotFound):
    """A raw item id the model does not know."""

    def __init__(self, item_id: int):
        super().__init__(f"unknown item id {item_id}")
        self.item_id = item_id


class UnknownModel(NotFound):
    """A model name with no version in the store."""

    def __init__(self, name: str):
        super().__init__(f"unknown model {name!r}")
        self.name = name


class UnknownVersion(NotFound):
    """A version number that the store or the server does not have."""

    def __init__(self, name: str, version: int, detail: str = ""):
        message = f"model {name!r} has no version {version}"
        super().__init__(f"{message} ({detail})" if detail else message)
        self.name = name
        self.version = version


class UnknownJob(NotFound):
    """A job id the trainer never issued."""

    def __init__(self, job_id: str):
        super().__init__(f"unknown job id {job_id!r}")
        self.job_id = job_id


class ModelNotReady(MovierecError):
    """No version of the model is loaded yet (maps to UNAVAILABLE)."""


class Unavailable(MovierecError):
    """The service cannot do this now for a reason that may pass, such as job records
    another process holds locked; nothing was changed, so the call may be retried (maps to
    UNAVAILABLE)."""


class QueueFull(MovierecError):
    """The job queue, or the number of job watchers, is at capacity (maps to
    RESOURCE_EXHAUSTED)."""


class PolicyConflict(MovierecError):
    """A serving policy cannot be changed here: a flag fixes it, or the store is read-only
    (maps to FAILED_PRECONDITION)."""


class IncompatibleVersions(MovierecError):
    """Two versions that must work together cannot: a ranking version's candidate source
    was trained for another objective or on other data (maps to FAILED_PRECONDITION)."""


class CorruptVersion(MovierecError):
    """A stored version is incomplete or fails its checksums; it is never loaded."""


class DatasetError(MovierecError):
    """A dataset could not be found, downloaded, verified or parsed."""
