"""Runs a command and prints its CPU seconds (user + system, all threads) as JSON on stderr."""
import json
import resource
import subprocess
import sys

result = subprocess.run(sys.argv[1:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"cpuSeconds": usage.ru_utime + usage.ru_stime, "code": result.returncode}), file=sys.stderr)
sys.exit(result.returncode)
