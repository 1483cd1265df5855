"""Run a stage function under MPI when its job was given more than one task.

A rule's script calls :func:`run_stage`; with ``tasks`` > 1 it relaunches the stage as
``{mpi} -n {tasks} python -m scema.parallel <job.json>`` (``mpi`` is ``mpirun`` locally,
``srun --mpi=pmix`` in the SLURM profile). Every rank runs the stage; the FE stages gather
their results and write files from rank 0 only.
"""

from __future__ import annotations

import importlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

DEFAULT_LAUNCHER = "mpirun"
# A lone process that initialises MPI (a job's dolfinx, an MD worker's LAMMPS) is an Open MPI
# "singleton": by default MPI_Init then spawns a helper daemon (orted) and probes every network
# transport, measured 0.35-0.4 s of waiting per process. A lone rank needs only the self
# transport. Set before MPI is imported, never for a multi-rank launch (its ranks talk); other
# MPI libraries ignore these variables.
SINGLETON_MPI = {"OMPI_MCA_ess_singleton_isolated": "1", "OMPI_MCA_pml": "ob1", "OMPI_MCA_btl": "self"}


def _call(target: str, kwargs: dict):
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)(**kwargs)


def run_stage(target: str, kwargs: dict, tasks: int = 1, launcher: str = DEFAULT_LAUNCHER, log=None) -> None:
    """Call ``module:function(**kwargs)`` here, or on ``tasks`` MPI ranks."""
    if tasks <= 1:
        _call(target, kwargs)
        return
    fd, job = tempfile.mkstemp(prefix="scema_mpi_", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump({"target": target, "kwargs": kwargs}, fh)
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")  # containers and CI run as root
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    command = [*shlex.split(launcher), "-n", str(tasks), sys.executable, "-m", "scema.parallel", job]
    try:
        result = subprocess.run(command, env=env, stdout=log, stderr=log)
    finally:
        os.unlink(job)
    if result.returncode != 0:
        raise RuntimeError(f"MPI stage {target} failed ({shlex.join(command)} exited {result.returncode})")


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        job = json.load(fh)
    _call(job["target"], job["kwargs"])
