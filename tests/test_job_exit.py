"""A finished job ends without the interpreter's teardown, but after what the teardown would do
that matters (scema.job_exit); and the stages import only what they use."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap

import pytest
import yaml

from conftest import REPO
from scema.parallel import SINGLETON_MPI

# buffered stdio, as a job has unless the user asks otherwise (PYTHONUNBUFFERED also unbuffers C's)
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}, "PYTHONPATH": str(REPO / "workflow")}


def python(code: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env or ENV, cwd=cwd, capture_output=True, text=True
    )


def test_exit_job_skips_the_teardown_after_the_exit_handlers_and_flushes(tmp_path):
    """Status 0 and never returns (the SystemExit(3) after it is not reached); atexit handlers
    ran; unfinished lines in Python's and in C's stdout buffer came out; a module-level
    object's finaliser, which only the teardown runs, did not."""
    result = python(
        """
        import atexit, ctypes, sys
        from scema.job_exit import exit_job

        class Teardown:
            def __del__(self, open=open):  # builtins may be gone by then
                open("teardown", "w").close()

        keep = Teardown()
        atexit.register(lambda: open("atexit", "w").close())
        sys.stdout.write("python, no newline;")
        ctypes.CDLL(None).printf(b"C, no newline")
        exit_job()
        raise SystemExit(3)
        """,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split(";")) == ["C, no newline", "python, no newline"]
    assert (tmp_path / "atexit").exists()
    assert not (tmp_path / "teardown").exists()


def test_a_running_thread_gets_the_usual_exit(tmp_path):
    """With a non-daemon thread alive exit_job returns; the interpreter then waits for the thread."""
    result = python(
        """
        import threading, time
        from scema.job_exit import exit_job

        def late():
            time.sleep(0.5)
            open("thread done", "w").close()

        threading.Thread(target=late).start()
        exit_job()
        print("returned")
        """,
        cwd=tmp_path,
    )
    assert result.returncode == 0 and result.stdout == "returned\n"
    assert (tmp_path / "thread done").exists()


def test_petsc_is_finalised_and_its_c_output_flushed():
    """PETSc's -log_view summary is printed by PetscFinalize through C stdio: it appears only if
    exit_job finalised PETSc and flushed the C buffers before os._exit."""
    env = {**ENV, **SINGLETON_MPI, "PETSC_OPTIONS": "-log_view"}
    code = "from petsc4py import PETSc\nfrom scema.job_exit import exit_job\nexit_job()\n"
    result = python(code, env=env)
    assert result.returncode == 0, result.stderr
    assert "Performance Summary" in result.stdout


@pytest.mark.parametrize("finish, status", [("exit_job()", 0), ("import os; os._exit(0)", "not 0")])
def test_an_mpi_rank_calls_mpi_finalize(finish, status):
    """Under mpirun a rank that exits without MPI_Finalize fails the launch (the second case
    shows that mpirun notices); exit_job finalises MPI first."""
    env = {**ENV, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    code = f"from mpi4py import MPI\nfrom scema.job_exit import exit_job\n{finish}\n"
    result = subprocess.run(
        ["mpirun", "-n", "1", sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert (result.returncode == 0) == (status == 0), result.stdout + result.stderr


def _last_statement(tree: ast.Module) -> ast.stmt:
    last = tree.body[-1]
    while isinstance(last, ast.If):  # the `if __name__ == "__main__":` block of the LAMMPS scripts
        last = last.body[-1]
    return last


@pytest.mark.parametrize("script", sorted(p.name for p in (REPO / "scripts").glob("*.py") if p.name != "_rule.py"))
def test_every_rule_script_ends_with_exit_job(script):
    last = _last_statement(ast.parse((REPO / "scripts" / script).read_text()))
    assert isinstance(last, ast.Expr) and ast.unparse(last.value) == "exit_job()", (
        f"{script} does not end with exit_job()"
    )


@pytest.mark.parametrize(
    "module", ["scema.stages.fe_step", "scema.stages.initial_state", "scema.stages.fields", "scema.specimen"]
)
def test_fe_stages_import_no_schema_validator(module):
    """The FE stages use scema.config's helpers only; jsonschema (with referencing, attrs,
    rpds: 60-90 ms of every FE job) is imported when a config is validated."""
    result = python(f"import sys, {module}\nprint(sorted(m for m in ('jsonschema', 'yaml') if m in sys.modules))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_summary_imports_no_torch_and_the_committee_package_still_exports_its_names():
    """The summary reads committee audits with scema.committee's light modules: importing one
    no longer runs the package's imports of torch and sklearn (~1.5 s CPU of a committee run's
    summary). Every name the package exports still resolves, to the same object as its module's;
    the first one used loads them all, sklearn before torch as when the package imported them."""
    result = python(
        """
        import sys, scema.stages.summary, scema.committee.acceptance, scema.committee.noise
        from scema.stages.summary import committee_variables
        print(sorted(m for m in ("torch", "sklearn") if m in sys.modules))
        import scema.committee as c
        order = []
        real_import = __builtins__.__import__
        def spy(name, *args, **kwargs):
            top = name.split(".")[0]
            if top in ("torch", "sklearn") and top not in sys.modules and top not in order:
                order.append(top)
            return real_import(name, *args, **kwargs)
        __builtins__.__import__ = spy
        c.net_error
        __builtins__.__import__ = real_import
        print(order)
        for name in c.__all__:
            module = sys.modules["scema.committee." + c._EXPORTS[name]]
            assert getattr(c, name) is getattr(module, name), name
        print(len(c.__all__))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["[]", "['sklearn', 'torch']", "12"]


def test_schema_loads_the_same_with_libyaml():
    """load_schema takes libyaml's loader when PyYAML has it: the same dict as the pure-Python one."""
    from scema.config import SCHEMA_PATH, load_schema

    assert hasattr(yaml, "CSafeLoader")  # else this test compares the pure-Python loader with itself
    assert load_schema() == yaml.safe_load(SCHEMA_PATH.read_text())
