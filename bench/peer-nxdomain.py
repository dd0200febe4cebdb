"""Runs a Python script with every host-name lookup answered NXDOMAIN, as sim/nxdomain-resolver.ts does for
Node (bench/unresolvable.ts), so that no query reaches the machine's resolver. socket.getaddrinfo, which
asyncio's resolver (and so aiohttp's default one) calls in its threads, waits SIM_RESOLVER_ANSWER_MS and
raises gaierror(EAI_NONAME). On exit one line on stderr says how many lookups it answered.
Usage: python peer-nxdomain.py <script> [its arguments...]
"""
import os, runpy, socket, sys, time

ANSWER_S = float(os.environ.get('SIM_RESOLVER_ANSWER_MS', '0')) / 1000
answered = 0


def getaddrinfo(host, *args, **kwargs):
    global answered
    time.sleep(ANSWER_S)
    answered += 1
    raise socket.gaierror(socket.EAI_NONAME, 'Name or service not known')


socket.getaddrinfo = getaddrinfo
script = sys.argv[1]
sys.argv = sys.argv[1:]
try:
    runpy.run_path(script, run_name='__main__')
finally:
    print(f'sim resolver: lookups answered ENOTFOUND: {answered}', file=sys.stderr, flush=True)
