"""A worker's part, for tests/test_isolation_cleanup.py: a sandbox for the slot given as the
first argument and a process left running in its group (as a kernel would be); prints what
it made as JSON, then waits to be killed, as the batch kills a worker at its timeout."""

import json
import subprocess
import sys
import tempfile

from grading.isolation import Sandbox

box = Sandbox(tempfile.mkdtemp(prefix="cs_loss_box_"), slot=int(sys.argv[1]))
box.share(tempfile.mkdtemp(prefix="cs_loss_export_"))
join = box.cgroup.join if box.cgroup is not None else None
sleeper = subprocess.Popen(["sleep", "600"], preexec_fn=join, start_new_session=True)
made = {
    "folders": [str(box.root), str(box.private), str(box.kernels), *map(str, box.shared)],
    "cgroup": [str(f) for f in box.cgroup.folders] if box.cgroup else [],
    "pid": sleeper.pid,
}
print(json.dumps(made), flush=True)
sys.stdin.read()
