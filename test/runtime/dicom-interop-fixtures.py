"""One CT volume three ways, for rstn's DICOM interop test (test/runtime/dicom-interop.test.ts):

- twin.nii.gz: the equivalent NIfTI, written and read back by nibabel, whose data and affine
  (nibabel.json) are what rstn must read from either series;
- pydicom/: the series written by pydicom (explicit VR little endian), file names shuffled;
- dcmtk/: one dcmtk dump (text) and raw pixel file per slice, for dump2dcm to write the series.

The series follow the DICOM standard, independently of rstn: pixel (row r, column c) of the k-th
slice is NIfTI voxel (c, r, k); ImageOrientationPatient holds the directions of increasing column
and row index, ImagePositionPatient the LPS position of pixel (0, 0); NIfTI's RAS world is LPS
with x and y negated. The orientation is oblique, the stored values int16 with a rescale.

usage: dicom-interop-fixtures.py OUT_DIR
"""
import json
import os
import sys

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
out = sys.argv[1]
rng = np.random.default_rng(2018)

nx, ny, nz = 7, 5, 6  # columns, rows, slices
slope, intercept = 2.0, -1000.0
stored = rng.integers(-300, 2500, size=(nx, ny, nz)).astype(np.int16)
hu = stored.astype(np.float64) * slope + intercept


def rotation(axis, degrees):
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    i, j = [k for k in range(3) if k != axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


# LPS directions: an axial scan rotated 20 degrees about z and tilted 12 degrees about x.
R = rotation(0, 12) @ rotation(2, 20)
row_dir, col_dir = R[:, 0], R[:, 1]  # increasing column index, increasing row index
normal = np.cross(row_dir, col_dir)
row_spacing, col_spacing, slice_step = 0.8, 0.7, 2.5  # PixelSpacing = [row_spacing, col_spacing]
origin = np.array([-100.5, 50.25, 12.0])  # LPS position of voxel (0, 0, 0)

# What a DICOM header can say exactly: decimal strings of at most 16 characters.
def ds(x):
    return f"{x:.6f}"


iop = [ds(v) for v in (*row_dir, *col_dir)]
iop_f = np.array([float(v) for v in iop])
lps = np.eye(4)
lps[:3, 0] = iop_f[:3] * col_spacing
lps[:3, 1] = iop_f[3:] * row_spacing
positions = [[ds(v) for v in origin + k * slice_step * normal] for k in range(nz)]
pos_f = np.array([[float(v) for v in p] for p in positions])
lps[:3, 2] = (pos_f[-1] - pos_f[0]) / (nz - 1)
lps[:3, 3] = pos_f[0]
ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps

twin = os.path.join(out, "twin.nii.gz")
nib.save(nib.Nifti1Image(hu.astype(np.float32), ras), twin)
back = nib.load(twin)
with open(os.path.join(out, "nibabel.json"), "w") as f:
    json.dump(
        {
            "shape": list(back.shape),
            "affine": back.affine.tolist(),
            # x fastest, as rstn orders voxels
            "data": back.get_fdata().ravel(order="F").tolist(),
        },
        f,
    )

study, series, frame = pydicom.uid.generate_uid(), pydicom.uid.generate_uid(), pydicom.uid.generate_uid()


def slice_dataset(k):
    ds_ = Dataset()
    ds_.SOPClassUID = CT_IMAGE_STORAGE
    ds_.SOPInstanceUID = pydicom.uid.generate_uid()
    ds_.Modality = "CT"
    ds_.PatientName = "Interop^Test"
    ds_.PatientID = "interop"
    ds_.StudyInstanceUID = study
    ds_.SeriesInstanceUID = series
    ds_.FrameOfReferenceUID = frame
    # Instance numbers run against the positions: rstn must sort by position.
    ds_.InstanceNumber = nz - k
    ds_.ImagePositionPatient = positions[k]
    ds_.ImageOrientationPatient = iop
    ds_.PixelSpacing = [ds(row_spacing), ds(col_spacing)]
    ds_.SliceThickness = ds(slice_step)
    ds_.SamplesPerPixel = 1
    ds_.PhotometricInterpretation = "MONOCHROME2"
    ds_.Rows = ny
    ds_.Columns = nx
    ds_.BitsAllocated = 16
    ds_.BitsStored = 16
    ds_.HighBit = 15
    ds_.PixelRepresentation = 1
    ds_.RescaleIntercept = ds(intercept)
    ds_.RescaleSlope = ds(slope)
    # Rows x columns, columns fastest: the transposed NIfTI slice.
    ds_.PixelData = np.ascontiguousarray(stored[:, :, k].T).astype("<i2").tobytes()
    return ds_


os.makedirs(os.path.join(out, "pydicom"))
names = [f"IM{n:04d}" for n in rng.permutation(nz)]  # no .dcm suffix, shuffled
for k in range(nz):
    d = slice_dataset(k)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    d.file_meta = meta
    d.is_little_endian = True
    d.is_implicit_VR = False
    d.save_as(os.path.join(out, "pydicom", names[k]), write_like_original=False)

os.makedirs(os.path.join(out, "dcmtk"))
for k in range(nz):
    raw = os.path.join(out, "dcmtk", f"s{k:03d}.raw")
    with open(raw, "wb") as f:
        f.write(np.ascontiguousarray(stored[:, :, k].T).astype("<i2").tobytes())
    uid = pydicom.uid.generate_uid()
    lines = [
        f"(0002,0002) UI =CTImageStorage",
        f"(0002,0003) UI [{uid}]",
        f"(0008,0016) UI =CTImageStorage",
        f"(0008,0018) UI [{uid}]",
        f"(0008,0060) CS [CT]",
        f"(0020,000d) UI [{study}]",
        f"(0020,000e) UI [{series}]",
        f"(0020,0013) IS [{k + 1}]",
        f"(0020,0032) DS [{chr(92).join(positions[k])}]",
        f"(0020,0037) DS [{chr(92).join(iop)}]",
        f"(0028,0002) US 1",
        f"(0028,0004) CS [MONOCHROME2]",
        f"(0028,0010) US {ny}",
        f"(0028,0011) US {nx}",
        f"(0028,0030) DS [{ds(row_spacing)}\\{ds(col_spacing)}]",
        f"(0028,0100) US 16",
        f"(0028,0101) US 16",
        f"(0028,0102) US 15",
        f"(0028,0103) US 1",
        f"(0028,1052) DS [{ds(intercept)}]",
        f"(0028,1053) DS [{ds(slope)}]",
        f"(7fe0,0010) OW ={raw}",
    ]
    with open(os.path.join(out, "dcmtk", f"s{k:03d}.dump"), "w") as f:
        f.write("\n".join(lines) + "\n")
