"""Generates the Python protobuf and gRPC modules from protos/ (the one way to make them)."""

import argparse
import pathlib
import sys

from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"


def generate(out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Runs protoc over every .proto under protos/ into out_dir.

    Args:
        out_dir: Folder receiving movierec/v1/*_pb2.py, *_pb2.pyi and *_pb2_grpc.py.

    Returns:
        The .proto files compiled.

    Raises:
        RuntimeError: protoc failed.
    """
    protos = sorted(PROTO_ROOT.rglob("*.proto"))
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *(str(p.relative_to(PROTO_ROOT)) for p in protos),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed; see its message above")
    return protos


def main() -> int:
    """Command-line entry: regenerate into the repository (or --out)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=pathlib.Path, default=ROOT)
    args = parser.parse_args()
    for proto in generate(args.out):
        print(f"generated from {proto.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
