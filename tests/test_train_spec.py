import pytest

from movierec.errors import InvalidRequest
from movierec.kinds import KINDS
from movierec.kinds.dot import DotParams
from movierec.kinds.ease import EaseParams
from movierec.training.spec import Hyperparameters, TrainSpec, build_train_spec


def test_defaults_fill_in():
    spec = build_train_spec("m")
    assert (spec.kind, spec.dataset, spec.split, spec.seed) == ("ease", "ml-100k", "u1", 42)
    assert spec.objective == "retrieval"
    assert spec.hyperparameters == Hyperparameters(**Hyperparameters.defaults("retrieval"))
    assert spec.kind_params == EaseParams()
    assert TrainSpec.from_dict(spec.to_dict()) == spec
    # ease ranks but does not predict: asking for ratings alone trains dot
    rating = build_train_spec("m", objective="rating")
    assert rating.kind == "dot"
    assert rating.hyperparameters == Hyperparameters() and rating.kind_params == DotParams()


def test_every_registered_kind_round_trips_with_its_defaults():
    for kind in KINDS:
        for objective in KINDS[kind].objectives:
            spec = build_train_spec("m", kind=kind, objective=objective)
            assert spec.kind == kind and TrainSpec.from_dict(spec.to_dict()) == spec


def test_deprecated_shared_fields_reach_the_kind():
    spec = build_train_spec("m", kind="dot", hyperparameters={"embedding_dim": 8, "l2": 0.2})
    assert (spec.kind_params.embedding_dim, spec.kind_params.l2) == (8, 0.2)
    two_tower = build_train_spec("m", kind="two_tower", hyperparameters={"l2": 0.2})
    assert two_tower.kind_params.l2 == 0.2


def test_random_split_takes_its_test_fraction():
    spec = build_train_spec("m", split="random", test_fraction=0.1, seed=3)
    assert (spec.split, spec.test_fraction, spec.seed) == ("random", 0.1, 3)


def test_overrides_apply_and_none_is_ignored():
    spec = build_train_spec("m", kind="dot", hyperparameters={"epochs": 3, "l2": None})
    assert spec.hyperparameters.epochs == 3
    assert spec.kind_params.l2 == DotParams.defaults("retrieval")["l2"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"model_name": "bad name"}, "bad model name"),
        ({"kind": "svd"}, "unknown model kind 'svd'"),
        ({"dataset": "ml-7k"}, "unknown dataset 'ml-7k'"),
        ({"split": "u9"}, "unknown split 'u9'"),
        ({"test_fraction": 1.5}, "test_fraction"),
        ({"split": "random", "test_fraction": 1e-7}, "test_fraction must be 0.01 to 0.5"),
        ({"split": "random", "test_fraction": 0.99999}, "test_fraction must be 0.01 to 0.5"),
        ({"model_name": "films\n"}, "bad model name"),
        ({"hyperparameters": {"epochs": -1}}, "epochs must be 1 to 1000, got -1"),
        ({"hyperparameters": {"learning_rate": -0.1}}, "learning_rate must be > 0"),
        ({"hyperparameters": {"learning_rate": 0.0}}, "learning_rate must be > 0"),
        ({"hyperparameters": {"embedding_dim": 0}}, "embedding_dim"),
        ({"objective": "rating", "hyperparameters": {"output": "relu"}}, "output must be one of"),
        ({"hyperparameters": {"validation_fraction": 0.9}}, "validation_fraction"),
        ({"hyperparameters": {"dropout": 0.1}}, "'dropout' does not apply to kind 'dot'"),
        ({"objective": "clicks"}, "unknown objective 'clicks'"),
        ({"kind_params": {"layers": [8]}}, "unknown DotParams fields: layers"),
        ({"kind_params": {}, "kind_params_for": "two_tower"}, "two_tower hyperparameters were"),
        ({"kind": "two_tower", "hyperparameters": {"embedding_dim": 8}}, "does not apply"),
        ({"kind": "two_tower", "kind_params": {"layers": []}}, "layers must hold 1 to 4"),
        ({"kind": "two_tower", "kind_params": {"layers": [0]}}, "layer widths must be"),
        ({"kind": "two_tower", "kind_params": {"temperature": 0.0}}, "temperature"),
        ({"objective": "retrieval", "kind_params": {"output": "sigmoid"}}, "rating objective"),
        ({"hyperparameters": {"num_negatives": 0}}, "num_negatives"),
        ({"hyperparameters": {"num_negatives": 1024}}, "1 to 1000 with negative_sharing 'exa"),
        (
            {"hyperparameters": {"negative_sharing": "batch", "num_negatives": 100_001}},
            "num_negatives must be 1 to 100000 with negative_sharing 'batch'",
        ),
        ({"hyperparameters": {"negative_sharing": "row"}}, "negative_sharing must be one of"),
        ({"hyperparameters": {"negative_sampling": "x"}}, "negative_sampling"),
        ({"hyperparameters": {"retrieval_loss": "x"}}, "retrieval_loss"),
        ({"hyperparameters": {"rating_loss": "huber"}}, "rating_loss must be one of"),
        ({"hyperparameters": {"optimizer": "lbfgs"}}, "optimizer must be one of"),
        (
            {"hyperparameters": {"embedding_dim": 8}, "kind_params": {"embedding_dim": 9}},
            "embedding_dim is given twice",
        ),
        ({"seed": -1}, "seed must be 0 to 4294967295, got -1"),
        ({"split": "u2", "test_fraction": 0.1}, "test_fraction applies to splits random and"),
        ({"split": "last", "test_fraction": 0.1}, "split 'last' holds out a fixed part"),
        ({"seed": 2**32}, "seed must be 0 to"),
        ({"hyperparameters": {"learning_rate": float("nan")}}, "learning_rate"),
        ({"kind": "ease", "objective": "rating"}, "kind 'ease' trains the retrieval objective"),
        ({"kind": "ease", "kind_params": {"l2": -1.0}}, "l2 must be 0 .chosen on validation."),
        ({"kind": "ease", "kind_params": {"l2": float("nan")}}, "l2 must be 0"),
        ({"kind": "ease", "kind_params": {"low_rating_weight": 0.0}}, "low_rating_weight"),
        ({"kind": "ease", "hyperparameters": {"workers": 2}}, "closed form in one process"),
        ({"kind": "ease", "hyperparameters": {"embedding_dim": 8}}, "does not apply"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(arguments, message):
    arguments = {"model_name": "m", "kind": "dot", **arguments}
    with pytest.raises(InvalidRequest, match=message):
        build_train_spec(**arguments)


@pytest.mark.parametrize(
    ("given", "negatives"),
    [
        ({}, 16),
        ({"negative_sharing": "example"}, 16),
        ({"negative_sharing": "batch"}, 1024),
        ({"negative_sharing": "batch", "num_negatives": 300}, 300),
        ({"negative_sharing": "example", "num_negatives": 40}, 40),
    ],
)
def test_num_negatives_left_out_follows_the_sharing(given, negatives):
    spec = build_train_spec("m", kind="dot", hyperparameters=given)
    assert spec.hyperparameters.num_negatives == negatives


def test_two_tower_retrieval_shares_a_pool_of_negatives_by_default():
    spec = build_train_spec("m", kind="two_tower")
    assert spec.hyperparameters.negative_sharing == "batch"
    assert spec.hyperparameters.num_negatives == 1024
    spec = build_train_spec("m", kind="two_tower", hyperparameters={"negative_sharing": "example"})
    assert spec.hyperparameters.num_negatives == 16
    assert build_train_spec("m", kind="dot").hyperparameters.negative_sharing == "example"


@pytest.fixture
def own_data(tmp_path):
    """A data folder holding "plays" (implicit, no times) and "stars" (ratings, times)."""
    from movierec.data.imports.importer import ImportSpec, import_dataset

    (tmp_path / "plays.csv").write_text("u,i,n\n1,1,3\n2,1,1\n")
    (tmp_path / "stars.csv").write_text("u,i,r,t\n1,1,4,10\n2,1,2,20\n")
    import_dataset(
        ImportSpec("plays", tmp_path / "plays.csv", "u", "i", weight_column="n"), tmp_path
    )
    import_dataset(
        ImportSpec("stars", tmp_path / "stars.csv", "u", "i", "r", time_column="t"), tmp_path
    )
    return tmp_path


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"objective": "rating"}, "dataset plays holds implicit feedback .* the rating objective"),
        ({"kind": "dot", "objective": "rating"}, "train kind 'dot' for retrieval"),
        ({"kind": "ranking"}, "kind 'ranking' trains the rating objective only"),
        ({"split": "temporal"}, "split 'temporal' holds out by time.*no timestamps"),
        ({"split": "last"}, "split 'last' holds out by time"),
        (
            {"kind": "dot", "hyperparameters": {"min_positive_rating": 4}},
            "min_positive_rating does not apply to dataset plays",
        ),
        ({"dataset": "nothing"}, "unknown dataset 'nothing'.*imported into .*: plays, stars"),
    ],
)
def test_an_implicit_dataset_without_times_refuses_what_needs_ratings_or_times(
    own_data, arguments, message
):
    with pytest.raises(InvalidRequest, match=message):
        build_train_spec("m", **{"dataset": "plays", "data_dir": own_data, **arguments})


def test_imported_datasets_train_what_their_data_allows(own_data):
    # implicit: every interaction is a positive, whatever the objective's default says
    spec = build_train_spec("m", kind="dot", dataset="plays", data_dir=own_data)
    assert spec.objective == "retrieval" and spec.hyperparameters.min_positive_rating == 0
    rated = build_train_spec("m", kind="dot", dataset="stars", split="last", data_dir=own_data)
    assert rated.hyperparameters.min_positive_rating == 3.0
    timed = build_train_spec(
        "m", dataset="stars", split="temporal", test_fraction=0.3, data_dir=own_data
    )
    assert (timed.split, timed.test_fraction) == ("temporal", 0.3)
    assert (
        build_train_spec("m", dataset="stars", objective="rating", data_dir=own_data).kind == "dot"
    )
