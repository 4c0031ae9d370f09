"""`movierec dataset import|list|show`: local commands, no service, over the data folder the
trainer reads; the work is movierec.data.imports' (imported when a command runs)."""

from __future__ import annotations

import argparse
import json
import pathlib
from typing import Any

_DATA_DIR_HELP = (
    "the data folder, where the trainer finds datasets (default MOVIEREC_DATA_DIR, else"
    " ~/.cache/movierec)"
)


def _need_full_package() -> None:
    """Raises ValueError (exit 2, one line) where only the SDK is installed: datasets are
    imported by the full movierec package, on the machine whose data folder they go to."""
    from movierec_client.cli import needs_full_package

    missing = needs_full_package("dataset")
    if missing:
        raise ValueError(missing)


def add_dataset_commands(sub: Any) -> None:
    """Adds `dataset` and its actions to the subcommands `sub` of the movierec parser."""
    dataset = sub.add_parser(
        "dataset", help="import your own interactions as a dataset; list and show datasets"
    )
    actions = dataset.add_subparsers(dest="action", required=True)
    imported = actions.add_parser(
        "import",
        help="import interactions (and items) from CSV, TSV or Parquet",
        description="Imports a file of interactions as dataset NAME, which `movierec train"
        " --dataset NAME` then trains on (docs/own-data.md). Bad input exits 2 naming the"
        " file, line and column, and writes nothing.",
    )
    imported.add_argument("name", help="the dataset's name: letters, digits, '.', '_', '-'")
    imported.add_argument(
        "--interactions",
        required=True,
        metavar="FILE",
        help="delimited text with a header (CSV, TSV, any one-character separator; gzip or"
        " not; UTF-8; LF or CRLF) or Parquet",
    )
    imported.add_argument("--user-column", required=True, help="column of user ids (int64)")
    imported.add_argument("--item-column", required=True, help="column of item ids (int64)")
    feedback = imported.add_mutually_exclusive_group()
    feedback.add_argument("--rating-column", help="column of ratings: explicit feedback")
    feedback.add_argument(
        "--weight-column",
        help="column of weights >= 0 such as play counts: implicit feedback (without a rating"
        " or weight column, every interaction is implicit feedback of weight 1)",
    )
    imported.add_argument(
        "--time-column",
        help="column of times, integer unix seconds or ISO-8601: needed by --split temporal"
        " and --split last",
    )
    imported.add_argument(
        "--separator",
        help="one character, for both files; '\\t' or 'tab' for a tab (default: a tab when"
        " the header holds one, else a comma)",
    )
    imported.add_argument("--items", metavar="FILE", help="an items file (same formats)")
    imported.add_argument("--items-id-column", help="its column of item ids")
    imported.add_argument("--title-column", help="its column of titles")
    imported.add_argument("--genres-column", help="its column of genres (genre cold start)")
    imported.add_argument(
        "--genre-separator", default="|", help="what separates genres in a field (default |)"
    )
    imported.add_argument("--data-dir", help=_DATA_DIR_HELP)
    imported.add_argument(
        "--replace", action="store_true", help="replace a dataset of the same name"
    )
    imported.add_argument("--json", action="store_true", help="print the manifest as JSON")
    imported.set_defaults(handler=cmd_import)

    listed = actions.add_parser("list", help="the datasets imported into the data folder")
    listed.add_argument("--data-dir", help=_DATA_DIR_HELP)
    listed.add_argument("--json", action="store_true", help="print JSON")
    listed.set_defaults(handler=cmd_list)

    shown = actions.add_parser("show", help="an imported dataset's manifest")
    shown.add_argument("name", help="the imported dataset's name")
    shown.add_argument("--data-dir", help=_DATA_DIR_HELP)
    shown.add_argument("--json", action="store_true", help="print the manifest as JSON")
    shown.set_defaults(handler=cmd_show)


def cmd_import(args: argparse.Namespace) -> str:
    """Imports a dataset (movierec.data.imports.importer); bad input is a ValueError (exit 2)."""
    _need_full_package()
    from movierec.data.admin import DatasetError, ImportSpec, import_dataset

    spec = ImportSpec(
        name=args.name,
        interactions=pathlib.Path(args.interactions),
        user_column=args.user_column,
        item_column=args.item_column,
        rating_column=args.rating_column,
        weight_column=args.weight_column,
        time_column=args.time_column,
        separator=args.separator,
        items=pathlib.Path(args.items) if args.items else None,
        items_id_column=args.items_id_column,
        title_column=args.title_column,
        genres_column=args.genres_column,
        genre_separator=args.genre_separator,
        replace=args.replace,
    )
    try:
        manifest = import_dataset(spec, args.data_dir)
    except DatasetError as error:
        raise ValueError(str(error)) from None
    if args.json:
        return json.dumps(manifest, indent=2)
    return f"imported {manifest['name']} into {_root(args)}\n" + summary(manifest)


def summary(manifest: dict[str, Any]) -> str:
    """A few lines on an imported dataset: its feedback, counts, what it offers."""
    if manifest["feedback"] == "implicit":
        weight = manifest["schema"]["weight"]["from"]
        feedback = f"implicit, weighted by column {weight!r}" if weight else "implicit"
        merged = "weights summed"
    else:
        low, high = manifest["rating_scale"]
        feedback = f"ratings from {low:g} to {high:g}"
        merged = "latest rating kept"
    times = "yes" if manifest["has_timestamps"] else "none (no --split temporal or last)"
    genres = len(manifest["genres"])
    return "\n".join(
        [
            f"  {manifest['rows']:,} interactions ({feedback}) of {manifest['users']:,} users"
            f" and {manifest['items']:,} items",
            f"  {manifest['duplicates_merged']:,} duplicate (user, item) rows merged ({merged})",
            f"  timestamps: {times}",
            f"  genres: {genres if genres else 'none (no genre cold start)'};"
            f" items titled by an items file: {manifest['items_titled']:,}",
        ]
    )


def _root(args: argparse.Namespace) -> pathlib.Path:
    _need_full_package()
    from movierec.data.admin import data_root

    return data_root(args.data_dir)


def cmd_list(args: argparse.Namespace) -> str:
    """The datasets imported into the data folder, one row each."""
    from movierec_client.commands import _table

    _need_full_package()
    from movierec.data.admin import list_imported

    found = list_imported(_root(args))
    if args.json:
        return json.dumps({name: manifest for name, manifest in found}, indent=2)
    if not found:
        return f"no dataset imported into {_root(args)} (movierec dataset import)"
    headers = ("name", "feedback", "interactions", "users", "items", "times", "genres", "imported")
    rows = [
        (
            name,
            m["feedback"],
            f"{m['rows']:,}",
            f"{m['users']:,}",
            f"{m['items']:,}",
            "yes" if m["has_timestamps"] else "no",
            len(m["genres"]),
            m["imported_at"],
        )
        for name, m in found
    ]
    return f"data folder {_root(args)}\n" + _table(headers, rows)


def cmd_show(args: argparse.Namespace) -> str:
    """An imported dataset's manifest: a summary, or all of it as JSON."""
    _need_full_package()
    from movierec.data.admin import DatasetError, is_imported, read_manifest

    folder = _root(args) / args.name
    if not is_imported(folder):
        raise ValueError(f"no dataset {args.name!r} is imported into {_root(args)}")
    try:
        manifest = read_manifest(folder)
    except DatasetError as error:
        raise ValueError(str(error)) from None
    if args.json:
        return json.dumps(manifest, indent=2)
    sources = manifest["sources"]
    lines = [
        f"{manifest['name']} in {folder}, imported {manifest['imported_at']}",
        summary(manifest),
    ]
    for role, source in sources.items():
        lines.append(
            f"  {role}: {source['path']} ({source['bytes']:,} bytes, sha256 {source['sha256']})"
        )
    return "\n".join(lines)
