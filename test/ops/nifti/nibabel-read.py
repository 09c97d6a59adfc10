"""Reads NIfTI files with nibabel and dumps what it sees, for comparison with what rstn wrote.

usage: /usr/bin/python3 nibabel-read.py OUTDIR FILE...

Writes OUTDIR/read.json (per file: header fields, affine, qform affine, data dtype) and
OUTDIR/BASENAME.f64 (voxel values as float64 little-endian, NIfTI order).
"""
import json
import os
import sys

import nibabel as nib
import numpy as np

out = sys.argv[1]
result = {}
for path in sys.argv[2:]:
    img = nib.load(path)
    h = img.header
    base = os.path.basename(path)
    data = np.asanyarray(img.dataobj)
    with open(os.path.join(out, base + ".f64"), "wb") as f:
        f.write(data.astype("<f8").tobytes(order="F"))
    result[base] = {
        "headerClass": type(h).__name__,
        "shape": list(img.shape),
        "dtype": str(img.get_data_dtype()),
        "affine": img.affine.tolist(),
        "qform": h.get_qform().tolist(),
        "sform": h.get_sform().tolist(),
        "qformCode": int(h["qform_code"]),
        "sformCode": int(h["sform_code"]),
        "pixdim": [float(x) for x in h["pixdim"]],
        "xyztUnits": int(h["xyzt_units"]),
        "descrip": h["descrip"].item().decode("latin1"),
        "voxOffset": int(img.dataobj.offset),  # the image header of a loaded file says 0
    }
with open(os.path.join(out, "read.json"), "w") as f:
    json.dump(result, f)
