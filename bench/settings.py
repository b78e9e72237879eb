"""Settings for benchmarks: the console's own settings plus a trivial view to compare against."""

from console.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
