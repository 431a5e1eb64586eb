"""Profile one request of the service (default: the Senior Tutor's 1,000-student listing)
with pyinstrument (`pip install pyinstrument`, a development tool, not a run-time need).

    python benchmarks/profile_listing.py --scale large [--request senior] [--first 1000]
        [--html /tmp/profile.html]
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import college  # noqa: E402
from benchmarks.run import Bench  # noqa: E402
from benchmarks.scenarios import BY_KEY  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=sorted(college.SCALES), default="large")
    parser.add_argument("--request", choices=sorted(BY_KEY), default="senior")
    parser.add_argument("--first", type=int)
    parser.add_argument("--html")
    parser.add_argument(
        "--cprofile", action="store_true", help="also a deterministic profile in thread CPU time"
    )
    args = parser.parse_args()
    from pyinstrument import Profiler

    bench = Bench(college.database(args.scale))
    scenario = BY_KEY[args.request]
    bench.real(scenario, 1)
    bench.real(scenario, args.first)  # warm
    profiler = Profiler(interval=0.0005)
    with profiler:
        bench.real(scenario, args.first)
    from pyinstrument.renderers import ConsoleRenderer

    print(profiler.output_text(unicode=False, color=False, show_all=False))
    print("---- flat: self time by function ----")
    print(
        profiler.output(ConsoleRenderer(unicode=False, color=False, flat=True, show_all=True))[
            :6000
        ]
    )
    if args.cprofile:
        import cProfile
        import pstats
        import time

        cpu = cProfile.Profile(time.thread_time)  # CPU time: robust on a shared machine
        cpu.enable()
        bench.real(scenario, args.first)
        cpu.disable()
        stats = pstats.Stats(cpu)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(45)
    if args.html:
        Path(args.html).write_text(profiler.output_html())


if __name__ == "__main__":
    main()
