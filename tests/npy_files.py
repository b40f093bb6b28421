"""A .npy writer for the tests: v1.0 files exactly as numpy.save writes them, without numpy (the
tests make the PyTorch-style routing dumps that c2rbench and tools/routing_to_trace.py read)."""

import struct


def npy(values, shape, descr, fmt):
    """The bytes of a .npy v1.0 file of `values` (flat, C order) with `shape`; `descr` is the
    NumPy type ('<i8', '<f8', ...) and `fmt` its struct code ('q', 'd', ...)."""
    shape_text = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() +
            struct.pack("<%d%s" % (len(values), fmt), *values))
