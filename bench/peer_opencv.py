#!/usr/bin/python3
"""The Python peer of `vidflow bench`: the common Python way to run a
detector on a video, with Debian 12's python3-opencv (OpenCV 4.6).

OpenCV's VideoCapture decodes the clip, cv2.resize scales each frame to
the network's 512x512, OpenCV's DNN module runs the same CenterNet model
as vidflow's default detector (in the form OpenCV 4.6 loads, written by
`vidflow bench` with modelconv.RewriteForOpenCV), and NumPy decodes the
heat maps as vidflow's centernet parser does (3x3 peaks at >= threshold,
boxes from the wh distances, NMS per class at IoU 0.5, top 100).

One frame at a time, as such scripts are written. Prints one JSON object:
frames, seconds, fps, per-frame latency (frame read to detections), object
counts. Run with /usr/bin/python3 (the pyenv python3 first on PATH has no
cv2):

    /usr/bin/python3 bench/peer_opencv.py --clip vtest-720p.mp4 \\
        --model centernet-opencv.onnx --threads 2 [--frames 200]
"""

import argparse
import json
import sys
import time

import numpy as np

try:
    import cv2
except ImportError:
    print(json.dumps({"error": "no cv2: apt-get install python3-opencv (scripts/setup-bench.sh)"}))
    sys.exit(3)

NET = 512  # network input width and height
STRIDE = 4


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", required=True, help="video file")
    ap.add_argument("--model", required=True, help="CenterNet ONNX in OpenCV 4.6's form")
    ap.add_argument("--threads", type=int, default=0, help="cv2.setNumThreads (0: OpenCV's default)")
    ap.add_argument("--frames", type=int, default=0, help="stop after this many frames (0: the whole clip)")
    ap.add_argument("--threshold", type=float, default=0.25, help="pre-cluster threshold (the default config's)")
    ap.add_argument("--warmup", type=int, default=1, help="frames run before the clock starts (not counted)")
    return ap.parse_args()


def iou(a, b):
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def decode(heat, wh, threshold, fw, fh):
    """CenterNet peaks -> [(class, score, x1, y1, x2, y2)] in frame pixels."""
    cls, ys, xs = np.nonzero(heat >= threshold)
    c, h, w = heat.shape
    by_class = {}
    for k, y, x in zip(cls, ys, xs):
        v = heat[k, y, x]
        if v < heat[k, max(y - 1, 0):min(y + 2, h), max(x - 1, 0):min(x + 2, w)].max():
            continue
        cx, cy = x * STRIDE, y * STRIDE
        l, t, r, b = wh[:, y, x]
        box = (cx - l, cy - t, cx + r, cy + b)
        by_class.setdefault(int(k), []).append((float(v), box))
    sx, sy = fw / NET, fh / NET
    out = []
    for k, dets in by_class.items():
        dets.sort(key=lambda d: -d[0])
        kept = []
        for s, box in dets:
            if all(iou(box, kb) <= 0.5 for _, kb in kept):
                kept.append((s, box))
            if len(kept) == 100:
                break
        for s, (x1, y1, x2, y2) in kept:
            out.append((k, s, x1 * sx, y1 * sy, x2 * sx, y2 * sy))
    return out


def percentile(sorted_ms, p):
    if not sorted_ms:
        return 0.0
    i = min(len(sorted_ms) - 1, max(0, int(round(p / 100.0 * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[i]


def main():
    args = parse_args()
    if args.threads > 0:
        cv2.setNumThreads(args.threads)
    net = cv2.dnn.readNetFromONNX(args.model)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    cap = cv2.VideoCapture(args.clip)
    if not cap.isOpened():
        print(json.dumps({"error": "cv2.VideoCapture cannot open " + args.clip}))
        return 2

    def infer(frame):
        fh, fw = frame.shape[:2]
        img = cv2.resize(frame, (NET, NET), interpolation=cv2.INTER_LINEAR)
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        blob = img.astype(np.float32)[np.newaxis]  # [1, 512, 512, 3], NHWC, 0..255
        net.setInput(blob)
        heat, wh = net.forward(["heat", "wh"])
        return decode(heat[0], wh[0], args.threshold, fw, fh)

    warm = 0
    while warm < args.warmup:
        ok, frame = cap.read()
        if not ok:
            break
        infer(frame)
        warm += 1

    lat, objects, persons = [], 0, 0
    start = time.perf_counter()
    while args.frames <= 0 or len(lat) < args.frames:
        ok, frame = cap.read()
        if not ok:
            break
        t0 = time.perf_counter()
        dets = infer(frame)
        lat.append((time.perf_counter() - t0) * 1000)
        objects += len(dets)
        persons += sum(1 for d in dets if d[0] == 0)
    secs = time.perf_counter() - start
    cap.release()
    n = len(lat)
    lat.sort()
    print(json.dumps({
        "peer": "python3-opencv",
        "cv2": cv2.__version__,
        "python": sys.version.split()[0],
        "threads": cv2.getNumThreads(),
        "clip": args.clip,
        "frames": n,
        "warmup_frames": warm,
        "seconds": secs,
        "fps": n / secs if secs > 0 else 0.0,
        "latency_ms": {"p50": percentile(lat, 50), "p95": percentile(lat, 95), "p99": percentile(lat, 99),
                       "max": lat[-1] if lat else 0.0},
        "objects_per_frame": objects / n if n else 0.0,
        "persons_per_frame": persons / n if n else 0.0,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
