"""The leg-press simulator: the project's default device (``sim:``), demo and detection test bed.

It models the machine geometry, the athlete's reps, posterior pelvic tilt, the back-pad contact
pressure, the force-sensitive cells and the ADC, the sled encoder, then runs the real firmware
sampler and packet encoder (``legpress_fw``) on simulated hardware and passes the packets
through a simulated link. Every session comes with its ground truth. See docs/simulator.md.

Typical use::

    from legpress.sim import make_scenario

    result = make_scenario("liftoff", seed=3).run(duration_s=30)
    result.packets          # [(t_host_ns, packet bytes), ...] in arrival order
    result.info_packet      # DEVICE_INFO bytes
    result.truth.lift_offs  # [TruthLiftOff(rep, t_onset_s, t_end_s, depth_at_onset_mm), ...]
    result.truth.save("liftoff-3.truth.json")

    for t_host_ns, packet in make_scenario("demo").stream(realtime=True):
        ...
"""

from legpress.sim.params import (
    CellFault,
    EncoderParams,
    LinkParams,
    MachineParams,
    PersonParams,
    ScenarioConfig,
    SensorParams,
    SessionParams,
    horizontal_machine,
)
from legpress.sim.scenario import Scenario, SimResult, TrueSignals
from legpress.sim.scenarios import (
    DEFAULT_SCENARIO,
    OVERRIDE_KEYS,
    SCENARIOS,
    ScenarioFactory,
    apply_overrides,
    calibrate_liftoff,
    draw_person,
    make_scenario,
    population,
    rom_limit_for_knee,
)
from legpress.sim.truth import (
    GroundTruth,
    TruthCrossing,
    TruthLiftOff,
    TruthRep,
    TruthSet,
)
from legpress.sim.url import parse_sim_url, scenario_from_url

__all__ = [
    "DEFAULT_SCENARIO",
    "OVERRIDE_KEYS",
    "SCENARIOS",
    "CellFault",
    "EncoderParams",
    "GroundTruth",
    "LinkParams",
    "MachineParams",
    "PersonParams",
    "Scenario",
    "ScenarioConfig",
    "ScenarioFactory",
    "SensorParams",
    "SessionParams",
    "SimResult",
    "TrueSignals",
    "TruthCrossing",
    "TruthLiftOff",
    "TruthRep",
    "TruthSet",
    "apply_overrides",
    "calibrate_liftoff",
    "draw_person",
    "horizontal_machine",
    "make_scenario",
    "parse_sim_url",
    "population",
    "rom_limit_for_knee",
    "scenario_from_url",
]
