"""PyTorch twin of rstn's RSTN for bench/engine.bench.ts: the same layout timed on the same cores.

Coarse FCN-8s, the release's saliency transform, a crop around the label and a fine FCN-8s, as
src/ops/nets builds them: VGG-16 blocks scaled by --width with batch norm after every trunk
convolution and fc6 (7x7, 'same') / fc7 (1x1), 1x1 score layers, frozen bilinear 2x/2x/2^(blocks-2)
transposed-convolution upsampling, sigmoid outputs. A training step is phase I: the joint DSC
loss (lambda 1/3), backward, one Adam update (lr 1e-3). Forward is inference: coarse, saliency,
crop, fine. Prints one JSON object: {"threads", "torch", "forwardMs", "trainStepMs", "forwardCpuMs",
"trainStepCpuMs"} (medians; CPU time of the process, all threads).
Needs only torch (Debian's python3-torch); timing, not training results, is the point.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

VGG16 = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]


def bilinear(size, channels):
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    w = torch.zeros(channels, channels, size, size)
    for y in range(size):
        for x in range(size):
            v = (1 - abs(y - center) / factor) * (1 - abs(x - center) / factor)
            for c in range(channels):
                w[c, c, y, x] = v
    return w


class ConvBn(nn.Sequential):
    def __init__(self, cin, cout, k):
        super().__init__(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout, momentum=0.1, eps=1e-5))


class Fcn8s(nn.Module):
    def __init__(self, width, blocks, cin=3, out=3):
        super().__init__()
        ch = lambda c: max(1, round(c * width))
        self.blocks = nn.ModuleList()
        pools = []
        for c, n in VGG16[:blocks]:
            layers = []
            for _ in range(n):
                layers += [ConvBn(cin, ch(c), 3), nn.ReLU(inplace=True)]
                cin = ch(c)
            self.blocks.append(nn.Sequential(*layers, nn.MaxPool2d(2, 2)))
            pools.append(cin)
        fc = ch(4096)
        self.fc = nn.Sequential(ConvBn(cin, fc, 7), nn.ReLU(inplace=True), ConvBn(fc, fc, 1), nn.ReLU(inplace=True))
        self.score = nn.Conv2d(fc, out, 1)
        self.score_a = nn.Conv2d(pools[blocks - 2], out, 1)
        self.score_b = nn.Conv2d(pools[blocks - 3], out, 1)
        f = 2 ** (blocks - 2)
        self.ups = nn.ModuleList()
        for s in (2, 2, f):
            up = nn.ConvTranspose2d(out, out, 2 * s, stride=s, padding=s // 2, bias=False)
            up.weight.data.copy_(bilinear(2 * s, out))
            up.weight.requires_grad_(False)
            self.ups.append(up)
        self.stride = 2 ** blocks

    def forward(self, x):
        h, w = x.shape[2:]
        s = self.stride
        ph, pw = math.ceil(h / s) * s - h, math.ceil(w / s) * s - w
        top, left = ph // 2, pw // 2
        y = F.pad(x, (left, pw - left, top, ph - top)) if ph or pw else x
        pools = []
        for b in self.blocks:
            y = b(y)
            pools.append(y)
        y = self.fc(y)
        n = len(self.blocks)
        score = self.ups[0](self.score(y)) + self.score_a(pools[n - 2])
        score = self.ups[1](score) + self.score_b(pools[n - 3])
        score = self.ups[2](score)
        return score[:, :, top:top + h, left:left + w]


class Rstn(nn.Module):
    def __init__(self, width, blocks):
        super().__init__()
        self.coarse = Fcn8s(width, blocks)
        self.fine = Fcn8s(width, blocks)
        self.sal1 = nn.Conv2d(3, 3, 3, padding=1)
        self.sal2 = nn.Conv2d(3, 3, 5, padding=2)
        nn.init.xavier_normal_(self.sal1.weight)
        nn.init.constant_(self.sal1.bias, 1.0)
        nn.init.zeros_(self.sal2.weight)
        self.sal2.bias.data.copy_(torch.tensor([1.0, 1.5, 2.0]))

    def saliency(self, p):
        return self.sal2(F.relu(self.sal1(p)))


def dsc_loss(p, y, eps=1e-6):
    inter = (p * y).sum(dim=(1, 2, 3))
    total = p.sum(dim=(1, 2, 3)) + y.sum(dim=(1, 2, 3))
    return 1 - ((2 * inter + eps) / (total + eps)).mean()


def fine_logits(model, inp, box, h, w):
    t, l, bh, bw = box
    logits = model.fine(inp[:, :, t:t + bh, l:l + bw])
    return F.pad(logits, (l, w - l - bw, t, h - t - bh), value=-9999999.0)


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--width", type=float, default=0.25)
    a.add_argument("--blocks", type=int, default=5)
    a.add_argument("--size", type=int, default=128)
    a.add_argument("--batch", type=int, default=4)
    a.add_argument("--threads", type=int, default=1)
    a.add_argument("--warmup", type=int, default=1)
    a.add_argument("--reps", type=int, default=5)
    a.add_argument("--margin", type=int, default=20)
    o = a.parse_args()
    torch.set_num_threads(o.threads)
    torch.manual_seed(1)
    n, s = o.batch, o.size
    x = torch.rand(n, 3, s, s)
    yy, xx = torch.meshgrid(torch.arange(s), torch.arange(s), indexing="ij")
    disc = (((yy - s / 2) ** 2 + (xx - s / 2) ** 2) <= (0.2 * s) ** 2).float()
    y = disc.expand(n, 3, s, s).contiguous()
    rows = disc.sum(1).nonzero().flatten()
    cols = disc.sum(0).nonzero().flatten()
    t, l = max(0, int(rows.min()) - o.margin), max(0, int(cols.min()) - o.margin)
    box = (t, l, min(s, int(rows.max()) + o.margin + 1) - t, min(s, int(cols.max()) + o.margin + 1) - l)
    model = Rstn(o.width, o.blocks)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3, eps=1e-7)

    def step():
        model.train()
        opt.zero_grad(set_to_none=True)
        p = torch.sigmoid(model.coarse(x))
        inp = x * model.saliency(p)
        fine = torch.sigmoid(fine_logits(model, inp, box, s, s))
        loss = dsc_loss(p, y) / 3 + dsc_loss(fine, y) * 2 / 3
        loss.backward()
        opt.step()

    def forward():
        model.eval()
        with torch.no_grad():
            p = torch.sigmoid(model.coarse(x))
            torch.sigmoid(fine_logits(model, x * model.saliency(p), box, s, s))

    def timed(f):
        """Median wall and median process CPU time (all threads) per run, in ms."""
        for _ in range(o.warmup):
            f()
        walls, cpus = [], []
        for _ in range(o.reps):
            t0, c0 = time.perf_counter(), time.process_time()
            f()
            walls.append((time.perf_counter() - t0) * 1000)
            cpus.append((time.process_time() - c0) * 1000)
        med = lambda xs: round(sorted(xs)[len(xs) // 2], 1)
        return med(walls), med(cpus)

    fwd, fwd_cpu = timed(forward)
    train, train_cpu = timed(step)
    print(json.dumps({"threads": torch.get_num_threads(), "torch": torch.__version__, "forwardMs": fwd, "trainStepMs": train,
                      "forwardCpuMs": fwd_cpu, "trainStepCpuMs": train_cpu}))


if __name__ == "__main__":
    main()
