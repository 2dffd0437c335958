#!/usr/bin/python3
"""recur_torch: move models between PyTorch and recur's model files (docs/model-format.md).

Runs with Debian's python3-torch (`/usr/bin/python3`); needs nothing else (safetensors is read and written
here, not through the safetensors package).

    from recur_torch import RecurModel, save_model, load_model
    model = RecurModel(cell="gru", vocab=20, embed_dim=32, hidden=64, head="additive_attention", num_outputs=2)
    save_model(model, "magic.safetensors")          # for `recur infer` / `recur train --model`
    model = load_model("magic.safetensors")          # a trained recur model back in PyTorch

RecurModel's submodules are named emb / rnn / attn.project / attn.v / fc, as BaseRNNClassifier in the
seeds (seeds/001), so such a module's state_dict is saved as it is:
    save_state_dict(module.state_dict(), path, cell="gru", head="additive_attention", padding_idx=0)

Command line:
    recur_torch.py export MODULE.pt OUT.safetensors --cell gru --head additive_attention [--padding-idx 0]
        (MODULE.pt: a torch.save'd state_dict or module)
    recur_torch.py show FILE.safetensors
"""
import argparse
import json
import math
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT = "1"
DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8), "I32": (torch.int32, 4), "I64": (torch.int64, 8),
          "U8": (torch.uint8, 1), "I8": (torch.int8, 1), "I16": (torch.int16, 2), "F16": (torch.float16, 2),
          "BF16": (torch.bfloat16, 2), "BOOL": (torch.bool, 1)}
NAMES = {v[0]: k for k, v in DTYPES.items()}


# ---- safetensors ----------------------------------------------------------------------------------------
def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> torch tensor (written in insertion order, little-endian, contiguous)."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        data = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)
    import os
    os.replace(tmp, path)


def read_safetensors(path):
    """Returns (dict name -> tensor, metadata dict)."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = buf[8 + n:]
    out = {}
    for name, h in header.items():
        dtype, size = DTYPES[h["dtype"]]
        b, e = h["data_offsets"]
        count = math.prod(h["shape"]) if h["shape"] else 1
        if e - b != count * size:
            raise ValueError(f"{path}: tensor {name}: shape {h['shape']} needs {count * size} bytes, got {e - b}")
        t = torch.frombuffer(bytearray(data[b:e]), dtype=dtype) if e > b else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(h["shape"]).clone()
    return out, meta


# ---- the model ------------------------------------------------------------------------------------------
class AdditiveAttention(nn.Module):
    """As seeds/001, with steps past each sample's length masked out of the softmax."""

    def __init__(self, dim):
        super().__init__()
        self.project = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, 1, bias=False)

    def forward(self, h, mask):  # h (B, T, F), mask (B, T) bool
        scores = self.v(torch.tanh(self.project(h))).squeeze(-1)
        weights = F.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
        return torch.sum(h * weights.unsqueeze(-1), dim=1), weights


class RecurModel(nn.Module):
    """Embedding (or float features) -> nn.RNN/LSTM/GRU (batch_first) -> head, as recur's models."""

    def __init__(self, cell="lstm", vocab=0, embed_dim=0, input_size=0, hidden=32, num_layers=1,
                 bidirectional=False, bias=True, proj_size=0, head="last", num_outputs=2, padding_idx=None):
        super().__init__()
        self.cell, self.head, self.padding_idx = cell, head, padding_idx
        if vocab:
            self.emb = nn.Embedding(vocab, embed_dim, padding_idx=padding_idx)
            input_size = embed_dim
        kw = dict(num_layers=num_layers, bias=bias, batch_first=True, bidirectional=bidirectional)
        if cell == "lstm":
            self.rnn = nn.LSTM(input_size, hidden, proj_size=proj_size, **kw)
        elif cell == "gru":
            self.rnn = nn.GRU(input_size, hidden, **kw)
        elif cell in ("rnn_tanh", "rnn_relu"):
            self.rnn = nn.RNN(input_size, hidden, nonlinearity=cell[4:], **kw)
        else:
            raise ValueError(f"cell {cell!r} has no PyTorch module (gru_original is recur-only)")
        feat = (2 if bidirectional else 1) * (proj_size or hidden)
        if head == "additive_attention":
            self.attn = AdditiveAttention(feat)
        self.fc = nn.Linear(feat, num_outputs)

    def forward(self, x, lengths=None, h0=None, c0=None):
        """x: ids (B, T) or features (B, T, I). Returns dict of logits, output, h_n, c_n, attention."""
        B, T = x.shape[0], x.shape[1]
        inp = self.emb(x) if hasattr(self, "emb") else x
        if lengths is None:
            lengths = torch.full((B,), T, dtype=torch.long)
        lengths = torch.as_tensor(lengths, dtype=torch.long)
        state = None
        if h0 is not None:
            state = (h0, c0 if c0 is not None else torch.zeros(
                self.rnn.num_layers * (2 if self.rnn.bidirectional else 1), B, self.rnn.hidden_size)) \
                if self.cell == "lstm" else h0
        packed = nn.utils.rnn.pack_padded_sequence(inp, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, hid = self.rnn(packed, state)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
        h_n, c_n = hid if self.cell == "lstm" else (hid, None)
        D = 2 if self.rnn.bidirectional else 1
        last = torch.cat([h_n[-2], h_n[-1]], dim=1) if D == 2 else h_n[-1]
        mask = torch.arange(T)[None, :] < lengths[:, None]
        res = {"output": out, "h_n": h_n}
        if c_n is not None:
            res["c_n"] = c_n
        if self.head == "last":
            res["logits"] = self.fc(last)
        elif self.head == "additive_attention":
            ctx, w = self.attn(out, mask)
            res["logits"], res["attention"] = self.fc(ctx), w
        elif self.head == "dot_attention":
            scores = torch.einsum("bf,btf->bt", last, out) / math.sqrt(out.shape[-1])
            w = F.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
            res["logits"], res["attention"] = self.fc(torch.einsum("bt,btf->bf", w, out)), w
        elif self.head == "per_step":
            res["logits"] = self.fc(out)
        else:
            raise ValueError(f"unknown head {self.head!r}")
        return res


def metadata_of(model):
    meta = {"recur.format": FORMAT, "recur.cell": model.cell, "recur.head": model.head}
    if model.padding_idx is not None:
        meta["recur.padding_idx"] = str(model.padding_idx)
    return meta


def save_state_dict(state, path, cell, head, padding_idx=None, extra=None):
    meta = {"recur.format": FORMAT, "recur.cell": cell, "recur.head": head}
    if padding_idx is not None:
        meta["recur.padding_idx"] = str(padding_idx)
    tensors = {k: v.float() for k, v in state.items()}
    if extra:
        tensors.update(extra)
    write_safetensors(path, tensors, meta)


def save_model(model, path):
    save_state_dict(model.state_dict(), path, model.cell, model.head, model.padding_idx)


def load_model(path):
    """Rebuild a RecurModel from a recur model file (sizes from names and shapes, as recur does)."""
    t, meta = read_safetensors(path)
    t = {k: v for k, v in t.items() if not k.startswith("optim.")}
    w_ih, w_hh = t["rnn.weight_ih_l0"], t["rnn.weight_hh_l0"]
    proj = t["rnn.weight_hr_l0"].shape[0] if "rnn.weight_hr_l0" in t else 0
    hidden = t["rnn.weight_hr_l0"].shape[1] if proj else w_hh.shape[1]
    G = w_ih.shape[0] // hidden
    cell = meta.get("recur.cell", {4: "lstm", 3: "gru", 1: "rnn_tanh"}[G])
    layers = 0
    while f"rnn.weight_ih_l{layers}" in t:
        layers += 1
    head = meta.get("recur.head", "additive_attention" if "attn.project.weight" in t else "last")
    pad = meta.get("recur.padding_idx")
    vocab, embed = t["emb.weight"].shape if "emb.weight" in t else (0, 0)
    model = RecurModel(cell=cell, vocab=vocab, embed_dim=embed, input_size=w_ih.shape[1], hidden=hidden,
                       num_layers=layers, bidirectional="rnn.weight_ih_l0_reverse" in t,
                       bias="rnn.bias_ih_l0" in t, proj_size=proj, head=head, num_outputs=t["fc.weight"].shape[0],
                       padding_idx=int(pad) if pad is not None else None)
    model.load_state_dict(t)
    return model


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="verb", required=True)
    ex = sub.add_parser("export", help="a torch.save'd state_dict or module -> recur model file")
    ex.add_argument("src")
    ex.add_argument("dst")
    ex.add_argument("--cell", required=True, choices=["rnn_tanh", "rnn_relu", "lstm", "gru"])
    ex.add_argument("--head", default="last", choices=["last", "additive_attention", "dot_attention", "per_step"])
    ex.add_argument("--padding-idx", type=int)
    sh = sub.add_parser("show", help="list a recur model file's tensors and metadata")
    sh.add_argument("path")
    a = ap.parse_args(argv)
    if a.verb == "export":
        obj = torch.load(a.src, map_location="cpu")
        state = obj.state_dict() if hasattr(obj, "state_dict") else obj
        save_state_dict(state, a.dst, a.cell, a.head, a.padding_idx)
        load_model(a.dst)  # proves it loads back
    else:
        t, meta = read_safetensors(a.path)
        for k, v in meta.items():
            print(f"{k} = {v}")
        for k, v in t.items():
            print(f"{k:32s} {NAMES[v.dtype]:5s} {tuple(v.shape)}")


if __name__ == "__main__":
    main(sys.argv[1:])
