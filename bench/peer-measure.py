"""Runs the aiohttp peer script unchanged and reports what it cost, like bench/client-harness.ts does for Node.

aiohttp is imported before the clock starts (a Node client's bundle is loaded untimed too); the script then
runs as __main__ with its own arguments. One JSON line on stderr, prefixed BENCH_REPORT, carries CPU (user,
system) and wall time around the script, the process's peak RSS and its RSS before the script ran.
Usage: python peer-measure.py <push_aiohttp.py> [its arguments...]
"""
import json, os, resource, runpy, sys, time

import aiohttp  # noqa: F401  (loaded untimed; the script's own import then finds it in sys.modules)


def rss_bytes():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


script = sys.argv[1]
sys.argv = sys.argv[1:]
before = resource.getrusage(resource.RUSAGE_SELF)
rss_before = rss_bytes()
started = time.perf_counter()
code = 0
try:
    runpy.run_path(script, run_name='__main__')
except SystemExit as stop:
    code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
wall = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF)
sys.stdout.flush()
print('BENCH_REPORT ' + json.dumps({
    'wallMs': wall * 1000,
    'cpuUserMs': (after.ru_utime - before.ru_utime) * 1000,
    'cpuSystemMs': (after.ru_stime - before.ru_stime) * 1000,
    'peakRssKiB': after.ru_maxrss,
    'rssBeforeBytes': rss_before,
    'exitCode': code,
}), file=sys.stderr, flush=True)
sys.exit(code)
