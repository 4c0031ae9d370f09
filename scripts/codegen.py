"""Generates the Python protobuf and gRPC modules from protos/ (the one way to make them).

protoc names the modules after the .proto paths (movierec/v1/serving.proto imports
`from movierec.v1 import common_pb2`); they ship in the SDK as movierec_client/v1, so the
imports between them are made relative, as protoletariat does, and nothing else changes.
"""

import argparse
import pathlib
import re
import sys
import tempfile

from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PROTO_PACKAGE = "movierec/v1"
"""Folder of the .proto files under protos/ (and of protoc's output)."""
OUT_PACKAGE = pathlib.Path("client/movierec_client/v1")
"""Where the modules go, relative to the output root (the repository by default)."""
_ABSOLUTE_IMPORT = re.compile(r"^from movierec\.v1 import ", re.MULTILINE)


def generate(out_root: pathlib.Path) -> list[pathlib.Path]:
    """Runs protoc over every .proto under protos/ and writes the modules to
    out_root / OUT_PACKAGE, their imports of each other relative.

    Args:
        out_root: Folder receiving client/movierec_client/v1/*_pb2.py, *_pb2.pyi and
            *_pb2_grpc.py.

    Returns:
        The .proto files compiled.

    Raises:
        RuntimeError: protoc failed.
    """
    protos = sorted(PROTO_ROOT.rglob("*.proto"))
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    out = out_root / OUT_PACKAGE
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as raw:
        args = [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{include}",
            f"--python_out={raw}",
            f"--pyi_out={raw}",
            f"--grpc_python_out={raw}",
            *(str(p.relative_to(PROTO_ROOT)) for p in protos),
        ]
        if protoc.main(args) != 0:
            raise RuntimeError("protoc failed; see its message above")
        for path in sorted((pathlib.Path(raw) / PROTO_PACKAGE).iterdir()):
            text = _ABSOLUTE_IMPORT.sub("from . import ", path.read_text())
            (out / path.name).write_text(text)
    return protos


def main() -> int:
    """Command-line entry: regenerate into the repository (or under --out)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=pathlib.Path, default=ROOT, help="output root")
    args = parser.parse_args()
    for proto in generate(args.out):
        print(f"generated from {proto.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
