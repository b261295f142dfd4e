"""The load generators the lab can drive, by the name `--driver` takes."""

from __future__ import annotations

from lab.drivers import wrk
from lab.drivers.base import Driver
from lab.drivers.locust import driver as locust

DRIVERS: dict[str, Driver] = {driver.name: driver for driver in (locust.DRIVER, wrk.DRIVER)}
DEFAULT_DRIVER = locust.NAME


def driver_named(name: str) -> Driver:
    return DRIVERS[name]
