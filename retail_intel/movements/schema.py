"""The one Parquet contract for movement events (the seed's ``customer_branch_movement``).

Every writer (``process``, ``ingest``) produces exactly this schema and every
reader (KPIs, SQL views, serve) may rely on it.
"""

from __future__ import annotations

import pyarrow as pa

ACTION_TYPES = ("entered", "passed")

_TS = pa.timestamp("us", tz="UTC")

MOVEMENT_SCHEMA = pa.schema(
    [
        pa.field("customer_id", pa.string(), nullable=False),  # UUID, deterministic per video/camera/person
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("camera_id", pa.string()),  # null for ingested rows without a camera
        pa.field("action_type", pa.string(), nullable=False),  # one of ACTION_TYPES
        pa.field("enter_time", _TS, nullable=False),  # first moment inside the ROI
        pa.field("exit_time", _TS, nullable=False),  # last moment inside the ROI
        pa.field("exit_observed", pa.bool_(), nullable=False),  # false: still inside when the video ended
        pa.field("dwell_seconds", pa.float64(), nullable=False),  # exit_time - enter_time
        pa.field("first_seen", _TS, nullable=False),  # first moment the person was tracked anywhere
        pa.field("last_seen", _TS, nullable=False),
        pa.field("track_id", pa.int64()),  # tracker id of the person's first fragment
        pa.field("n_frames", pa.int64()),  # frames with a detection of this person
        pa.field("mean_confidence", pa.float64()),
        pa.field("source_video", pa.string(), nullable=False),  # file name (or ingest file) it came from
        pa.field("video_fingerprint", pa.string(), nullable=False),  # content hash of the source
        pa.field("model", pa.string()),  # detector weights used; null for ingested rows
        pa.field("processed_at", _TS, nullable=False),
        # Added by issue 18 (staff, groups, occupancy). Files written before
        # lack them and read back as nulls; each null has a documented meaning
        # (see MOVEMENT_NULL_MEANS) so old data keeps its old KPIs.
        pa.field("is_staff", pa.bool_()),  # judged to be an employee (retail_intel.movements.staff)
        pa.field("staff_reason", pa.string()),  # the evidence, e.g. "staff zone 312 s"; null if not staff
        pa.field("group_id", pa.string()),  # shared by people moving together; null: alone
        pa.field("line_in", pa.int64()),  # door-line crossings inwards; null: camera without a line
        pa.field("line_out", pa.int64()),
    ]
)

# The columns a file may lack (written before they existed) and what a null in them means.
MOVEMENT_NULL_MEANS = {
    "is_staff": "not judged: a customer",
    "staff_reason": "no staff evidence",
    "group_id": "alone (a buying unit of one)",
    "line_in": "no door line: entries and exits come from enter/exit times",
    "line_out": "no door line",
}

MOVEMENT_COLUMNS = tuple(MOVEMENT_SCHEMA.names)

# A person's sampled path, kept beside the movements so pictures (heatmaps,
# paths) and later analyses need no reprocessing. One row per sample.
TRAJECTORY_SCHEMA = pa.schema(
    [
        pa.field("customer_id", pa.string(), nullable=False),  # as in movements; also for people not counted
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("camera_id", pa.string(), nullable=False),
        pa.field("action_type", pa.string()),  # entered / passed, null when the person was not an event
        pa.field("time", _TS, nullable=False),
        pa.field("frame", pa.int64(), nullable=False),
        pa.field("x", pa.float32(), nullable=False),  # foot point, pixels of the camera frame
        pa.field("y", pa.float32(), nullable=False),
        pa.field("inside_roi", pa.bool_(), nullable=False),
        pa.field("video_fingerprint", pa.string(), nullable=False),
    ]
)

# Every box the tracker confirmed, at full frame rate, as the tracker gave it:
# judging settings (ROI, line, dwell) can be changed and the video re-judged
# from this table in seconds, and `retail-intel tracks` exports it. One row per
# box; ``track_id`` is the tracker's raw id (people are stitched from these).
TRACK_SCHEMA = pa.schema(
    [
        pa.field("frame", pa.int64(), nullable=False),  # decoded frame index, 0-based
        pa.field("t", pa.float64(), nullable=False),  # seconds from the start of the video
        pa.field("track_id", pa.int64(), nullable=False),
        pa.field("x1", pa.float32(), nullable=False),
        pa.field("y1", pa.float32(), nullable=False),
        pa.field("x2", pa.float32(), nullable=False),
        pa.field("y2", pa.float32(), nullable=False),
        pa.field("confidence", pa.float32(), nullable=False),
        # a track's appearance descriptors (colour histograms, for stitching people who stood
        # hidden): their sum and count, on the track's last row only
        pa.field("appearance_sum", pa.list_(pa.float64())),
        pa.field("appearance_n", pa.int64()),
        # the share of the upper body inside the branch's uniform colour (staff rule), per sample:
        # its sum and count, on the track's last row only; null when no uniform was configured.
        # Files written before these columns read them as null (not measured).
        pa.field("uniform_sum", pa.float64()),
        pa.field("uniform_n", pa.int64()),
    ]
)

# Every box of every judged person, frame by frame (``retail-intel tracks``): the stitched people
# that the movements count, on the tracker's boxes, for users' own analytics and annotators.
PERSON_BOX_SCHEMA = pa.schema(
    [
        pa.field("frame", pa.int64(), nullable=False),  # decoded frame index, 0-based (MOT files: + 1)
        pa.field("time", _TS, nullable=False),
        pa.field("person", pa.int64(), nullable=False),  # 1, 2, ... in order of first appearance
        pa.field("customer_id", pa.string(), nullable=False),  # as in movements and trajectories
        pa.field("track_id", pa.int64(), nullable=False),  # tracker id of the person's first fragment
        pa.field("x1", pa.float32(), nullable=False),
        pa.field("y1", pa.float32(), nullable=False),
        pa.field("x2", pa.float32(), nullable=False),
        pa.field("y2", pa.float32(), nullable=False),
        pa.field("confidence", pa.float32(), nullable=False),
        pa.field("action_type", pa.string()),  # entered / passed; null when the person was not an event
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("camera_id", pa.string(), nullable=False),
        pa.field("video_fingerprint", pa.string(), nullable=False),
    ]
)
