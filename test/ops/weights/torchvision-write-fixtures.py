"""Writes the weights interop test's fixtures with PyTorch and torchvision (seeded).

OUT/vgg16-features.pth            torchvision VGG16's conv trunk (features.*), torch.save zip format
OUT/vgg16-features-legacy.pth     the same in the legacy format (PyTorch < 1.6, as the RSTN port saved)
OUT/vgg16-features.safetensors    the same as safetensors (written here: Debian has no safetensors package)
OUT/vgg16-input.f32, -output.f32  a 1x3x64x64 input and VGG16's `features` output on it (NCHW)
OUT/small.pth                     torchvision's VGG layout at 1/16 of the channels with a 7x7x32 -> 256
                                  -> 256 classifier, so fc6's reshaping is checked at a small size
OUT/small-input.f32, -pool5.f32, -fc7.f32   a 1x3x224x224 input, features output and classifier[0:5] output
OUT/evil.pth                      a torch.save file whose pickle calls os.system when Python loads it
"""
import collections
import json
import os
import sys

import torch
import torchvision
from torch import nn

out = sys.argv[1]
torch.manual_seed(20261207)


def dump(name, t):
    t.detach().contiguous().numpy().astype("<f4").tofile(os.path.join(out, name))


vgg = torchvision.models.vgg16().eval()
# torchvision initialises biases to zero; random ones check that biases land where they belong.
for name, p in vgg.named_parameters():
    if name.endswith(".bias"):
        nn.init.uniform_(p, -0.1, 0.1)
features = collections.OrderedDict((k, v) for k, v in vgg.state_dict().items() if k.startswith("features."))
torch.save(features, os.path.join(out, "vgg16-features.pth"))
torch.save(features, os.path.join(out, "vgg16-features-legacy.pth"), _use_new_zipfile_serialization=False)

header, blobs, offset = {}, [], 0
for k, v in features.items():
    b = v.contiguous().numpy().astype("<f4").tobytes()
    header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [offset, offset + len(b)]}
    blobs.append(b)
    offset += len(b)
h = json.dumps(header).encode()
with open(os.path.join(out, "vgg16-features.safetensors"), "wb") as f:
    f.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))

x = torch.randn(1, 3, 64, 64)
with torch.no_grad():
    y = vgg.features(x)
dump("vgg16-input.f32", x)
dump("vgg16-output.f32", y)

cfg = [4, 4, "M", 8, 8, "M", 16, 16, 16, "M", 32, 32, 32, "M", 32, 32, 32, "M"]
small = nn.Module()
small.features = torchvision.models.vgg.make_layers(cfg)
small.classifier = nn.Sequential(
    nn.Linear(32 * 7 * 7, 256), nn.ReLU(True), nn.Dropout(), nn.Linear(256, 256), nn.ReLU(True), nn.Dropout(), nn.Linear(256, 1000)
)
small.eval()
for name, p in small.named_parameters():
    if name.endswith(".bias"):
        nn.init.uniform_(p, -0.1, 0.1)
torch.save(small.state_dict(), os.path.join(out, "small.pth"))
x2 = torch.randn(1, 3, 224, 224)
with torch.no_grad():
    pool5 = small.features(x2)
    fc7 = small.classifier[0:5](torch.flatten(pool5, 1))
dump("small-input.f32", x2)
dump("small-pool5.f32", pool5)
dump("small-fc7.f32", fc7)


class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + os.path.join(out, "pwned"),))


torch.save(collections.OrderedDict(w=torch.zeros(2), x=Evil()), os.path.join(out, "evil.pth"))
