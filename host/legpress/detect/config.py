"""Detector settings and per-person profiles."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Self

from legpress.errors import ConfigError

#: The depth bin of a profile's ``clean_share_by_depth`` (the detector's default bin).
PROFILE_BIN_MM = 10.0


def rebin_shares(
    shares: tuple[float | None, ...], from_mm: float, to_mm: float
) -> tuple[float | None, ...]:
    """Shares per ``from_mm`` of depth as shares per ``to_mm``: each new bin takes the old bin
    that holds its middle."""
    if from_mm == to_mm:
        return shares
    n = int(len(shares) * from_mm / to_mm)
    return tuple(shares[min(int((j + 0.5) * to_mm // from_mm), len(shares) - 1)] for j in range(n))


def shares_depth_mm(shares: tuple[float | None, ...] | None, bin_mm: float) -> float | None:
    """How deep a share per ``bin_mm`` of depth reaches: the bottom of its deepest known bin
    (None: no bin known)."""
    known = [k for k, x in enumerate(shares or ()) if x is not None]
    return (known[-1] + 1) * bin_mm if known else None


def check_shares(name: str, values: object) -> tuple[float | None, ...]:
    """A share-per-depth sequence (a tuple, or a list from JSON) as a tuple of finite shares
    (0 or more) and None.

    Raises:
        ConfigError: not a sequence of numbers and None.
    """
    if isinstance(values, str | bytes) or not isinstance(values, tuple | list):
        raise ConfigError(f"{name} must be a list of shares (numbers or null), got {values!r}")
    out: list[float | None] = []
    for x in values:
        if x is None:
            out.append(None)
            continue
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) or x < 0:
            raise ConfigError(
                f"{name} must hold shares (finite numbers, 0 or more) or null, got {x!r}"
            )
        out.append(float(x))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Thresholds of the streaming detectors. Every field carries its unit.

    Rep tracking:
        rep_start_mm: the sled must go this far below the top before a rep begins.
        near_top_mm: within this of the top the sled counts as "at the top" (rep start time).
        reverse_mm: the bottom is confirmed once the sled comes back up this far.
        rep_end_min_mm: a rep ends when the sled is back within this of the top ...
        rep_end_fraction: ... or within this fraction of the rep's travel, whichever is larger.
        min_rep_mm: shallower excursions are not reps.
        max_rep_s: a rep that takes longer than this is abandoned (the person stopped).
        velocity_window_s: sled velocity is the travel over this window.

    The pad (every quantity is a ratio of loads, so any unit proportional to pressure works):
        baseline_s: each cell's baseline is its mean load over this long at the top, before
            each rep.
        contact_fraction: a cell whose baseline is below this fraction of the most loaded
            cell's is not in contact (or dead) and is left out.
        min_load_fraction: nobody is leaning on the pad when the baseline total is below this
            fraction of the largest baseline total seen in the session.
        lower_back_mm: the lower back is the cells in contact among the strip's lowest
            ``round(lower_back_mm / pitch)`` positions (the ~120 mm of the sacrum and the lowest
            lumbar level; 3 cells at 40 mm); the cells in contact above them are the rest of
            the back.

    Lumbar lift-off, on the lower-back share: the lower back's load over its baseline, divided
    by the rest of the back's load over its own baseline (1: the load is spread as at the top;
    leg force, units and cell gains cancel). ``position`` places it between the person's floor
    (the share their lower back keeps once off the pad: 0 on an ideal pad, more with foam,
    crosstalk and the seat corner) and their clean reps at the same depth::

        position = (share - floor) / (clean share at this depth - floor)

    1 is a usual rep, 0 is the floor.
        liftoff_position: lift-off when the position stays below this ...
        liftoff_min_on_s: ... for at least this long.
        liftoff_shift_total: the load has moved up the back when the whole pad carries at
            least this many times its load at the top (the legs press the back into the pad)
            while the lower back's share falls: a lower back that kept its contact would carry
            its part of that extra load. Foam, crosstalk and the seat corner keep 0-60 % of a
            lifted lower back's load, so its share never collapses to the floor; then ...
        liftoff_shift_position: ... lift-off fires below this position instead (once their
            lift-off depth is known, only within the tilt warning's reach of it). While the
            pad carries less, a lower back easing off with the rest of the back is no
            lift-off, and the stricter ``liftoff_position`` holds; but past the depth where
            this person's back has lifted (``Analyzer.lift_off_depth_mm``: in the session or
            from calibration) the shift level holds whatever the pad carries (path
            ``depth``): the sled going deeper than their hips allow is what makes the back
            lift, and there the load may go into the seat instead of up the back.
        liftoff_shift_first_position: ... but below this stricter level until a clean rep of
            this person is known (in the session, or from calibration): until then a rep is
            compared with its own top alone, and the clean reps of some people halve their
            share at depth under a hard leg press.
        liftoff_shift_max_position: ... or higher, up to this, for a person whose clean reps
            stay close to usual: the level is ``1 - liftoff_shift_dip_factor`` times the
            deepest dip below usual of their last 5 clean reps while the load had moved up
            (clean reps that dip 5 % put it at 0.7; 25 % and more, at 0.5) ...
        liftoff_shift_dip_factor: ... see above.
        floor_max: the floor learned from this person's lift-offs is capped at this share (a
            lift-off that kept much of its load would otherwise shrink the span and make
            every small dip a lift-off).
        liftoff_recover_position: the episode ends when it is back above this ...
        liftoff_min_off_s: ... for at least this long.
        tilt_warning_position: an earlier ``tilt_warning`` (lowering only, once per rep, before
            any lift-off) when the position stays below this for ``tilt_warning_min_s``.
        tilt_warning_min_s: see above.
        tilt_warning_shift_position: the warning level while the load has moved up (see
            ``liftoff_shift_total``), as far above the shift path's lift-off level in force as
            this lies above ``liftoff_shift_position``; a clean rep whose position fell below
            it there is not learned as this person's clean share at that depth.
        tilt_warning_start: it also fires, below this position, when the position falls fast
            enough to reach ``liftoff_position`` within ``tilt_warning_lead_s`` ...
        tilt_warning_lead_s: ... (reaction time plus stopping time, as for ``rom_warning``) ...
        tilt_warning_trend_s: ... at the rate it fell over the last this long. That trend is
            only followed once this person's back has been seen to lift (in the session or in
            calibration), and either kind of warning waits until the sled is within
            ``tilt_warning_lead_s`` at its speed of the shallowest depth of their last lifts.
        tilt_warning_depth_lead_s: it also fires, whatever the pad shows, when the sled would
            reach that depth (the shallowest of this person's last lifts, or the calibrated
            one) within this time at its speed: the back lifts where the hips run out of
            range, and the pad's signal comes too late to stop in time. 0 disables it.
        reference_bin_mm: clean reps are remembered per this much sled depth.
        reference_weight: weight of the newest clean rep in each depth bin (moving average).
        liftoff_front_share: lift-off also fires when the contact front has passed the lower
            back: the first cell above it carries less than this share of the load, relative to
            the cells above it and to the top (its own ratio to baseline over theirs), for
            ``liftoff_min_on_s`` ...
        liftoff_top_empty: ... or the highest lower-back cell carries less than this share
            (it is empty: the pad no longer touches the back there), even while the cells below
            it keep load. The seat corner and foam do not load these cells, so this path holds
            where the lower back keeps much of its load; a lift-off it confirms teaches the
            floor (the lowest lower-back share of that rep), so later lift-offs of this person
            fire on the faster lower-back path. The front signal shown is the lower of the two,
            the highest cell's scaled by ``liftoff_front_share / liftoff_top_empty`` so that
            both cross the same line.

    What calibration learned of this person (None: nothing yet; both are learned again as the
    session goes, and the session's own lift-offs take over):
        lift_off_depth_mm: the sled depth where their lower back began to lift (the tilt
            warning's reach before the session shows a lift-off).
        lift_off_floor: the lower-back share their back kept once off the pad (the floor of
            the position before the session shows a lift-off).
        clean_share_by_depth: their lower-back share per ``reference_bin_mm`` of sled depth
            (the first bin from the top) in the calibration reps, over the range calibration
            found safe (None: a bin it did not reach): the clean reference the first reps of a
            session are compared with, before the session's own clean reps take over.

    Range of motion:
        rom_limit_mm: the person's limit (sled travel from the top); None disables ROM alerts.
        rom_warning_lead_s: warn when the sled would reach the limit within this time at its
            current speed (reaction time plus stopping time) ...
        rom_warning_min_mm: ... and in any case this far before the limit.

    Form checks:
        fast_lowering_s: a lowering phase shorter than this is too fast.
        bounce_velocity_mm_s: arriving at the bottom faster than this ...
        bounce_reversal_s: ... and reversing within this time is a bounce.
        bounce_window_s: the arrival speed is measured over this window before the bottom.
        lockout_depth_mm: the sled coming up this far past the set's own top (negative: above
            it; the top where the set's first rep started, knees soft) means the knees locked.
            Each set has its own top: people sit a few mm differently after a rest.
        set_gap_s: a pause at the top longer than this ends a set (the rest between sets);
            the next rep starts a new set, with its own top. The one rule for sets
            (:meth:`starts_new_set`): the detector, the live session, the store and the
            reports all split sets with it.
    """

    rep_start_mm: float = 15.0
    near_top_mm: float = 5.0
    reverse_mm: float = 8.0
    rep_end_min_mm: float = 15.0
    rep_end_fraction: float = 0.2
    min_rep_mm: float = 40.0
    max_rep_s: float = 20.0
    velocity_window_s: float = 0.05
    baseline_s: float = 0.5
    contact_fraction: float = 0.15
    min_load_fraction: float = 0.1
    lower_back_mm: float = 120.0
    liftoff_position: float = 0.1
    liftoff_min_on_s: float = 0.05
    liftoff_shift_total: float = 1.15
    liftoff_shift_position: float = 0.5
    liftoff_shift_first_position: float = 0.3
    liftoff_shift_max_position: float = 0.7
    liftoff_shift_dip_factor: float = 2.0
    floor_max: float = 0.4
    liftoff_recover_position: float = 0.75
    liftoff_min_off_s: float = 0.1
    tilt_warning_position: float = 0.5
    tilt_warning_min_s: float = 0.03
    tilt_warning_shift_position: float = 0.7
    tilt_warning_start: float = 0.9
    tilt_warning_lead_s: float = 0.5
    tilt_warning_trend_s: float = 0.1
    tilt_warning_depth_lead_s: float = 0.2
    reference_bin_mm: float = 10.0
    reference_weight: float = 0.3
    liftoff_front_share: float = 0.3
    liftoff_top_empty: float = 0.1
    lift_off_depth_mm: float | None = None
    lift_off_floor: float | None = None
    clean_share_by_depth: tuple[float | None, ...] | None = None
    rom_limit_mm: float | None = None
    rom_warning_lead_s: float = 0.3
    rom_warning_min_mm: float = 15.0
    fast_lowering_s: float = 1.0
    bounce_velocity_mm_s: float = 250.0
    bounce_reversal_s: float = 0.15
    bounce_window_s: float = 0.1
    lockout_depth_mm: float = -5.0
    set_gap_s: float = 8.0

    def __post_init__(self) -> None:
        if self.clean_share_by_depth is not None:
            # A list (JSON) becomes a tuple: the settings stay frozen and hashable.
            shares = check_shares("clean_share_by_depth", self.clean_share_by_depth)
            object.__setattr__(self, "clean_share_by_depth", shares)
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{f.name} must be a finite number, got {value}")
        positive = (
            "rep_start_mm",
            "reverse_mm",
            "min_rep_mm",
            "max_rep_s",
            "velocity_window_s",
            "liftoff_min_on_s",
            "liftoff_min_off_s",
            "tilt_warning_min_s",
            "tilt_warning_lead_s",
            "tilt_warning_trend_s",
            "baseline_s",
            "lower_back_mm",
            "reference_bin_mm",
            "rom_warning_lead_s",
            "bounce_window_s",
            "set_gap_s",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0 < self.liftoff_position < self.liftoff_recover_position <= 1.5:
            raise ConfigError(
                "need 0 < liftoff_position < liftoff_recover_position <= 1.5, got "
                f"{self.liftoff_position} and {self.liftoff_recover_position}"
            )
        if not self.liftoff_position <= self.tilt_warning_position <= 1.5:
            raise ConfigError(
                "need liftoff_position <= tilt_warning_position <= 1.5, got "
                f"{self.liftoff_position} and {self.tilt_warning_position}"
            )
        if not (
            self.liftoff_position <= self.liftoff_shift_position < self.liftoff_recover_position
        ):
            raise ConfigError(
                "need liftoff_position <= liftoff_shift_position < liftoff_recover_position, "
                f"got {self.liftoff_position}, {self.liftoff_shift_position} and "
                f"{self.liftoff_recover_position}"
            )
        if not (
            self.liftoff_position
            <= self.liftoff_shift_first_position
            <= self.liftoff_shift_position
        ):
            raise ConfigError(
                "need liftoff_position <= liftoff_shift_first_position <= "
                f"liftoff_shift_position, got {self.liftoff_position}, "
                f"{self.liftoff_shift_first_position} and {self.liftoff_shift_position}"
            )
        if (
            not self.liftoff_shift_position
            <= self.liftoff_shift_max_position
            < (self.liftoff_recover_position)
        ):
            raise ConfigError(
                "need liftoff_shift_position <= liftoff_shift_max_position < "
                f"liftoff_recover_position, got {self.liftoff_shift_position}, "
                f"{self.liftoff_shift_max_position} and {self.liftoff_recover_position}"
            )
        if not self.tilt_warning_depth_lead_s >= 0:
            raise ConfigError(
                "tilt_warning_depth_lead_s must be 0 (off) or more, got "
                f"{self.tilt_warning_depth_lead_s}"
            )
        if not self.liftoff_shift_dip_factor >= 1:
            raise ConfigError(
                f"liftoff_shift_dip_factor must be at least 1, got {self.liftoff_shift_dip_factor}"
            )
        if not self.liftoff_shift_position <= self.tilt_warning_shift_position <= 1.5:
            raise ConfigError(
                "need liftoff_shift_position <= tilt_warning_shift_position <= 1.5, got "
                f"{self.liftoff_shift_position} and {self.tilt_warning_shift_position}"
            )
        if not self.liftoff_shift_total > 1:
            raise ConfigError(
                f"liftoff_shift_total must be above 1 (times the load at the top), got "
                f"{self.liftoff_shift_total}"
            )
        if not 0 < self.floor_max < 1:
            raise ConfigError(f"floor_max must be in (0, 1), got {self.floor_max}")
        for name in (
            "contact_fraction",
            "min_load_fraction",
            "liftoff_front_share",
        ):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in 0..1, got {getattr(self, name)}")
        if not 0 < self.liftoff_top_empty < 1:
            raise ConfigError(f"liftoff_top_empty must be in (0, 1), got {self.liftoff_top_empty}")
        if not 0 < self.reference_weight <= 1:
            raise ConfigError(f"reference_weight must be in (0, 1], got {self.reference_weight}")
        if self.lift_off_depth_mm is not None and not 0 < self.lift_off_depth_mm < 2000:
            raise ConfigError(
                f"lift_off_depth_mm must be more than 0 and less than 2000 mm, got "
                f"{self.lift_off_depth_mm:g}"
            )
        if self.lift_off_floor is not None and not 0 <= self.lift_off_floor < 1:
            raise ConfigError(f"lift_off_floor must be in 0..1, got {self.lift_off_floor}")
        if self.rom_limit_mm is not None and not 0 < self.rom_limit_mm < 2000:
            raise ConfigError(
                "rom_limit_mm must be more than 0 and less than 2000 mm, got "
                f"{self.rom_limit_mm:g}"
            )

    def lift_off_rule(self) -> str:
        """The whole lift-off rule in words, with this configuration's thresholds: what the
        report, ``sessions show`` and the monitor print beside the quantity it decides on."""
        depth_text = (
            "; and, once that depth is known, whatever the pad shows when the sled would reach "
            f"it within {self.tilt_warning_depth_lead_s * 1000:.0f} ms"
            if self.tilt_warning_depth_lead_s > 0
            else ""
        )
        reach_mm = shares_depth_mm(self.clean_share_by_depth, self.reference_bin_mm)
        if reach_mm is not None:
            first_text = (
                f"calibration's, learned down to {reach_mm:.0f} mm, until the session has its own"
            )
        else:
            first_text = "the rep's own top until the session has one"
        calibrated = (
            self.clean_share_by_depth is not None
            or self.lift_off_floor is not None
            or self.lift_off_depth_mm is not None
        )
        first_level = (
            ""
            if calibrated
            else f", below {self.liftoff_shift_first_position:.0%} until a clean rep of this "
            "person is known"
        )
        return (
            "Lower-back position = the lower back's share of the pad load (each cell against "
            "its load at the top of the rep), placed between this person's floor (0 %, the "
            "share their lower back keeps once off the pad) and their clean reps at the same "
            f"depth (100 %; {first_text}). Lift-off when it stays below "
            f"{self.liftoff_position:.0%}; or below "
            f"{self.liftoff_shift_position:.0%} to {self.liftoff_shift_max_position:.0%} (the "
            "closer this person's clean reps stay to usual, the higher) while the whole pad "
            "carries "
            f"{self.liftoff_shift_total:.2f} times its load at the top or more (the legs press "
            "the back into the pad, yet the lower back's share falls: the load has moved up the "
            f"back){first_level}, and near the depth where their back lifted, if known; or "
            "below that same level, whatever the pad carries, once the sled is past the depth "
            "where their back lifted; or when the contact front has "
            f"passed the lower back (the cell just above it below {self.liftoff_front_share:.0%} "
            f"of its share, or the highest lower-back cell below {self.liftoff_top_empty:.0%}: "
            f"empty); each for {self.liftoff_min_on_s * 1000:.0f} ms. Over with the position "
            f"back above {self.liftoff_recover_position:.0%}. Tilt warning while lowering below "
            f"{self.tilt_warning_position:.0%} ({self.tilt_warning_shift_position:.0%} while the "
            f"load has moved up), or below {self.tilt_warning_start:.0%} when falling fast "
            f"enough to reach lift-off within {self.tilt_warning_lead_s * 1000:.0f} ms once this "
            "person's back has been seen to lift, and not before the sled is that close to the "
            f"depth where it lifted{depth_text}. Lower back = the cells in contact among the "
            f"strip's lowest {self.lower_back_mm:g} mm; a rep whose pad cannot be judged (no "
            "load, nobody leaning on it, too few cells) says so."
        )

    def starts_new_set(self, previous_end_s: float, t_start_s: float) -> bool:
        """True when a rep starting at ``t_start_s`` begins a new set: it starts more than
        ``set_gap_s`` after the previous rep ended (``previous_end_s``)."""
        return t_start_s - previous_end_s > self.set_gap_s

    def with_limit(self, rom_limit_mm: float | None) -> Self:
        """A copy with another ROM limit."""
        return replace(self, rom_limit_mm=rom_limit_mm)


@dataclass(frozen=True, slots=True)
class Profile:
    """One person's limits, set by a therapist or learned from calibration reps.

    Attributes:
        person: a name or id.
        rom_limit_mm: the therapist's limit, if set (wins over the learned one).
        lift_off_depth_mm: the depth where this person's lower back began to leave the pad in
            slow calibration reps (None: it never did in calibration).
        margin_mm: the learned limit stops this far before the lift-off depth, or, when
            calibration saw no lift-off, before the deepest calibration rep: the person was
            asked to go down to where the back starts to leave the pad, so a lift-off the
            pad did not show is the likelier reason for none than a back that never lifts.
        max_calibrated_depth_mm: the deepest calibration rep.
        notes: free text.
        lift_off_floor: the lower-back share this person's back kept once off the pad in
            calibration (the detector's floor until the session shows its own); None when
            calibration saw no lift-off.
        clean_share_by_depth: this person's lower-back share per ``PROFILE_BIN_MM`` (10 mm)
            of sled depth in calibration, over the depths it found safe (None: a bin it did not
            reach); the clean reference of a session's first reps. None: not learned.
    """

    person: str
    rom_limit_mm: float | None = None
    lift_off_depth_mm: float | None = None
    margin_mm: float = 20.0
    max_calibrated_depth_mm: float | None = None
    notes: str = ""
    lift_off_floor: float | None = None
    clean_share_by_depth: tuple[float | None, ...] | None = None

    def __post_init__(self) -> None:
        if self.clean_share_by_depth is not None:
            shares = check_shares("clean_share_by_depth", self.clean_share_by_depth)
            object.__setattr__(self, "clean_share_by_depth", shares)
        if not self.person.strip():
            raise ConfigError("a profile needs a person name or id")
        for name in ("rom_limit_mm", "lift_off_depth_mm", "max_calibrated_depth_mm"):
            value = getattr(self, name)
            if value is not None and not 0 < value < 2000:
                raise ConfigError(
                    f"{name} must be more than 0 and less than 2000 mm, got {value:g}"
                )
        if not 0 <= self.margin_mm < 500:
            raise ConfigError(f"margin_mm must be between 0 and 500 mm, got {self.margin_mm}")
        if self.lift_off_floor is not None and not 0 <= self.lift_off_floor < 1:
            raise ConfigError(f"lift_off_floor must be in 0..1, got {self.lift_off_floor}")

    @property
    def learned_limit_mm(self) -> float | None:
        """The limit learned from calibration: the lift-off depth minus the margin; when no
        calibration rep lifted off, the deepest of them minus the margin."""
        depth = self.lift_off_depth_mm
        if depth is None:
            depth = self.max_calibrated_depth_mm
        return max(depth - self.margin_mm, 1.0) if depth is not None else None

    @property
    def effective_limit_mm(self) -> float | None:
        """The limit in force: the therapist's if set, else the learned one."""
        return self.rom_limit_mm if self.rom_limit_mm is not None else self.learned_limit_mm

    def detector_config(self, base: DetectorConfig | None = None) -> DetectorConfig:
        """The detector settings for this person: ``base`` (or the defaults) with the limit in
        force and what calibration learned (lift-off depth, floor and clean share per depth,
        the latter in ``base``'s depth bins)."""
        base = base or DetectorConfig()
        shares = self.clean_share_by_depth
        if shares is not None:
            shares = rebin_shares(shares, PROFILE_BIN_MM, base.reference_bin_mm)
        return replace(
            base,
            rom_limit_mm=self.effective_limit_mm,
            lift_off_depth_mm=self.lift_off_depth_mm,
            lift_off_floor=self.lift_off_floor,
            clean_share_by_depth=shares,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`.

        Raises:
            ConfigError: unknown or malformed fields.
        """
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown profile fields: {', '.join(sorted(unknown))}")
        try:
            return cls(**d)
        except TypeError as exc:
            raise ConfigError(f"profile is malformed: {exc}") from None

    def save(self, path: Path) -> None:
        """Write the profile as JSON (atomically)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a profile.

        Raises:
            ConfigError: missing, unreadable or malformed.
        """
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(
                f"no profile at {path}: create one with `legpress calibrate`"
            ) from None
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read profile {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"profile {path} is not a JSON object")
        return cls.from_dict(data)
