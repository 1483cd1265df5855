"""End a finished job's process at once, without the interpreter's teardown.

Why: a job's interpreter holds some 800 modules (xarray and pandas in every stage, dolfinx and
PETSc in the FE ones). Tearing them down at exit (every module's namespace cleared, the garbage
collected) took 0.28-0.31 s CPU of a 0.97 s fe_step job, measured on the same job script side by
side: a third of each hand-over from one step's MD to the next, and of the last jobs after the
MD. The job's outputs are complete and closed when its script ends (the NetCDF and XDMF writers
close their files before the atomic rename), so the teardown changes no file.

What the teardown would still have done is done here: Python's ``atexit`` handlers (logging's
flush, multiprocessing's joins, coverage's data file), PETSc's and MPI's finalize when the job
initialised them (PETSc prints ``-log_view`` there; a rank that exits without MPI_Finalize is an
error under mpirun), and the flush of Python's and C's standard streams. While a non-daemon
thread still runs, the job exits the usual way, which waits for it.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading


def exit_job() -> None:
    """Finish the job's process now with exit status 0 (call it as a script's last statement).

    Returns, leaving the exit to the interpreter, only while another non-daemon thread runs."""
    if any(t is not threading.main_thread() and not t.daemon and t.is_alive() for t in threading.enumerate()):
        return
    atexit._run_exitfuncs()
    _finalize_petsc_and_mpi()
    flush_streams()
    os._exit(0)


def _finalize_petsc_and_mpi() -> None:
    """PetscFinalize, then MPI_Finalize, for what this process initialised (petsc4py and mpi4py
    register them as C-level exit hooks, which ``os._exit`` skips)."""
    petsc = sys.modules.get("petsc4py.PETSc")
    if petsc is not None and petsc.Sys.isInitialized() and not petsc.Sys.isFinalized():
        petsc._finalize()
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized():
        mpi.Finalize()


def flush_streams() -> None:
    """Python's standard streams, then every C stdio buffer: what ``os._exit`` would lose."""
    for stream in {sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__}:
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):  # None, a closed or broken stream
            pass
    import ctypes

    ctypes.CDLL(None).fflush(None)  # C stdio buffers (PETSc, LAMMPS, HDF5 messages)
