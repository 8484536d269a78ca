"""Background sensor sampling (memory, CPU, GPU, power) every 10 ms, outside the timed path.

The runner only reads ``time.perf_counter_ns()`` at frame boundaries; a daemon thread samples the
sensors on the same clock, and :func:`per_frame` attributes the samples to frames afterwards::

    sensors = default_sensors()
    with Sampler(sensors) as sampler:
        for frame in frames:
            start_ns = time.perf_counter_ns()
            process(frame)
            bounds_ns.append((start_ns, time.perf_counter_ns()))
    frames_df = per_frame(sampler.samples(), np.array(bounds_ns))
    report = sensor_report(sensors)  # how each quantity was measured, or why not

Sampling every 10 ms follows the GPU-memory method of Srivastava et al. (seed 004). Energy is
the difference of a hardware energy counter when one exists, else the trapezoidal integral of
sampled power (the MLPerf Power way). Quantities without a sensor are NaN, never 0.
"""

from facebench.sensors.attribution import FRAME_COLUMNS, frame_methods, per_frame
from facebench.sensors.probes import (
    MIB,
    REPORTED_QUANTITIES,
    CpuSensor,
    JetsonSensor,
    NvmlSensor,
    RaplSensor,
    RssSensor,
    Sensor,
    default_sensors,
    load_nvml,
    sensor_report,
)
from facebench.sensors.sampler import Sampler, sampler_overhead

__all__ = [
    "FRAME_COLUMNS",
    "MIB",
    "REPORTED_QUANTITIES",
    "CpuSensor",
    "JetsonSensor",
    "NvmlSensor",
    "RaplSensor",
    "RssSensor",
    "Sampler",
    "Sensor",
    "default_sensors",
    "frame_methods",
    "load_nvml",
    "per_frame",
    "sampler_overhead",
    "sensor_report",
]
