#!/usr/bin/env python3
"""NAME     routing_to_trace.py - a PyTorch MoE model's recorded routing as a c2rbench trace
PURPOSE  Converts the top-k expert ids (and, when recorded, the gate weights) a forward hook dumped
         from each MoE layer into a c2rbench.trace file (docs/REPORT.md, "Routing traces") that
         `c2rbench run --workload trace --trace FILE` and `c2rbench tune --trace FILE` run:
         per layer, per token, the k expert ids, highest-scoring first.
USAGE    python3 tools/routing_to_trace.py --experts E --ids IDS [IDS ...] [--weights W [W ...]]
             [--layers 0,1,...] [--sort-by-weight] [--max-tokens N] [--layout auto|inline|npy]
             [--model NAME] [--source TEXT] --out trace.json
         IDS: one [layers, tokens, k] array, or one [tokens, k] array per layer, as
           .npy (numpy.save), .npz (numpy.savez: one array per layer, in the order of the numbers
           in their names, or one 3-d array) or .pt (torch.save of a tensor, a list of tensors, or
           a dict {layer number: tensor}; needs PyTorch, which is optional otherwise).
         --layers numbers the layers (default: the numbers of a .pt dict or of the .npz names,
           else 0, 1, ...). --weights: the same layout, float. --layout inline writes one JSON
           file; npy writes the JSON and one .npy file per layer and array beside it (OUT's stem,
           .layerL.ids.npy / .layerL.weights.npy); auto (default) is inline up to 200000 ids.
NOTES    Works without numpy and without torch for .npy and .npz input (a small .npy reader and
         writer of its own: versions 1-3, little- and big-endian integers and floats, C or Fortran
         order). Every id is checked (an integer in [0, E), distinct within a token, k per row) and
         every weight (finite), so what c2rbench refuses is refused here first. Existing files are
         never overwritten.

         Recording routing from a Hugging Face MoE model (Mixtral, Qwen2-MoE, OLMoE): each MoE
         block has a `gate`, an nn.Linear whose output is the router logits [tokens, E] (the
         block flattens [batch, seq, hidden] to [tokens, hidden] first). Hook it, and choose as
         the model does: softmax, topk(k) (sorted: the first is the highest-scoring), and
         renormalise the k weights where the model does (Mixtral always; Qwen2-MoE and OLMoE when
         config.norm_topk_prob):

           import torch
           ids, weights = {}, {}
           def record(layer, k, renormalise):
               def hook(module, inputs, logits):
                   w, i = torch.softmax(logits.float(), dim=-1).topk(k, dim=-1)
                   if renormalise:
                       w = w / w.sum(dim=-1, keepdim=True)
                   ids.setdefault(layer, []).append(i.cpu())
                   weights.setdefault(layer, []).append(w.cpu())
               return hook
           k = model.config.num_experts_per_tok
           for n, block in enumerate(model.model.layers):
               moe = getattr(block, "block_sparse_moe", None) or block.mlp  # Mixtral | Qwen2/OLMoE
               moe.gate.register_forward_hook(record(n, k, renormalise=True))  # as the model does
           with torch.no_grad():
               model(**tokenizer(texts, return_tensors="pt", padding=True))
           torch.save({n: torch.cat(v) for n, v in ids.items()}, "ids.pt")
           torch.save({n: torch.cat(v) for n, v in weights.items()}, "weights.pt")

         then: python3 tools/routing_to_trace.py --experts 64 --ids ids.pt --weights weights.pt
                   --model allenai/OLMoE-1B-7B-0924 --out olmoe.json
         Padding tokens are routed too; drop them (attention_mask) before saving if they should
         not count. DeepSeek-V2/V3: the block's `gate` (MoEGate) returns (topk_idx, topk_weight)
         itself: record output[0] and output[1] (its first k-dense layers have no gate); V3 picks
         its k with topk(sorted=False), so pass --sort-by-weight to put each token's experts in
         descending weight. c2rbench reproduces the ids; the weights are recorded in the trace
         for reference and not imposed (its gate computes its own, docs/REPORT.md).
"""

import argparse
import ast
import io
import json
import math
import os
import re
import struct
import sys
import zipfile
from array import array

INLINE_LIMIT = 200000  # ids up to which --layout auto writes one JSON file


class ConvertError(Exception):
    """A problem with the input, reported as one line naming the file."""


# --- .npy reading and writing, without numpy ---------------------------------------------------

# descr kind and size -> struct format character.
STRUCT_CODES = {("i", 1): "b", ("i", 2): "h", ("i", 4): "i", ("i", 8): "q",
                ("u", 1): "B", ("u", 2): "H", ("u", 4): "I", ("u", 8): "Q",
                ("f", 2): "e", ("f", 4): "f", ("f", 8): "d", ("b", 1): "?"}


class Array:
    """A decoded array: C-order flat values and a shape."""

    def __init__(self, shape, values, kind):
        self.shape = tuple(shape)
        self.values = values  # flat, C order
        self.kind = kind      # "i", "u", "f" or "b"

    def rows(self):
        """[d0, d1] -> list of d0 lists of d1 values."""
        width = self.shape[1]
        return [self.values[r * width:(r + 1) * width] for r in range(self.shape[0])]

    def part(self, index):
        """[d0, d1, d2] -> the [d1, d2] array at index."""
        size = self.shape[1] * self.shape[2]
        return Array(self.shape[1:], self.values[index * size:(index + 1) * size], self.kind)


def parse_npy(data, name):
    """The array in the .npy bytes `data`."""
    if data[:6] != b"\x93NUMPY":
        raise ConvertError(f"{name}: not a .npy file")
    if len(data) < 10:
        raise ConvertError(f"{name}: truncated .npy file")
    major = data[6]
    if major not in (1, 2, 3):
        raise ConvertError(f"{name}: .npy format version {major}.{data[7]} is not supported")
    length_bytes = 2 if major == 1 else 4
    start = 8 + length_bytes
    if len(data) < start:
        raise ConvertError(f"{name}: truncated .npy file")
    (header_length,) = struct.unpack("<H" if major == 1 else "<I", data[8:start])
    header_bytes = data[start:start + header_length]
    if len(header_bytes) != header_length:
        raise ConvertError(f"{name}: truncated .npy header")
    try:
        header = ast.literal_eval(header_bytes.decode("latin1" if major < 3 else "utf8"))
    except (ValueError, SyntaxError) as e:
        raise ConvertError(f"{name}: malformed .npy header ({e})")
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise ConvertError(f"{name}: .npy header is not {{descr, fortran_order, shape}}")
    descr, shape = header["descr"], header["shape"]
    if not isinstance(descr, str) or len(descr) < 3 or descr[0] not in "<>|=":
        raise ConvertError(f"{name}: .npy descr {descr!r} is not supported")
    kind, size = descr[1], int(descr[2:]) if descr[2:].isdigit() else -1
    if (kind, size) not in STRUCT_CODES:
        raise ConvertError(f"{name}: .npy descr {descr!r} is not supported (integers, floats)")
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ConvertError(f"{name}: .npy shape {shape!r} is not a tuple of sizes")
    count = math.prod(shape)
    body = data[start + header_length:]
    if len(body) != count * size:
        raise ConvertError(f"{name}: .npy data is {len(body)} bytes; shape {shape} of {descr} "
                           f"needs {count * size}")
    order = ">" if descr[0] == ">" else "<"
    code = STRUCT_CODES[(kind, size)]
    if code in "bBhHiIqQfd" and order == ("<" if sys.byteorder == "little" else ">"):
        values = array(code, body).tolist()  # host order: fast
    else:
        values = list(struct.unpack(f"{order}{count}{code}", body))
    if header["fortran_order"] and len(shape) > 1:
        values = fortran_to_c(values, shape)
    return Array(shape, values, kind)


def fortran_to_c(values, shape):
    """Column-major flat values -> row-major."""
    out = [None] * len(values)
    strides_f = [1]
    for d in shape[:-1]:
        strides_f.append(strides_f[-1] * d)
    index = [0] * len(shape)
    for c in range(len(values)):
        out[c] = values[sum(i * s for i, s in zip(index, strides_f))]
        for axis in reversed(range(len(shape))):
            index[axis] += 1
            if index[axis] < shape[axis]:
                break
            index[axis] = 0
    return out


def npy_bytes(values, shape, descr):
    """A version 1.0 .npy file of `values` (flat, C order) as '<i4' or '<f4'."""
    shape_text = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    data = array("i" if descr == "<i4" else "f", values)
    if sys.byteorder != "little":
        data.byteswap()
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data.tobytes()


# --- inputs ------------------------------------------------------------------------------------

def tensor_to_array(tensor, name):
    """A torch tensor (or anything with .tolist()) -> Array."""
    if not hasattr(tensor, "tolist") or not hasattr(tensor, "shape"):
        raise ConvertError(f"{name}: expected a tensor, got {type(tensor).__name__}")
    shape = tuple(int(d) for d in tensor.shape)
    flat = tensor.reshape(-1).tolist()
    kind = "f" if any(isinstance(v, float) for v in flat[:1]) else "i"
    return Array(shape, flat, kind)


def number_in(name):
    """The last whole number in a name ('layer_12' -> 12), or None."""
    found = re.findall(r"\d+", name)
    return int(found[-1]) if found else None


def load_arrays(path):
    """[(layer number or None, Array)] from one input file."""
    if path.endswith(".pt") or path.endswith(".pth"):
        try:
            import torch  # optional: only .pt input needs it
        except ImportError:
            raise ConvertError(f"{path}: reading .pt files needs PyTorch, which is not installed "
                               "(pip install torch), or save the tensors with numpy.save instead")
        obj = torch.load(path, map_location="cpu")
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                number = key if isinstance(key, int) else number_in(str(key))
                items.append((number, tensor_to_array(value, f"{path}[{key!r}]")))
            return items
        if isinstance(obj, (list, tuple)):
            return [(None, tensor_to_array(t, f"{path}[{i}]")) for i, t in enumerate(obj)]
        return [(None, tensor_to_array(obj, path))]
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConvertError(f"{path}: {e.strerror}")
    if data[:4] == b"PK\x03\x04":  # .npz: a zip of .npy files
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            members = [m for m in archive.namelist() if m.endswith(".npy")]
            return [(number_in(m[:-4]), parse_npy(archive.read(m), f"{path}:{m}"))
                    for m in members]
        except zipfile.BadZipFile as e:
            raise ConvertError(f"{path}: not a valid .npz file ({e})")
    return [(None, parse_npy(data, path))]


def layered(paths, what):
    """{layer number: [tokens, k] Array} from every file of `paths`; numbers may be None."""
    items = []
    for path in paths:
        items.extend(load_arrays(path))
    if len(items) == 1 and len(items[0][1].shape) == 3:  # one [layers, tokens, k] array
        array3 = items[0][1]
        return [(None, array3.part(i)) for i in range(array3.shape[0])]
    for number, a in items:
        if len(a.shape) != 2:
            raise ConvertError(f"{what}: an array of shape {a.shape}; expected [tokens, k] per "
                               "layer or one [layers, tokens, k]")
    if all(n is not None for n, _ in items) and len({n for n, _ in items}) == len(items):
        items.sort(key=lambda item: item[0])
    return items


# --- checks and output -------------------------------------------------------------------------

def check_layer(layer, ids, weights, experts, top_k):
    """Checked rows of ids (ints) and weights (floats or None)."""
    rows = []
    for t, row in enumerate(ids.rows()):
        checked = []
        for value in row:
            if isinstance(value, float) and not value.is_integer():
                raise ConvertError(f"layer {layer} token {t}: expert id {value} is not a whole "
                                   "number")
            e = int(value)
            if not 0 <= e < experts:
                raise ConvertError(f"layer {layer} token {t}: expert id {e} is outside "
                                   f"0..{experts - 1} (--experts {experts})")
            checked.append(e)
        if len(set(checked)) != top_k:
            raise ConvertError(f"layer {layer} token {t}: expert ids {checked} repeat an expert")
        rows.append(checked)
    weight_rows = None
    if weights is not None:
        if weights.shape != ids.shape:
            raise ConvertError(f"layer {layer}: weights of shape {weights.shape} for ids of shape "
                               f"{ids.shape}")
        weight_rows = [[float(w) for w in row] for row in weights.rows()]
        for t, row in enumerate(weight_rows):
            if not all(math.isfinite(w) for w in row):
                raise ConvertError(f"layer {layer} token {t}: a weight that is not finite")
    return rows, weight_rows


def sort_by_weight(rows, weight_rows):
    """Each token's experts in descending weight (stable)."""
    for t, (row, weight) in enumerate(zip(rows, weight_rows)):
        order = sorted(range(len(row)), key=lambda j: -weight[j])
        rows[t] = [row[j] for j in order]
        weight_rows[t] = [weight[j] for j in order]


def write_new(path, data):
    """Writes through a temporary file and never replaces an existing file."""
    if os.path.exists(path):
        raise ConvertError(f"refusing to overwrite existing file {path}")
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.link(tmp, path)  # fails if the file appeared meanwhile
    os.unlink(tmp)


def main(argv):
    parser = argparse.ArgumentParser(
        description="Convert recorded MoE routing (top-k ids per layer) into a c2rbench trace.")
    parser.add_argument("--experts", type=int, required=True, help="E, routed experts per layer")
    parser.add_argument("--ids", nargs="+", required=True, help=".npy, .npz or .pt file(s)")
    parser.add_argument("--weights", nargs="+", help="gate weights, the same layout as --ids")
    parser.add_argument("--layers", help="layer numbers, comma-separated (default: from names)")
    parser.add_argument("--sort-by-weight", action="store_true",
                        help="order each token's experts by descending weight (DeepSeek-V3)")
    parser.add_argument("--max-tokens", type=int, help="keep the first N tokens of each layer")
    parser.add_argument("--layout", choices=["auto", "inline", "npy"], default="auto")
    parser.add_argument("--model", help="the model the routing was recorded from")
    parser.add_argument("--source", help="how it was recorded (default: the input files)")
    parser.add_argument("--out", required=True, help="the trace file (.json)")
    args = parser.parse_args(argv)
    if not 1 <= args.experts <= 65536:
        raise ConvertError(f"--experts {args.experts} is not between 1 and 65536")
    if args.sort_by_weight and not args.weights:
        raise ConvertError("--sort-by-weight needs --weights")
    if args.max_tokens is not None and args.max_tokens < 1:
        raise ConvertError(f"--max-tokens {args.max_tokens} is not a positive token count")

    ids = layered(args.ids, "--ids")
    weights = layered(args.weights, "--weights") if args.weights else None
    if weights is not None and len(weights) != len(ids):
        raise ConvertError(f"--weights holds {len(weights)} layers, --ids {len(ids)}")
    if weights is not None and all(n is not None for n, _ in ids + weights) and \
            [n for n, _ in ids] != [n for n, _ in weights]:
        raise ConvertError(f"--weights names layers {[n for n, _ in weights]}, --ids "
                           f"{[n for n, _ in ids]}")
    if args.layers:
        try:
            numbers = [int(x) for x in args.layers.split(",")]
        except ValueError:
            raise ConvertError(f"--layers {args.layers!r} is not a comma list of numbers")
    elif all(n is not None for n, _ in ids) and len({n for n, _ in ids}) == len(ids):
        numbers = [n for n, _ in ids]
    else:
        numbers = list(range(len(ids)))
    if len(numbers) != len(ids) or len(set(numbers)) != len(numbers) or min(numbers) < 0:
        raise ConvertError(f"{len(ids)} layers need as many distinct layer numbers >= 0 "
                           f"(got {numbers})")
    top_k = ids[0][1].shape[1]
    if not 1 <= top_k <= args.experts:
        raise ConvertError(f"k = {top_k} ids per token, with {args.experts} experts")

    layers, total = [], 0
    for i, (number, (_, a)) in enumerate(zip(numbers, ids)):
        if a.shape[1] != top_k:
            raise ConvertError(f"layer {number}: {a.shape[1]} ids per token; layer "
                               f"{numbers[0]} has {top_k}")
        if args.max_tokens is not None:
            a = Array((min(a.shape[0], args.max_tokens), top_k), a.values[:args.max_tokens * top_k],
                      a.kind)
        w = None
        if weights is not None:
            w = weights[i][1]
            if args.max_tokens is not None:
                w = Array((min(w.shape[0], args.max_tokens),) + w.shape[1:],
                          w.values[:args.max_tokens * w.shape[1]], w.kind)
        if a.shape[0] < 1:
            raise ConvertError(f"layer {number}: no tokens")
        rows, weight_rows = check_layer(number, a, w, args.experts, top_k)
        if args.sort_by_weight:
            sort_by_weight(rows, weight_rows)
        layers.append((number, rows, weight_rows))
        total += len(rows) * top_k

    layout = args.layout if args.layout != "auto" else ("inline" if total <= INLINE_LIMIT
                                                        else "npy")
    stem = args.out[:-5] if args.out.endswith(".json") else args.out
    doc = {"schema": "c2rbench.trace", "schema_version": 1, "experts": args.experts,
           "top_k": top_k, "source": args.source or "tools/routing_to_trace.py from " +
           ", ".join(os.path.basename(p) for p in args.ids + (args.weights or [])), "layers": []}
    if args.model:
        doc["model"] = args.model
    pending = []  # (path, bytes) of the .npy files
    for number, rows, weight_rows in sorted(layers, key=lambda layer: layer[0]):
        entry = {"layer": number}
        if layout == "inline":
            entry["expert_ids"] = rows
            if weight_rows is not None:
                entry["weights"] = weight_rows
        else:
            shape = (len(rows), top_k)
            ids_name = f"{os.path.basename(stem)}.layer{number}.ids.npy"
            pending.append((os.path.join(os.path.dirname(args.out), ids_name),
                            npy_bytes([e for row in rows for e in row], shape, "<i4")))
            entry["expert_ids_npy"] = ids_name
            if weight_rows is not None:
                w_name = f"{os.path.basename(stem)}.layer{number}.weights.npy"
                pending.append((os.path.join(os.path.dirname(args.out), w_name),
                                npy_bytes([w for row in weight_rows for w in row], shape, "<f4")))
                entry["weights_npy"] = w_name
        doc["layers"].append(entry)
    for path in [p for p, _ in pending] + [args.out]:
        if os.path.exists(path):
            raise ConvertError(f"refusing to overwrite existing file {path}")
    for path, data in pending:
        write_new(path, data)
    write_new(args.out, json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"{args.out}: {len(layers)} layer(s), {args.experts} experts, top-{top_k}, "
          f"{total // top_k} token rows, {layout} layout"
          f"{'' if weights is None else ', with weights'}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ConvertError as e:
        print(f"routing_to_trace.py: error: {e}", file=sys.stderr)
        sys.exit(2)
