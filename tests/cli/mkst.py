#!/usr/bin/env python3
"""Write or dump safetensors files for the CLI tests, with the standard library only.

  mkst.py OUT.safetensors [--meta KEY=VALUE]... NAME DTYPE SHAPE EXPR [NAME DTYPE SHAPE EXPR]...
      DTYPE: F32 F64 I32 I64 U8; SHAPE: comma-separated dims ("64,20"); EXPR: a Python expression of the
      flat index i (and the multi-index ix, a tuple), e.g. "(i * 7) % 19 + 1" or "float('nan') if i == 3 else 0.5".
      Names may be given as NAME@FILE to read the values from another file's tensor instead (EXPR ignored).
  mkst.py --dump FILE.safetensors
      prints {"tensors": {name: {"dtype", "shape", "values"}}, "metadata": {...}} as JSON.
From Python: sys.path.insert(0, DIR); import mkst; mkst.write(path, {name: (dtype, shape, values)}, meta).
"""
import json
import math  # noqa: F401 (available to expressions)
import struct
import sys

FMT = {"F32": "f", "F64": "d", "I32": "i", "I64": "q", "U8": "B", "I8": "b", "I16": "h"}
SIZE = {"F32": 4, "F64": 8, "I32": 4, "I64": 8, "U8": 1, "I8": 1, "I16": 2}


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n :]
    out = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        count = (b - a) // SIZE[t["dtype"]]
        vals = list(struct.unpack("<%d%s" % (count, FMT[t["dtype"]]), data[a:b]))
        out[name] = {"dtype": t["dtype"], "shape": t["shape"], "values": vals}
    return out, meta


def multi(i, shape):
    ix = []
    for d in reversed(shape):
        ix.append(i % d if d else 0)
        i //= d if d else 1
    return tuple(reversed(ix))


def write(path, tensors, meta=None):
    """tensors: {name: (dtype, shape, flat values)}"""
    header, blobs, off = {}, [], 0
    for name, (dtype, shape, vals) in tensors.items():
        blob = struct.pack("<%d%s" % (len(vals), FMT[dtype]), *vals)
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    if meta:
        header["__metadata__"] = meta
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main(argv):
    if argv[1] == "--dump":
        tensors, meta = read(argv[2])
        json.dump({"tensors": tensors, "metadata": meta}, sys.stdout)
        print()
        return
    out, rest, meta = argv[1], argv[2:], {}
    while rest and rest[0] == "--meta":
        k, v = rest[1].split("=", 1)
        meta[k] = v
        rest = rest[2:]
    tensors = {}
    for k in range(0, len(rest), 4):
        name, dtype, shape, expr = rest[k : k + 4]
        shape = [int(s) for s in shape.split(",")] if shape else []
        numel = 1
        for d in shape:
            numel *= d
        if "@" in name:
            name, src = name.split("@", 1)
            vals = read(src)[0][name]["values"]
        else:
            vals = [eval(expr, {"math": math}, {"i": i, "ix": multi(i, shape)}) for i in range(numel)]
        tensors[name] = (dtype, shape, vals)
    write(out, tensors, meta)


if __name__ == "__main__":
    main(sys.argv)
