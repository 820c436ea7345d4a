"""compatkit's load shapes for `locust -f loadtests` (loadtests/_locust/_shapes.py).

    locust -f loadtests --headless -u 32 -r 8 -t 60s                       steady (the default)
    locust -f loadtests --headless -u 64 -r 16 -t 240s --compatkit-shape ramp    find the knee
    locust -f loadtests --class-picker                     pick a shape (and users) in the web UI

CompatkitShape comes first, so it is the one Locust runs unless the web UI's class picker
chooses another: it runs the shape --compatkit-shape names (steady, ramp, spike, soak, storm,
long_streams), each sized by Locust's own -u, -r and -t.
"""

from __future__ import annotations

from loadtests._locust._shapes import CompatkitShape, LongStreams, Ramp, Soak, Spike, Steady, Storm

__all__ = ["CompatkitShape", "LongStreams", "Ramp", "Soak", "Spike", "Steady", "Storm"]
