"""Writes NIfTI fixtures with nibabel and dumps what nibabel reads back from them.

usage: /usr/bin/python3 nibabel-write-fixtures.py OUTDIR

For each NIfTI version (1, 2), byte order (<, >) and datatype, writes one image with a
non-trivial qform and sform (rotations, a mirrored axis, shifts) and scl_slope/scl_inter
varying per file, some gzipped. Then loads every file with nibabel and writes
OUTDIR/manifest.json (header facts and nibabel's affine) and OUTDIR/NAME.f64 (nibabel's scaled
voxel values, float64 little-endian, NIfTI order: x fastest). The test compares rstn's reading of
each file with these.
"""
import gzip
import io
import json
import os
import sys

import nibabel as nib
import numpy as np

out = sys.argv[1]
rng = np.random.RandomState(20180202)
DTYPES = ["uint8", "int8", "int16", "uint16", "int32", "uint32", "float32", "float64"]
SHAPE = (5, 4, 3)  # non-cubic, so an axis-order mistake cannot pass


def rotation(ax, ay, az):
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def affine_for(k):
    r = rotation(0.1 * k, -0.2 + 0.05 * k, 0.3 * k)
    zooms = np.array([0.7 + 0.01 * k, 0.8, 2.5])
    if k % 3 == 1:
        zooms[2] = -zooms[2]  # a mirrored axis: qfac = -1
    a = np.eye(4)
    a[:3, :3] = r * zooms
    a[:3, 3] = [-120.5 + k, 80.25, -300.0 + 2 * k]
    return a


# (scl_slope, scl_inter) per file index: none, scaled, intercept only, slope 0 (= none), scaled.
SCALINGS = [(1.0, 0.0), (0.5, -1024.0), (1.0, 7.0), (0.0, 5.0), (2.25, 10.5)]

manifest = []
k = 0
for version, cls in ((1, nib.Nifti1Header), (2, nib.Nifti2Header)):
    for endian in "<>":
        for dt in DTYPES:
            dtype = np.dtype(dt)
            if dtype.kind in "iu":
                info = np.iinfo(dtype)
                raw = rng.randint(int(info.min), int(info.max), size=SHAPE, dtype=np.int64)
                raw[0, 0, 0], raw[-1, -1, -1] = info.min, info.max
            else:
                raw = rng.standard_normal(SHAPE) * 1000
            hdr = cls(endianness=endian)
            hdr.set_data_shape(SHAPE)
            hdr.set_data_dtype(dtype)
            # j varies gzip, mirroring and sform use across datatypes from group to group.
            j = k + k // len(DTYPES)
            qaff = affine_for(j)
            saff = qaff.copy()
            saff[0, 1] += 0.05  # a shear only the sform can hold
            saff[:3, 3] += [1.5, -2.5, 3.5]
            hdr.set_qform(qaff, code=1)
            # One file in four has no sform, so the qform decides.
            hdr.set_sform(saff, code=0 if j % 4 == 3 else 2)
            slope, inter = SCALINGS[k % len(SCALINGS)]
            hdr["scl_slope"], hdr["scl_inter"] = slope, inter
            offset = 352 if version == 1 else 544
            hdr.set_data_offset(offset)
            bio = io.BytesIO()
            hdr.write_to(bio)
            body = bio.getvalue()
            body += b"\0" * (offset - len(body))
            body += raw.astype(hdr.get_data_dtype()).tobytes(order="F")
            name = f"v{version}-{dt}-{'le' if endian == '<' else 'be'}.nii" + (".gz" if j % 2 == 0 else "")
            with open(os.path.join(out, name), "wb") as f:
                f.write(gzip.compress(body) if name.endswith(".gz") else body)

            img = nib.load(os.path.join(out, name))
            scaled = img.get_fdata(dtype=np.float64)
            with open(os.path.join(out, name + ".f64"), "wb") as f:
                f.write(scaled.astype("<f8").tobytes(order="F"))
            manifest.append(
                {
                    "name": name,
                    "version": version,
                    "littleEndian": endian == "<",
                    "datatype": dt,
                    "shape": list(img.shape),
                    "affine": img.affine.tolist(),
                    "qformCode": int(img.header["qform_code"]),
                    "sformCode": int(img.header["sform_code"]),
                    "slope": float(img.dataobj.slope),
                    "inter": float(img.dataobj.inter),
                    "headerClass": type(img.header).__name__,
                    "onDiskByteOrder": img.header.endianness,
                }
            )
            k += 1

with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(manifest, f)
