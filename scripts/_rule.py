"""Shared by the rule scripts: logging to the rule's log file, material inputs, MPI launch."""

import logging
import os
import sys
from pathlib import Path

# the package lives in workflow/; make it importable in conda envs where it is not installed
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from scema.job_exit import exit_job  # noqa: E402, F401  (every script ends with it)
from scema.parallel import SINGLETON_MPI  # noqa: E402  (imports no MPI)

# A job's own process (and the LAMMPS workers it starts) is an MPI singleton: set before anything
# imports MPI, unless the user set them; taken back for a multi-rank launch (run_stage).
_SET_HERE = [key for key in SINGLETON_MPI if key not in os.environ]
os.environ.update({key: SINGLETON_MPI[key] for key in _SET_HERE})


def to_log(snakemake) -> None:
    """Send the job's log lines to its log file; first clear what a killed run of this job left."""
    from scema.io.atomic import remove_stale_temps

    handle = open(snakemake.log[0], "w", buffering=1)
    sys.stderr = handle
    logging.basicConfig(stream=handle, level=logging.INFO, force=True)
    for output in snakemake.output:
        remove_stale_temps(output)


def material_files(snakemake) -> dict:
    """Material name -> initialised material file, in the rule's declared order."""
    return dict(zip(snakemake.params.materials, snakemake.input.materials))


def schedule_plan(snakemake) -> dict | None:
    """What the stage needs to write the step's MD schedule when this job is the last stage before
    the MD (it then has the output ``schedule``; see ``get_schedule_planner`` in common.smk)."""
    out = snakemake.output.get("schedule")
    if out is None:
        return None
    return {
        "settings": dict(snakemake.params.schedule),
        "prev_md_state": snakemake.input.get("prev_md_state"),  # none after step 1: aggregated
        "out_schedule": out,
    }


def previous_md_results(snakemake) -> dict | None:
    """The previous step's MD results as scema.stages.aggregate.aggregate takes them, when
    fe_step starts from them (steps after the first; see ``get_previous_state`` in common.smk)."""
    inputs = snakemake.input
    if "prev_batches" not in inputs.keys():
        return None
    return {
        "strain_path": inputs.prev_strain,
        "prev_md_state": inputs.prev_start_state,
        "batch_files": list(inputs.prev_batches),
        "clusters_path": inputs.get("prev_clusters"),
        "committee_path": inputs.get("prev_committee"),
    }


def run_stage(snakemake, target: str, **kwargs) -> None:
    """Run ``target`` (module:function) on the job's MPI tasks (resources ``tasks``, ``mpi``)."""
    from scema.parallel import DEFAULT_LAUNCHER
    from scema.parallel import run_stage as launch

    resources = snakemake.resources
    tasks = int(resources.get("tasks", 1) or 1)
    if tasks > 1:
        for key in _SET_HERE:
            os.environ.pop(key, None)
    launch(target, kwargs, tasks=tasks, launcher=resources.get("mpi", DEFAULT_LAUNCHER), log=sys.stderr)


def run_lammps_stage(snakemake, target: str, **kwargs) -> None:
    """Run ``target(**kwargs)`` (module:function, with a ``lammps_log`` argument: its Engine log)
    in a child process that logs to the rule's log.

    Why: Debian's LAMMPS library has no C++ exceptions; an ERROR ends the process at once,
    with no Python traceback. Run in a child, the job fails with one line that names the rule,
    its wildcards and the ERROR line of that LAMMPS log, in the rule log and on the console.
    Call from a script guarded by ``if __name__ == "__main__"`` (the child imports it again).
    """
    import multiprocessing

    from scema.md.supervisor import lammps_error

    child = multiprocessing.get_context("spawn").Process(target=_logged_call, args=(target, kwargs, snakemake.log[0]))
    child.start()
    child.join()
    if child.exitcode != 0:
        lammps_log = kwargs["lammps_log"]
        error = lammps_error(Path(lammps_log)) or f"exited with code {child.exitcode}, no LAMMPS ERROR line"
        where = ", ".join(f"{k} {v}" for k, v in snakemake.wildcards.items())
        line = f"{snakemake.rule} ({where}) failed: {error} (LAMMPS log: {lammps_log})"
        fail_with_line(line)


def fail_with_line(line: str) -> None:
    """End the job with one line in the rule log and on Snakemake's console.

    Why one write(2): jobs that fail together share the console pipe, and ``print`` writes the
    text and the newline separately, so two jobs' lines could splice (a CI failure).
    """
    print(line, file=sys.stderr)
    sys.__stderr__.flush()
    os.write(sys.__stderr__.fileno(), (line + "\n").encode())
    sys.exit(1)


def _logged_call(target: str, kwargs: dict, log: str) -> None:
    import importlib

    handle = open(log, "a", buffering=1)
    sys.stderr = handle
    logging.basicConfig(stream=handle, level=logging.INFO, force=True)
    module, function = target.split(":")
    getattr(importlib.import_module(module), function)(**kwargs)
