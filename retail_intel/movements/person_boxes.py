"""Judged people as boxes, frame by frame: the per-frame view of a video that ``retail-intel tracks`` exports."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from retail_intel.movements.events import Judgement, SourceInfo, customer_id
from retail_intel.movements.schema import PERSON_BOX_SCHEMA


def person_boxes_table(judgement: Judgement, source: SourceInfo) -> pa.Table:
    """Every sample of every judged person as a box (:data:`PERSON_BOX_SCHEMA`), sorted by frame then person.

    People are numbered 1, 2, ... in order of first appearance; ``customer_id`` is the movements' id.
    A box is the one the tracker gave: ``x1 = x - width / 2``, ``y1 = y - height``, and its bottom
    ``y2`` is the foot point's ``y``, except where the feet were hidden behind someone nearer: there
    the box ends above the feet the person was judged on (:mod:`retail_intel.movements.hidden_feet`).
    """
    people = sorted(
        zip(judgement.people, judgement.verdicts, strict=True), key=lambda pv: (pv[0].start, pv[0].track_id)
    )
    if not people:
        return PERSON_BOX_SCHEMA.empty_table()
    cat = np.concatenate
    frame = cat([p.frames for p, _ in people])
    number = cat([np.full(len(p), k, np.int64) for k, (p, _) in enumerate(people, start=1)])
    order = np.lexsort((number, frame))
    half = [p.box_width / 2 for p, _ in people]
    numeric = {
        "frame": frame,
        "person": number,
        "track_id": cat([np.full(len(p), p.track_id, np.int64) for p, _ in people]),
        "x1": cat([p.x - h for (p, _), h in zip(people, half, strict=True)]),
        "y1": cat([p.y - p.height for p, _ in people]),
        "x2": cat([p.x + h for (p, _), h in zip(people, half, strict=True)]),
        "y2": cat([p.box_bottom for p, _ in people]),
        "confidence": cat([p.confidence for p, _ in people]),
    }
    ids = [customer_id(source.video_fingerprint, source.camera_id, p.track_id) for p, _ in people]
    index = (number - 1)[order]  # which person each sorted row belongs to
    start = source.start_time.astimezone(dt.UTC)
    seconds = cat([p.t for p, _ in people])[order]
    n = len(order)
    data: dict[str, object] = {name: values[order] for name, values in numeric.items()}
    data |= {
        "time": [start + dt.timedelta(seconds=float(s)) for s in seconds],
        "customer_id": [ids[i] for i in index.tolist()],
        "action_type": [people[i][1].action for i in index.tolist()],
        "branch_id": [source.branch_id] * n,
        "camera_id": [source.camera_id] * n,
        "video_fingerprint": [source.video_fingerprint] * n,
    }
    return pa.Table.from_arrays(
        [pa.array(data[f.name], type=f.type) for f in PERSON_BOX_SCHEMA], schema=PERSON_BOX_SCHEMA
    )
