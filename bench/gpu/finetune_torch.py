#!/usr/bin/env python3
"""PyTorch replica of Lookalike's supervised DPQ training (src/core/dpq/train.ts, DEFAULTS) for
finetune 'off' (head on the frozen pooled 576-d feature) and 'late' (MobileNetV2 block_16 + Conv_1
trained with the head from each photo's cached block_15_add map, finetune.ts), evaluated with the
product protocol (protocol.ts dpqMaps / metrics.ts meanAveragePrecision: asymmetric lookup-table
scores, ties in database order, mAP over the whole ranked database).

What is replicated exactly: mulberry32 seeding (class vectors, glorot init, per-epoch shuffles,
k-means init and empty-cluster restarts), losses (L_S + 0.1 L_C; schedule 'sequential' with
codebookEpochs 0 = network for all epochs, then residual k-means codebooks, cosine assignment,
10 iterations), Adam (beta 0.9/0.999, eps 1e-7 as tfjs), tail weights W0 + s*Delta with
s = tailLr / lr and Delta trained from 0 in the same Adam, head input standardised by the
pretrained tail's statistics, float32 everywhere (TF32 off). Not bit-identical: dropout masks
(tfjs's own RNG) and float summation order.

Input: bench/gpu/export-finetune.ts output (default .gpu-data). Output: one JSON line per
configuration on stdout, all of them in $OUT/results.json (rewritten after every configuration).
usage: python3 bench/gpu/finetune_torch.py [--data .gpu-data] [--configs NAME,...|all]
       [--budget SECONDS] [--smoke] [--device cuda|cpu]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

MAP_SIDE, MAP_CH, EXPANDED, PROJECTED, TAIL_OUT = 7, 160, 960, 320, 1280
MAP_SIZE = MAP_SIDE * MAP_SIDE * MAP_CH

DEFAULTS = dict(M=8, K=256, D=256, gamma=30, hidden=512, epochs=30, batch=128, lr=1e-3, dropout=0.5,
                lam=0.1, seed=42, tail_lr=1e-3)


# ---------------------------------------------------------------- mulberry32 (src/core/dpq/prng.ts)
class Rng:
    M32 = 0xFFFFFFFF

    def __init__(self, seed):
        self.state = seed & self.M32

    def take(self, n):
        """The next n values of rng(), as float64 (vectorised: the state only advances by a constant)."""
        if n <= 0:
            return np.zeros(0)
        m = np.uint64(self.M32)
        st = (np.uint64(self.state) + np.uint64(0x6D2B79F5) * np.arange(1, n + 1, dtype=np.uint64)) & m
        self.state = int(st[-1])
        t = st
        t = ((t ^ (t >> np.uint64(15))) * (t | np.uint64(1))) & m
        t = t ^ ((t + (((t ^ (t >> np.uint64(7))) * (t | np.uint64(61))) & m)) & m)
        return ((t ^ (t >> np.uint64(14))) & m).astype(np.float64) / 4294967296.0

    def __call__(self):
        return float(self.take(1)[0])

    def normal(self, n):
        out = np.empty(n)
        u = self.take(2 * n)
        out[:] = np.sqrt(-2 * np.log(1 - u[0::2])) * np.cos(2 * np.pi * u[1::2])
        return out

    def shuffle(self, items):
        n = len(items)
        r = self.take(n - 1)
        for k, i in enumerate(range(n - 1, 0, -1)):
            j = int(math.floor(r[k] * (i + 1)))
            items[i], items[j] = items[j], items[i]
        return items


def orthonormalize_columns(a, rows, cols):
    """Modified Gram-Schmidt as unsupervised.ts: float64 column, float32 storage."""
    a = a.reshape(rows, cols)
    for c in range(cols):
        col = a[:, c].astype(np.float64)
        for p in range(c):
            dot = float(np.dot(col, a[:, p].astype(np.float64)))
            col = col - dot * a[:, p].astype(np.float64)
        norm = math.sqrt(float(np.dot(col, col)))
        a[:, c] = (col / norm if norm > 1e-9 else 0).astype(np.float32)
    return a.reshape(-1)


def class_vectors(classes, dim, rng):
    v = rng.normal(classes * dim).astype(np.float32)
    assert classes <= dim
    t = np.ascontiguousarray(v.reshape(classes, dim).T).reshape(-1)
    t = orthonormalize_columns(t, dim, classes)
    return np.ascontiguousarray(t.reshape(dim, classes).T)


def glorot(fan_in, fan_out, rng):
    limit = math.sqrt(6 / (fan_in + fan_out))
    return ((rng.take(fan_in * fan_out) * 2 - 1) * limit).astype(np.float32).reshape(fan_in, fan_out)


def l2n(x):
    return x / torch.sqrt((x * x).sum(-1, keepdim=True) + 1e-12)


# ---------------------------------------------------------------- tail (src/core/dpq/finetune.ts)
def tail_forward(maps, pooled, w):
    """maps [n, 7840] in (y, x, channel) order, pooled [n, 576] → [pooled Conv_1 (1280) | pooled]."""
    we, be, wd, bd, wp, bp, wc, bc = w
    n = maps.shape[0]
    x = maps.reshape(n * 49, MAP_CH)
    e = torch.clamp(x @ we + be, 0, 6).reshape(n, MAP_SIDE, MAP_SIDE, EXPANDED)
    padded = F.pad(e, (0, 0, 1, 1, 1, 1))  # channel (0,0), x (1,1), y (1,1)
    d = None
    for i in range(3):
        for j in range(3):
            term = padded[:, i:i + MAP_SIDE, j:j + MAP_SIDE, :] * wd[i * 3 + j]
            d = term if d is None else d + term
    d = torch.clamp(d + bd, 0, 6).reshape(n * 49, EXPANDED)
    p = d @ wp + bp
    top = torch.clamp(p @ wc + bc, 0, 6).reshape(n, 49, TAIL_OUT).mean(1)
    return torch.cat([top, pooled], 1)


def tail_shapes():
    return [(MAP_CH, EXPANDED), (EXPANDED,), (9, EXPANDED), (EXPANDED,), (EXPANDED, PROJECTED), (PROJECTED,),
            (PROJECTED, TAIL_OUT), (TAIL_OUT,)]


# ---------------------------------------------------------------- k-means / quantize (kmeans.ts, quantize.ts)
def assign_cosine(x, c):
    return (l2n(x) @ l2n(c).T).argmax(1)


def kmeans_cosine(points, k, seed, iterations=10, max_points=8000):
    n, dim = points.shape
    rng = Rng(seed)
    assert n <= max_points  # the sampled branch is not needed for 4,000 training photos
    order = rng.shuffle(list(range(n)))
    init = [order[i % n] for i in range(k)]
    centroids = points[torch.tensor(init, device=points.device)].clone()
    if n <= k:
        return centroids
    for _ in range(iterations):
        labels = assign_cosine(points, centroids)
        sums = torch.zeros(k, dim, device=points.device, dtype=points.dtype).index_add_(0, labels, points)
        sizes = torch.bincount(labels, minlength=k)
        nxt = sums / sizes.clamp(min=1).unsqueeze(1).to(points.dtype)
        moved = False
        for c in torch.nonzero(sizes == 0).flatten().tolist():  # ascending, as the JS loop
            p = int(math.floor(rng() * n))
            nxt[c] = points[p]
            moved = True
        if not moved and bool((centroids - nxt).abs().max() <= 1e-6):
            break
        centroids = nxt
    return centroids


def residual_codebooks(x, M, K, seed):
    residual = x.clone()
    books = []
    for m in range(M):
        c = kmeans_cosine(residual, K, seed + 31 * (m + 1))
        books.append(c)
        residual = residual - c[assign_cosine(residual, c)]
    return torch.stack(books)


def encode(x, books):
    residual = x.clone()
    codes = []
    for c in books:
        k = assign_cosine(residual, c)
        codes.append(k)
        residual = residual - c[k]
    return torch.stack(codes, 1)


# ---------------------------------------------------------------- mAP (metrics.ts)
def mean_ap(scores, q_labels, d_labels, r=1000):
    """scores [Q, N] float32: stable descending sort (ties keep database order), mAP@all and mAP@r."""
    q, n = scores.shape
    all_sum, r_sum = 0.0, 0.0
    ranks = torch.arange(1, n + 1, device=scores.device, dtype=torch.float64)
    for s in range(0, q, 250):
        sc = scores[s:s + 250]
        order = torch.sort(-sc, dim=1, stable=True).indices
        rel = (d_labels[order] == q_labels[s:s + 250].unsqueeze(1)).to(torch.float64)
        hits = rel.cumsum(1)
        prec = hits / ranks * rel
        tot = hits[:, -1]
        all_sum += float(torch.where(tot > 0, prec.sum(1) / tot.clamp(min=1), torch.zeros_like(tot)).sum())
        tr = hits[:, r - 1] if n >= r else tot
        r_sum += float(torch.where(tr > 0, prec[:, :r].sum(1) / tr.clamp(min=1), torch.zeros_like(tr)).sum())
    return all_sum / max(1, q), r_sum / max(1, q)


def cosine_scores(a, b):
    return l2n(a) @ l2n(b).T


def lut_scores(xq, codes, books, blocks):
    """Σ_{m<blocks} T[m][code_m], T[m][k] = <q, c_mk> (float32 table, summed in float64, stored float32)."""
    total = None
    for m in range(blocks):
        t = (xq @ books[m].T).double()  # [Q, K]
        part = t[:, codes[:, m]]  # [Q, N]
        total = part if total is None else total + part
    return total.float()


# ---------------------------------------------------------------- data
def load(data_dir, device):
    meta = json.load(open(os.path.join(data_dir, 'meta.json')))
    n = meta['rows']
    raw = np.fromfile(os.path.join(data_dir, 'maps.u8'), dtype=np.uint8).reshape(n, MAP_SIZE)
    rng_ = np.fromfile(os.path.join(data_dir, 'maps-range.f32'), dtype=np.float32).reshape(n, 2)
    pooled = np.fromfile(os.path.join(data_dir, 'pooled.f32'), dtype=np.float32).reshape(n, meta['pooled_dim'])
    labels = np.fromfile(os.path.join(data_dir, 'labels.u8'), dtype=np.uint8).astype(np.int64)
    tail_flat = np.fromfile(os.path.join(data_dir, 'tail.f32'), dtype=np.float32)
    tail, off = [], 0
    for shape in tail_shapes():
        size = int(np.prod(shape))
        tail.append(torch.tensor(tail_flat[off:off + size].reshape(shape), device=device))
        off += size
    assert off == tail_flat.size, 'tail.f32 does not have the shapes of block_16 + Conv_1'
    maps_u8 = torch.tensor(raw, device=device)
    lo = torch.tensor(rng_[:, :1], device=device)
    step = torch.tensor(rng_[:, 1:], device=device)
    maps = lo + step * maps_u8.float()  # dequantized, float32
    del maps_u8
    return dict(meta=meta, maps=maps, pooled=torch.tensor(pooled, device=device),
                labels=torch.tensor(labels, device=device), tail=tail,
                check_rows=np.fromfile(os.path.join(data_dir, 'check-rows.f32'), dtype=np.float32),
                check_tail=np.fromfile(os.path.join(data_dir, 'check-tail.f32'), dtype=np.float32))


def check_tail(d, device):
    """Pretrained tail of the replica against tfjs applyTail on the exported rows (exact and dequantized maps)."""
    rows = d['meta']['check_rows']
    c = len(rows)
    dim = MAP_SIZE + d['meta']['pooled_dim']
    x = torch.tensor(d['check_rows'].reshape(c, dim), device=device)
    ref = torch.tensor(d['check_tail'].reshape(c, -1), device=device)
    with torch.no_grad():
        exact = tail_forward(x[:, :MAP_SIZE], x[:, MAP_SIZE:], d['tail'])
        idx = torch.tensor(rows, device=device)
        deq = tail_forward(d['maps'][idx], d['pooled'][idx], d['tail'])
    top = slice(0, TAIL_OUT)
    return dict(
        rows=rows,
        max_abs_diff_exact_map=float((exact - ref).abs().max()),
        max_abs_diff_uint8_map=float((deq[:, top] - ref[:, top]).abs().max()),
        mean_abs_diff_uint8_map=float((deq[:, top] - ref[:, top]).abs().mean()),
        ref_mean_abs=float(ref[:, top].abs().mean()),
        max_abs_diff_pooled=float((deq[:, TAIL_OUT:] - ref[:, TAIL_OUT:]).abs().max()),
    )


# ---------------------------------------------------------------- training (train.ts trainSupervised)
def standardization(rows):
    r = rows.double()
    mean = r.mean(0)
    var = (r * r).mean(0) - mean * mean
    scale = torch.where(var > 1e-12, 1 / torch.sqrt(var.clamp(min=1e-300)), torch.zeros_like(var))
    return mean.float(), scale.float()


def run_config(d, split, cfg, device, log):
    o = dict(DEFAULTS)
    o.update({k: v for k, v in cfg.items() if k in DEFAULTS})
    mode = cfg['mode']
    late = mode == 'late'
    tail_lr = cfg.get('tail_lr', o['tail_lr'])
    wd = cfg.get('tail_wd', 0.0)
    freeze_expand = cfg.get('freeze_expand', False)
    M, K, D, C = o['M'], o['K'], o['D'], 10
    torch.manual_seed(o['seed'])
    if device.type == 'cuda':
        torch.cuda.synchronize()
    t0 = time.perf_counter()

    train = torch.tensor(split['train'], device=device)
    labels_all = d['labels']
    rng = Rng(o['seed'])
    # trainSupervised: sampleIndices(0 unlabelled) draws nothing; then class vectors, then glorot.
    V = torch.tensor(class_vectors(C, D, rng), device=device)
    margins = 1 - V @ V.T
    base = [t for t in d['tail']]
    frozen_tail = late and tail_lr == 0
    with torch.no_grad():
        if late:
            pre = torch.cat([tail_forward(d['maps'][train[s:s + 500]], d['pooled'][train[s:s + 500]], base)
                             for s in range(0, len(train), 500)])
            head_mean, head_scale = standardization(pre)
        else:
            head_mean, head_scale = standardization(d['pooled'][train])
    head_dim = head_mean.numel()
    wh = torch.tensor(glorot(head_dim, o['hidden'], rng), device=device, requires_grad=True)
    bh = torch.zeros(o['hidden'], device=device, requires_grad=True)
    wx = torch.tensor(glorot(o['hidden'], D, rng), device=device, requires_grad=True)
    bx = torch.zeros(D, device=device, requires_grad=True)
    wc = torch.tensor(glorot(o['hidden'], C, rng), device=device, requires_grad=True)
    bc = torch.zeros(C, device=device, requires_grad=True)
    head = [wh, bh, wx, bx, wc, bc]
    s_tail = tail_lr / o['lr']
    deltas = [torch.zeros_like(t, requires_grad=True) for t in base] if late and not frozen_tail else []
    trainable_deltas = deltas[2:] if freeze_expand else deltas
    groups = [{'params': head, 'weight_decay': 0.0}]
    if trainable_deltas:
        groups.append({'params': trainable_deltas, 'weight_decay': wd})
    # tfjs Adam = torch Adam with eps 1e-7; AdamW with weight_decay 0 is Adam; wd > 0 decays Delta (decoupled).
    opt = torch.optim.AdamW(groups, lr=o['lr'], betas=(0.9, 0.999), eps=1e-7)

    def tail_weights():
        return [b + s_tail * dl for b, dl in zip(base, deltas)] if deltas else base

    def features(idx, weights):
        if not late:
            return (d['pooled'][idx] - head_mean) * head_scale
        if frozen_tail:
            return (frozen_out[idx] - head_mean) * head_scale
        return (tail_forward(d['maps'][idx], d['pooled'][idx], weights) - head_mean) * head_scale

    frozen_out = None
    if frozen_tail:
        with torch.no_grad():
            frozen_out = torch.cat([tail_forward(d['maps'][s:s + 500], d['pooled'][s:s + 500], base)
                                    for s in range(0, d['maps'].shape[0], 500)])

    def forward(f, training):
        h = torch.relu(f @ wh + bh)
        if training and o['dropout'] > 0:
            h = F.dropout(h, o['dropout'], True)
        return torch.tanh(h @ wx + bx), h @ wc + bc

    def embed(idx):
        out = []
        with torch.no_grad():
            w = tail_weights()
            for s in range(0, len(idx), 500):
                out.append(forward(features(idx[s:s + 500], w), False)[0])
        return torch.cat(out)

    n_train = len(split['train'])
    steps = math.ceil(n_train / o['batch'])
    order = list(range(n_train))
    losses = []
    for epoch in range(1, o['epochs'] + 1):
        rng.shuffle(order)
        order_t = torch.tensor(order, device=device)
        tot = 0.0
        for s in range(steps):
            b = train[order_t[s * o['batch']:(s + 1) * o['batch']]]
            y = F.one_hot(labels_all[b], C).float()
            x, logits = forward(features(b, tail_weights()), True)
            cos = l2n(x) @ V.T
            hinge = torch.relu(margins.unsqueeze(0) - cos.unsqueeze(2) + cos.unsqueeze(1))
            mask = y.unsqueeze(2) * (1 - y).unsqueeze(1)
            semantic = (hinge * mask).sum() / mask.sum().clamp(min=1)
            loss = semantic + o['lam'] * F.cross_entropy(logits, labels_all[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot += loss.detach()
        losses.append(float(tot) / steps)
    # 'sequential', codebookEpochs 0: codebooks are residual k-means on the final training embeddings.
    x_train = embed(train)
    books = residual_codebooks(x_train, M, K, o['seed'])
    if device.type == 'cuda':
        torch.cuda.synchronize()
    train_s = time.perf_counter() - t0

    q = torch.tensor(split['queries'], device=device)
    db = torch.tensor(split['database'], device=device)
    ql, dl = labels_all[q], labels_all[db]
    xq = embed(q)
    xd = embed(db)
    codes = encode(xd, books)
    res = {}
    for bits in (8, 16, 24, 32, 40, 48, 56, 64):
        res[str(bits)] = mean_ap(lut_scores(xq, codes, books, bits // 8), ql, dl)
    emb = mean_ap(cosine_scores(xq, xd), ql, dl)
    if device.type == 'cuda':
        torch.cuda.synchronize()
    total_s = time.perf_counter() - t0
    delta_norm = None
    if deltas:
        with torch.no_grad():
            delta_norm = [round(float((s_tail * dl).norm() / b.norm()), 4) for dl, b in zip(deltas, base)]
    r4 = lambda v: round(v, 4)
    return dict(
        name=cfg['name'], mode=mode, epochs=o['epochs'], tail_lr=tail_lr if late else None,
        tail_wd=wd if late else None, freeze_expand=freeze_expand if late else None, seed=o['seed'],
        map_all={k: r4(v[0]) for k, v in res.items()}, map_at_1000={k: r4(v[1]) for k, v in res.items()},
        embedding=r4(emb[0]), embedding_at_1000=r4(emb[1]),
        train_seconds=round(train_s, 2), total_seconds=round(total_s, 2),
        loss_first=round(losses[0], 4), loss_last=round(losses[-1], 4),
        tail_relative_change=delta_norm,
    )


CONFIGS = [
    # priority order: the first two validate the replica against the tfjs figures (0.587 / 0.438).
    dict(name='off', mode='off'),
    dict(name='late-1e-3', mode='late', tail_lr=1e-3),
    dict(name='late-frozen', mode='late', tail_lr=0.0),
    dict(name='late-1e-4', mode='late', tail_lr=1e-4),
    dict(name='late-3e-4', mode='late', tail_lr=3e-4),
    dict(name='late-3e-5', mode='late', tail_lr=3e-5),
    dict(name='late-1e-5', mode='late', tail_lr=1e-5),
    dict(name='off-60ep', mode='off', epochs=60),
    dict(name='late-1e-4-60ep', mode='late', tail_lr=1e-4, epochs=60),
    dict(name='late-3e-4-60ep', mode='late', tail_lr=3e-4, epochs=60),
    dict(name='late-1e-3-60ep', mode='late', tail_lr=1e-3, epochs=60),
    dict(name='late-1e-3-wd10', mode='late', tail_lr=1e-3, tail_wd=10.0),
    dict(name='late-1e-3-wd100', mode='late', tail_lr=1e-3, tail_wd=100.0),
    dict(name='late-3e-4-wd100', mode='late', tail_lr=3e-4, tail_wd=100.0),
    dict(name='late-1e-3-noexpand', mode='late', tail_lr=1e-3, freeze_expand=True),
    dict(name='late-3e-4-noexpand', mode='late', tail_lr=3e-4, freeze_expand=True),
    dict(name='late-1e-4-noexpand', mode='late', tail_lr=1e-4, freeze_expand=True),
    dict(name='off-seed7', mode='off', seed=7),
    dict(name='late-1e-3-seed7', mode='late', tail_lr=1e-3, seed=7),
    dict(name='late-frozen-seed7', mode='late', tail_lr=0.0, seed=7),
    dict(name='late-3e-5-seed7', mode='late', tail_lr=3e-5, seed=7),
    dict(name='late-1e-4-seed7', mode='late', tail_lr=1e-4, seed=7),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default='.gpu-data')
    ap.add_argument('--configs', default='all')
    ap.add_argument('--budget', type=float, default=1e9, help='skip configurations that start after this many seconds')
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--seeds', default='', help='comma list: run every selected configuration once per seed (seeds outer)')
    ap.add_argument('--smoke', action='store_true', help='tiny split (20 train / 10 query per class), 2 epochs, K 16')
    ap.add_argument('--out', default=os.environ.get('OUT', '.'))
    args = ap.parse_args()
    started = time.perf_counter()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device(args.device)
    info = dict(torch=torch.__version__, device=str(device))
    if device.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(0)
        try:
            info['nvidia_smi'] = subprocess.run(['nvidia-smi', '--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'],
                                                capture_output=True, text=True, timeout=20).stdout.strip()
        except Exception as e:  # noqa: BLE001
            info['nvidia_smi'] = f'unavailable: {e}'
    d = load(args.data, device)
    sp = d['meta']['split']
    split = dict(train=sp['train'], queries=sp['queries'], database=sp['database'])
    if args.smoke:
        lab = d['labels'].cpu().numpy()
        pick = lambda idx, per: [i for c in range(10) for i in [j for j in idx if lab[j] == c][:per]]
        split = dict(train=pick(sp['train'], 20), queries=pick(sp['queries'], 10))
        qset = set(split['queries'])
        split['database'] = [i for i in sorted(split['train'] + pick(sp['database'], 40)) if i not in qset]
        split['database'] = sorted(set(split['database']))
    info['split'] = {k: len(v) for k, v in split.items()}
    info['tail_check'] = check_tail(d, device)
    with torch.no_grad():
        q = torch.tensor(split['queries'], device=device)
        db = torch.tensor(split['database'], device=device)
        info['float_cosine_pooled'] = round(mean_ap(cosine_scores(d['pooled'][q], d['pooled'][db]), d['labels'][q], d['labels'][db])[0], 4)
    if device.type == 'cuda':
        # CUDA context and kernels warm before the first timed configuration.
        w = [t.clone().requires_grad_(True) for t in d['tail']]
        tail_forward(d['maps'][:128], d['pooled'][:128], w).sum().backward()
        torch.cuda.synchronize()
    info['setup_seconds'] = round(time.perf_counter() - started, 2)
    print(json.dumps(info), flush=True)
    names = None if args.configs == 'all' else args.configs.split(',')
    configs = [c for c in CONFIGS if names is None or c['name'] in names]
    if args.seeds:
        configs = [dict(c, seed=int(sd), name=f"{c['name']}-s{sd}") for sd in args.seeds.split(',') for c in configs]
    results, skipped = [], []
    out_file = os.path.join(args.out, 'results.json')
    for cfg in configs:
        if time.perf_counter() - started > args.budget:
            skipped.append(cfg['name'])
            continue
        if args.smoke:
            cfg = dict(cfg, epochs=2, K=16)
        r = run_config(d, split, cfg, device, None)
        results.append(r)
        print(json.dumps(r), flush=True)
        with open(out_file, 'w') as f:
            json.dump(dict(info=info, results=results, skipped=skipped, elapsed_s=round(time.perf_counter() - started, 1)), f, indent=1)
    with open(out_file, 'w') as f:
        json.dump(dict(info=info, results=results, skipped=skipped, elapsed_s=round(time.perf_counter() - started, 1)), f, indent=1)
    print(json.dumps(dict(skipped=skipped, elapsed_s=round(time.perf_counter() - started, 1))), flush=True)


if __name__ == '__main__':
    main()
