"""The batch's bookkeeping while it runs: which segment runs next, under which key, at which input
size, and what its result changes in the ledger and in the files of the segment before.

Parallelism is across chains (a camera's consecutive segments): the segments of one chain run
one after the other, in time order, because each takes over the people still in view at the end
of the one before. With ``workers`` slots, the chains with the most footage left go first.

Only the coordinator writes the ledger, after a segment's outputs are in place; see
:mod:`retail_intel.batch.ledger` for why a kill at any moment loses and duplicates nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from retail_intel.batch.carry import drop_claimed_in_store, people_files
from retail_intel.batch.executors import Executor
from retail_intel.batch.give_back import earlier_takeovers
from retail_intel.batch.ledger import DONE, FAILED, Ledger, LedgerEntry, file_stat
from retail_intel.batch.pending import Span, add_pending
from retail_intel.batch.request import BatchRequest, Runtime
from retail_intel.batch.segments import Segment, job_key, stage_hash
from retail_intel.batch.summary import BatchObserver, FileReport
from retail_intel.batch.superseded import earlier_versions, remove_outputs
from retail_intel.batch.work import SegmentOutcome, SegmentTask, disk_full, failure_reason
from retail_intel.config.loader import Config
from retail_intel.errors import RetailIntelError, Step
from retail_intel.movements.store import stored_tracks_metadata
from retail_intel.naming import CallerNames
from retail_intel.pipeline.autosize import SizeChoice, autosize_plan, sized_by
from retail_intel.pipeline.plan import ProcessPlan
from retail_intel.pipeline.video_tracks import source_key, tracks_identity


@dataclass
class Item:
    """One prepared segment and where the coordinator is with it."""

    index: int
    segment: Segment
    report: FileReport
    base: tuple[str, str, str]  # fingerprint, settings hash, model hash
    prev: int | None = None  # the segment of this batch it continues
    earlier: LedgerEntry | None = None  # ... or a segment finished by an earlier batch
    key: str | None = None
    entry: LedgerEntry | None = None  # its ledger entry once done (or skipped)


def entry_for(item: Item, outcome: SegmentOutcome, prev_key: str | None, data_dir: Path) -> LedgerEntry:
    segment = item.segment
    fingerprint, settings, model = item.base
    # the run's own duration: a variable-frame-rate file timed by its timestamps covers more (or
    # less) than frames / fps, and the next segment and the KPI windows to redo follow it
    duration = (
        float(outcome.summary["duration_s"])
        if outcome.ok and outcome.summary and outcome.summary.get("duration_s") is not None
        else outcome.frames / segment.fps
        if outcome.ok and outcome.frames
        else segment.duration_s
    )
    return LedgerEntry(
        key=outcome.key,
        status=DONE if outcome.ok else FAILED,
        video=str(segment.job.video),
        fingerprint=fingerprint,
        size=segment.size,
        mtime_ns=segment.mtime_ns,
        settings_hash=settings,
        tracks_hash=stage_hash(segment.plan, "track"),
        judge_hash=stage_hash(segment.plan, "judge"),
        preview=segment.plan.is_preview,
        cut_short=segment.cut_short,
        model_hash=model,
        prev_key=prev_key,
        branch=segment.plan.branch_id,
        camera=segment.plan.camera_id,
        start_time=segment.start_time.isoformat(),
        duration_s=duration,
        movements=outcome.movements,
        movements_stat=file_stat(data_dir / outcome.movements) if outcome.movements else None,
        carry=outcome.carry,
        claimed=outcome.claimed,
        frames=outcome.frames,
        seconds=outcome.seconds,
        reason=outcome.reason,
    )


class Coordinator:
    def __init__(
        self,
        request: BatchRequest,
        runtime: Runtime,
        observer: BatchObserver,
        config: Config,
        ledger: Ledger,
        *,
        names: Mapping[str, str] | None = None,
        steps: Mapping[Step, str] | None = None,
    ) -> None:
        self.request = request
        self.steps = steps  # how the caller words an error's next step in a file's reason
        # what the reasons call request.retry_failed: the caller's flag (--retry-failed) when it passes one
        self.retry_failed_name = CallerNames(names, "request.")("retry_failed")
        self.runtime = runtime
        self.observer = observer
        self.config = config
        self.ledger = ledger
        self.data_dir = request.data_dir
        self.items: list[Item] = []
        self.changed: list[tuple[str, dt.datetime, dt.datetime]] = []  # (branch, start, end) whose data changed
        self.owed: list[Span] = []  # spans recorded in kpis-pending.json by this batch
        self.notes: list[str] = []  # for the summary
        self.redo: set[int] = set()  # items run even though their key is done (see give_back)
        # the automatic input size per camera (and detector: a manifest row may change the model)
        self.sizes: dict[tuple[object, ...], SizeChoice] = {}
        # a camera's latest probe that found too few people to size on (kept for the summary until one does)
        self.undecided: dict[tuple[object, ...], SizeChoice] = {}
        # set once a file failed because the data directory's disk is full: why no file starts after it
        self.full_disk: str | None = None

    def _owe_kpis(self, entry: LedgerEntry) -> None:
        """Record the entry's span as owing KPIs before its ledger line makes it count as done."""
        # a preview's outputs are under previews/, which KPIs never read: it owes none
        if self.request.kpis and not entry.preview:
            start = dt.datetime.fromisoformat(entry.start_time)
            add_pending(
                self.data_dir, [(entry.branch, start, start + dt.timedelta(seconds=entry.duration_s or 0.0))], self.owed
            )

    # -- keys -----------------------------------------------------------------------------------

    def prev_key(self, item: Item) -> str | None:
        if item.prev is not None:
            before = self.items[item.prev]
            return before.entry.key if before.entry is not None else None
        return item.earlier.key if item.earlier is not None else None

    def key_of(self, item: Item, prev_key: str | None) -> str:
        return job_key(*item.base, prev_key)

    # -- files of the segment before ---------------------------------------------------------------

    def _hand_over(self, before: LedgerEntry, claimed: tuple[str, ...]) -> LedgerEntry:
        """Remove ``claimed`` people from the earlier segment's files and record its new state."""
        changed = False
        # their zone and queue visits too: the next segment judged its zones over the whole person
        for rel in people_files(before.movements):
            changed |= drop_claimed_in_store(self.data_dir, rel, claimed)
        if not changed or before.movements is None:
            return before
        refreshed = replace(
            before,
            movements_stat=file_stat(self.data_dir / before.movements),
            recorded_at=dt.datetime.now(dt.UTC).isoformat(),
        )
        self._owe_kpis(refreshed)
        self.ledger.append(refreshed)
        self._note_change(refreshed)
        return refreshed

    def _replace_earlier_versions(self, entry: LedgerEntry) -> None:
        """Remove the outputs of what this path held before (a file then still being recorded)."""
        for old in earlier_versions(self.ledger, entry):
            self._owe_kpis(old)  # its people leave the store: its days' KPIs change
            if remove_outputs(self.data_dir, old):
                self._note_change(old)
                self.notes.append(
                    f"{Path(entry.video).name}: the earlier version processed {old.recorded_at[:19]} "
                    f"({old.frames} frames, content changed since) was replaced"
                )

    def _moved_from(self, entry: LedgerEntry) -> LedgerEntry | None:
        """The run of the same video whose outputs ``entry``'s replaced, when it covered another span.

        Outputs are named by camera and content (in any branch and day), so a video redone with
        another start (a corrected manifest start, a branch's timezone fixed), frame rate or branch
        replaces the earlier run's files, and its people leave the hours they were counted in: those
        days' KPIs change too, not only the new ones. Only the latest such run still had files there.
        """
        earlier = [
            old
            for old in self.ledger.of_content(entry.fingerprint)
            if old.status == DONE
            and old.key != entry.key
            and (old.camera, old.preview) == (entry.camera, entry.preview)
        ]
        if not earlier:
            return None
        latest = max(earlier, key=lambda old: old.recorded_at)
        if (latest.branch, latest.start_time, latest.duration_s) == (entry.branch, entry.start_time, entry.duration_s):
            return None
        return latest

    def plan_give_backs(self) -> None:
        """Redo the segment a segment to be redone had taken people over from (planned keys set)."""
        by_key = {item.key: item for item in self.items if item.key is not None}
        contents = {item.base[0] for item in self.items}
        for item in self.items:
            if item.key is None or self.ledger.done(item.key) is not None:
                continue
            plan = item.segment.plan
            for old in earlier_takeovers(
                self.ledger, item.base[0], plan.branch_id, plan.camera_id, item.key, preview=plan.is_preview
            ):
                assert old.prev_key is not None
                if old.prev_key in by_key:
                    self.redo.add(by_key[old.prev_key].index)
                    continue
                before = self.ledger.done(old.prev_key)
                if before is not None and before.fingerprint not in contents:
                    self.notes.append(
                        f"{item.segment.job.video.name} is redone without {Path(before.video).name}, which it had "
                        f"taken {len(old.claimed)} people over from: process both together to give them back"
                    )

    def _note_change(self, entry: LedgerEntry) -> None:
        if entry.preview:  # KPIs never read previews/: recomputing them would change nothing
            return
        start = dt.datetime.fromisoformat(entry.start_time)
        self.changed.append((entry.branch, start, start + dt.timedelta(seconds=entry.duration_s or 0.0)))

    # -- scheduling -------------------------------------------------------------------------------

    def resolve_without_running(self, item: Item) -> bool:
        """Settle ``item`` if its key is done (skip) or failed before; False when it must run."""
        prev_key = self.prev_key(item)
        item.key = self.key_of(item, prev_key)
        done = self.ledger.done(item.key) if item.index not in self.redo else None
        if done is not None:
            item.entry = done
            item.report.status = "skipped"
            item.report.reason = "done earlier with the same content, settings and model"
            item.report.movements = done.movements
            # what the run that did it found: its ledger entry names the segment it continued and
            # the people it took over from it
            item.report.joined_previous = done.prev_key is not None
            item.report.taken_over = len(done.claimed)
            self.observer.finished(item.report)
            return True
        failed = self.ledger.failed(item.key)
        if failed is not None and not self.request.retry_failed:
            item.report.status = "failed"
            item.report.reason = (
                f"failed earlier (same file and settings; {self.retry_failed_name} tries again): {failed.reason}"
            )
            self.observer.finished(item.report)
            return True
        return False

    def _sized(self, segment: Segment, before: LedgerEntry | None = None) -> ProcessPlan:
        """The segment's plan at its camera's automatic input size, probed on the camera's first
        file that is detected and shows enough people to size on.

        A segment that continues one done before (``before``: a batch stopped and run again, or a
        file delivered after its predecessor's night) goes on at the size that one was sized at,
        so the chain runs at one size, as in one uninterrupted batch, instead of being sized again.

        Once per camera and batch, not per file: the cameras do not move between files, and each
        probe loads models and detects at the largest size. A file whose stored tracks fit its plan
        is re-judged without detecting, so it needs no size. A probe that fails (an unreadable file)
        decides nothing: that file fails on its own, and the camera's next file probes. Nor does a
        probe that finds too few people: a night's first files are a closed shop, and sizing a far
        camera on them would run the whole night at the default size, where its people are lost.
        That file runs at the default for want of evidence (the probe sees a few frames, so it
        may hold people the probe missed) and the camera's next file probes again: a probe costs
        a few frames at two sizes, little beside a file of footage.
        """
        plan = segment.plan
        if not plan.auto_size or plan.size_choice is not None:
            return plan
        s = plan.settings
        camera = (plan.branch_id, plan.camera_id, s.model, s.backend, s.precision, s.device, s.detect_margin)
        if camera not in self.sizes:
            stored = stored_tracks_metadata(self.data_dir, source_key(plan.camera_id, segment.fingerprint))
            if stored is not None and stored.get("identity") == tracks_identity(plan):
                return plan  # re-judged from its stored tracks: nothing to size yet
            carried = self._size_of(before, plan)
            if carried is not None:
                self.sizes[camera] = carried
                self.undecided.pop(camera, None)
                return sized_by(plan, carried)
            try:
                choice = autosize_plan(plan, self.runtime.detector_factory)[1]
            except Exception:  # whatever breaks the probe breaks the file's own run too, reported there
                return plan
            if not choice.decided:
                self.undecided[camera] = choice
                return sized_by(plan, choice)
            self.sizes[camera] = choice
            self.undecided.pop(camera, None)
        return sized_by(plan, self.sizes[camera])

    def _size_of(self, before: LedgerEntry | None, plan: ProcessPlan) -> SizeChoice | None:
        """The automatic size the done segment ``before`` was sized at, if it ran with ``plan``'s
        tracking settings and that size was decided (on enough people)."""
        if before is None or before.preview != plan.is_preview:
            return None
        if (before.branch, before.camera) != (plan.branch_id, plan.camera_id):
            return None
        stored = stored_tracks_metadata(self.data_dir, source_key(before.camera, before.fingerprint))
        if stored is None or stored.get("identity") != tracks_identity(plan):
            return None
        try:
            choice = SizeChoice.from_dict(json.loads(stored.get("input_size", "null")))
        except (TypeError, ValueError, AttributeError):
            return None  # sized by hand, or stored before the size was recorded
        return choice if choice.decided else None

    def task_for(self, item: Item) -> SegmentTask:
        assert item.key is not None
        before = self.items[item.prev].entry if item.prev is not None else item.earlier
        return SegmentTask(
            index=item.index,
            key=item.key,
            plan=self._sized(item.segment, before),
            start_time=item.segment.start_time,
            carry_from=self.prev_key(item),
            steps=self.steps,
        )

    def record(self, item: Item, outcome: SegmentOutcome) -> None:
        """Book a finished segment: hand-over on the files before, then the ledger entry."""
        report = item.report
        prev_key = self.prev_key(item)
        moved: LedgerEntry | None = None
        try:
            if outcome.ok:
                before = self.items[item.prev].entry if item.prev is not None else item.earlier
                # a preview never takes people out of a full run's files (nor the other way round)
                if outcome.claimed and before is not None and before.preview == item.segment.plan.is_preview:
                    refreshed = self._hand_over(before, outcome.claimed)
                    if item.prev is not None:
                        self.items[item.prev].entry = refreshed
                nxt = self._next_done(item, outcome.key)
                if nxt is not None and nxt.claimed:
                    # Redone while the segment after it is still done: it takes its people back.
                    assert outcome.movements is not None
                    for rel in people_files(outcome.movements):
                        drop_claimed_in_store(self.data_dir, rel, nxt.claimed)
            entry = entry_for(item, outcome, prev_key, self.data_dir)
            if outcome.ok:
                self._replace_earlier_versions(entry)
                moved = self._moved_from(entry)
                if moved is not None:
                    self._owe_kpis(moved)
                self._owe_kpis(entry)
            if outcome.ok or outcome.permanent:
                self.ledger.append(entry)
        except (RetailIntelError, OSError) as exc:
            outcome = replace(
                outcome,
                ok=False,
                reason=f"recording the result failed: {failure_reason(exc, self.steps)}",
                disk_full=disk_full(exc),
            )
            entry = None
        if outcome.disk_full and self.full_disk is None:
            self.full_disk = (
                f"not started: the disk of the data directory {self.data_dir} is full "
                f"({Path(item.segment.job.video).name} could not be written); "
                "free some space and run the command again"
            )
        report.seconds = outcome.seconds
        if outcome.ok and entry is not None:
            item.entry = entry
            summary = outcome.summary or {}
            report.status = "done"
            report.frames = outcome.frames
            report.people = summary.get("people")
            report.entered = summary.get("entered")
            report.passed = summary.get("passed")
            report.movements = outcome.movements
            report.joined_previous = prev_key is not None
            report.taken_over = len(outcome.claimed)
            if moved is not None:
                self._note_change(moved)
            self._note_change(entry)
        else:
            report.status = "failed"
            report.reason = outcome.reason
        self.observer.finished(report)

    def _next_done(self, item: Item, key: str) -> LedgerEntry | None:
        for other in self.items:
            if other.prev == item.index:
                return self.ledger.done(self.key_of(other, key))
        return None

    def run(self, executor: Executor) -> None:
        successors = {i.prev: i.index for i in self.items if i.prev is not None}
        heads = [i for i in self.items if i.prev is None]
        remaining = {h.index: self._chain_cost(h.index, successors) for h in heads}
        # cursor per chain: the next item of the chain to settle
        cursors: dict[int, int | None] = {h.index: h.index for h in heads}
        in_flight: dict[int, int] = {}  # item index -> chain head
        while True:
            for head in sorted(cursors, key=lambda h: -remaining[h]):
                # on a full disk nothing starts, so every chain is settled at once, full slots or not
                if len(in_flight) >= executor.capacity and self.full_disk is None:
                    break
                if head in in_flight.values():
                    continue
                current = cursors[head]
                while current is not None and self.resolve_without_running(self.items[current]):
                    current = successors.get(current)
                cursors[head] = current
                if current is None:
                    continue
                if self.full_disk is not None:
                    self._not_run(current, successors, self.full_disk)
                    cursors[head] = None
                    continue
                item = self.items[current]
                executor.submit(self.task_for(item))
                in_flight[current] = head
                self.observer.started(item.report)
            cursors = {h: c for h, c in cursors.items() if c is not None}
            if not in_flight:
                return
            for outcome in executor.wait(0.25):
                item = self.items[outcome.index]
                head = in_flight.pop(outcome.index)
                self.record(item, outcome)
                remaining[head] -= _cost(item.segment)
                cursors[head] = successors.get(outcome.index)

    def _not_run(self, current: int | None, successors: dict[int, int], reason: str) -> None:
        """Report ``current`` and the rest of its chain as not run: never started, so the ledger
        has no line of them and the next batch does them (their keys follow the one before, so
        none of them is looked up as done here)."""
        while current is not None:
            report = self.items[current].report
            report.status = "not run"
            report.reason = reason
            self.observer.finished(report)
            current = successors.get(current)

    def _chain_cost(self, head: int, successors: dict[int, int]) -> float:
        total, current = 0.0, head
        while True:
            total += _cost(self.items[current].segment)
            if current not in successors:
                return total
            current = successors[current]

    def on_progress(self, index: int, done: int, total: int | None) -> None:
        item = self.items[index]
        self.observer.progress(item.report, done, total)


def _cost(segment: Segment) -> float:
    """Rough detector work of a segment, to start the longest chains first."""
    spec = segment.plan.detector
    frames = segment.frames_estimate or 1
    return frames / segment.plan.stride * (spec.imgsz / 640) ** 2 * spec.tiles**2
