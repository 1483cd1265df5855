"""A real single-node SLURM cluster for the test suite (Debian 12, run as root, no systemd).

``SlurmCluster().start()`` brings up, in this order and each as a foreground child process
whose PID is kept:

1. ``munged``   as user ``munge``, with its own key, socket, pid and log files;
2. ``mariadbd`` as user ``mysql``, on a private data dir (initialised with
   ``mariadb-install-db``), a private socket and a free TCP port on 127.0.0.1,
   with a ``slurm`` DB user;
3. ``slurmdbd`` (accounting on that MariaDB), then the cluster, account ``scema`` and user
   ``root`` are registered with ``sacctmgr`` (associations are enforced, as on real clusters);
4. ``slurmctld`` and ``slurmd`` for THIS host (``slurmd -C`` gives CPUs and RealMemory), one
   partition, ``ProctrackType=proctrack/linuxproc``, ``TaskPlugin=task/none``,
   ``MpiDefault=pmix``, ``JobAcctGatherType=jobacct_gather/linux``.

Every file (slurm.conf, slurmdbd.conf, keys, state, spool, logs, DB) lives in one private
temporary directory; nothing under /etc is read or written. Clients find the cluster through
``SLURM_CONF`` (``cluster.env``): pass that environment to ``sbatch``/``squeue``/``sacct`` and to
Snakemake, whose SLURM plugin calls those tools and exports the environment into its jobs
(``sbatch --export=ALL``). The daemons use private ports, so a system SLURM on the default ports
is not disturbed. ``stop()`` cancels the remaining jobs, then ends each daemon it started by its
PID (SIGTERM, then SIGKILL after a timeout) in reverse order and removes the directory.

Missing Debian packages are installed with apt (idempotent: nothing is installed if present).

Use from pytest through the ``slurm_cluster`` session fixture (see tests/test_slurm.py), or by
hand: ``python tests/slurm_cluster.py`` starts a cluster, prints its environment and waits
for Ctrl-C.
"""

from __future__ import annotations

import os
import platform
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

# What the cluster needs from Debian (keep in sync with APT_PACKAGES in the Makefile).
APT_PACKAGES = ["slurm-wlm", "slurm-client", "munge", "slurmdbd", "mariadb-server", "mariadb-client", "libpmix-dev"]

PARTITION = "scema"
CLUSTER = "scema"
ACCOUNT = "scema"
DB_USER = "slurm"
DB_PASSWORD = "scema-test-only"


class ClusterError(RuntimeError):
    """The cluster could not be started; the message carries the daemon logs."""


def is_debian() -> bool:
    try:
        return "debian" in Path("/etc/os-release").read_text().lower()
    except OSError:
        return False


def can_run() -> tuple[bool, str]:
    """Whether this machine can host the test cluster, and why not."""
    if platform.system() != "Linux" or not is_debian():
        return False, "the SLURM test cluster needs Debian (apt, Debian's slurm-wlm packages)"
    if os.geteuid() != 0:
        return False, "the SLURM test cluster must be started as root (daemons, users munge/mysql)"
    return True, ""


def _missing_packages(packages: list[str]) -> list[str]:
    missing = []
    for pkg in packages:
        proc = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
        if "install ok installed" not in proc.stdout:
            missing.append(pkg)
    return missing


def ensure_packages(packages: list[str] = APT_PACKAGES) -> None:
    """apt-get install what is missing (nothing at all when everything is there)."""
    missing = _missing_packages(packages)
    if not missing:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise ClusterError(
                f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
    # Debian's postinst may start daemons through init scripts; we use our own, private ones.


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"


class SlurmCluster:
    """One-node SLURM cluster with accounting, private to this process; see module docstring."""

    def __init__(self, root: Path | None = None, partition: str = PARTITION):
        self.partition = partition
        self.cluster = CLUSTER
        self.account = ACCOUNT
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="scema-slurm-"))
        self._own_root = root is None
        self.hostname = socket.gethostname().split(".")[0]
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.etc = self.root / "etc"
        self.slurm_conf = self.etc / "slurm.conf"
        self.env: dict[str, str] = {}

    # ---- helpers -------------------------------------------------------------------------

    def run(self, *cmd: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run a SLURM client command against this cluster."""
        proc = subprocess.run(list(cmd), capture_output=True, text=True, env=self.env, timeout=timeout)
        if check and proc.returncode != 0:
            raise ClusterError(
                f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}\n{self.diagnostics()}"
            )
        return proc

    def diagnostics(self) -> str:
        parts = []
        for name, log in self.logs.items():
            proc = self.procs.get(name)
            state = (
                "not started" if proc is None else ("running" if proc.poll() is None else f"exited {proc.returncode}")
            )
            parts.append(f"--- {name} ({state}) log {log}:\n{_tail(log)}")
            out = log.with_suffix(".out")
            if out.exists() and out.stat().st_size:
                parts.append(f"--- {name} stdout/stderr {out}:\n{_tail(out, 2000)}")
        return "\n".join(parts)

    def _spawn(self, name: str, cmd: list[str], log: Path, user: str | None = None) -> None:
        self.logs[name] = log
        if user:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *cmd]
        out = open(log.with_suffix(".out"), "ab")
        self.procs[name] = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env, start_new_session=True
        )
        out.close()

    def _wait(self, what: str, ok, timeout: float, daemons: tuple[str, ...]) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for d in daemons:
                proc = self.procs[d]
                if proc.poll() is not None:
                    out = _tail(self.logs[d].with_suffix(".out"))
                    raise ClusterError(
                        f"{d} exited ({proc.returncode}) while waiting for {what}:\n{out}\n{self.diagnostics()}"
                    )
            try:
                result = ok()
            except Exception as error:  # noqa: BLE001 - any failure means "not yet"
                result, last = False, repr(error)
            if result:
                return
            time.sleep(0.5)
        raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last})\n{self.diagnostics()}")

    # ---- start ---------------------------------------------------------------------------

    def start(self, install: bool = True) -> SlurmCluster:
        ok, why = can_run()
        if not ok:
            raise ClusterError(why)
        if install:
            ensure_packages()
        try:
            self._layout()
            self._start_munge()
            self._start_mariadb()
            self._start_slurmdbd()
            self._register_accounts()
            self._start_slurmctld_slurmd()
        except BaseException:
            self.stop()
            raise
        return self

    def _layout(self) -> None:
        self.root.chmod(0o755)  # munge and mysql must traverse it
        for sub in ("etc", "log", "state", "spool", "run"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.ports = {name: _free_port() for name in ("slurmctld", "slurmd", "slurmdbd", "mysql")}
        self.munge_dir = self.root / "munge"
        self.munge_dir.mkdir(exist_ok=True)
        self.munge_dir.chmod(0o755)  # munged: clients need execute permission on the socket dir
        self.munge_socket = self.munge_dir / "munge.socket"
        self.env = dict(os.environ, SLURM_CONF=str(self.slurm_conf))
        # Anything pointing at another cluster would be picked up by the clients.
        for var in ("SLURM_CLUSTERS", "SBATCH_PARTITION", "SBATCH_ACCOUNT", "SLURM_JOB_ID"):
            self.env.pop(var, None)

    def _start_munge(self) -> None:
        munge = pwd.getpwnam("munge")
        key = self.munge_dir / "munge.key"
        if not key.exists():
            key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        for path in (self.munge_dir, key):
            os.chown(path, munge.pw_uid, munge.pw_gid)
        d = self.munge_dir
        self._spawn(
            "munged",
            [
                "munged",
                "--foreground",
                f"--key-file={key}",
                f"--socket={self.munge_socket}",
                f"--pid-file={d}/munged.pid",
                f"--log-file={d}/munged.log",
                f"--seed-file={d}/munged.seed",
            ],
            d / "munged.log",
            user="munge",
        )

        def munge_ok() -> bool:
            cred = subprocess.run(["munge", "-n", f"--socket={self.munge_socket}"], capture_output=True, timeout=10)
            if cred.returncode != 0:
                return False
            back = subprocess.run(
                ["unmunge", f"--socket={self.munge_socket}"], input=cred.stdout, capture_output=True, timeout=10
            )
            return back.returncode == 0

        self._wait("munged to encode and decode a credential", munge_ok, 20, ("munged",))

    def _start_mariadb(self) -> None:
        mysql = pwd.getpwnam("mysql")
        self.db_dir = self.root / "mysql"
        self.db_socket = self.root / "run" / "mysqld.sock"
        (self.root / "run").chmod(0o777)
        log = self.root / "log" / "mariadb.log"
        if not (self.db_dir / "mysql").is_dir():
            self.db_dir.mkdir(exist_ok=True)
            os.chown(self.db_dir, mysql.pw_uid, mysql.pw_gid)
            init = subprocess.run(
                [
                    "mariadb-install-db",
                    "--no-defaults",
                    f"--datadir={self.db_dir}",
                    "--user=mysql",
                    "--auth-root-authentication-method=socket",
                    "--skip-test-db",
                ],
                capture_output=True,
                text=True,
            )
            if init.returncode != 0:
                raise ClusterError(f"mariadb-install-db failed:\n{init.stdout[-3000:]}\n{init.stderr[-3000:]}")
        log.touch()
        os.chown(log, mysql.pw_uid, mysql.pw_gid)
        self._spawn(
            "mariadbd",
            [
                "mariadbd",
                "--no-defaults",
                "--user=mysql",
                f"--datadir={self.db_dir}",
                f"--socket={self.db_socket}",
                f"--pid-file={self.root}/run/mysqld.pid",
                f"--port={self.ports['mysql']}",
                "--bind-address=127.0.0.1",
                f"--log-error={log}",
                "--innodb-buffer-pool-size=64M",
                "--innodb-lock-wait-timeout=900",
                "--skip-name-resolve",
            ],
            log,
        )

        def sql(statement: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                ["mariadb", "--no-defaults", f"--socket={self.db_socket}", "-u", "root", "-e", statement],
                capture_output=True,
                text=True,
                timeout=20,
            )

        self._wait("MariaDB to accept connections", lambda: sql("SELECT 1").returncode == 0, 60, ("mariadbd",))
        grant = sql(
            f"CREATE USER IF NOT EXISTS '{DB_USER}'@'127.0.0.1' IDENTIFIED BY '{DB_PASSWORD}';"
            f"CREATE USER IF NOT EXISTS '{DB_USER}'@'localhost' IDENTIFIED BY '{DB_PASSWORD}';"
            f"GRANT ALL ON slurm_acct_db.* TO '{DB_USER}'@'127.0.0.1';"
            f"GRANT ALL ON slurm_acct_db.* TO '{DB_USER}'@'localhost'; FLUSH PRIVILEGES;"
        )
        if grant.returncode != 0:
            raise ClusterError(f"creating the slurm DB user failed: {grant.stderr}\n{self.diagnostics()}")

    def _common_auth(self) -> str:
        return f"AuthType=auth/munge\nAuthInfo=socket={self.munge_socket}\n"

    def _start_slurmdbd(self) -> None:
        log = self.root / "log" / "slurmdbd.log"
        conf = self.etc / "slurmdbd.conf"  # found next to SLURM_CONF
        conf.write_text(
            self._common_auth()
            + f"DbdHost=localhost\nDbdAddr=127.0.0.1\nDbdPort={self.ports['slurmdbd']}\nSlurmUser=root\n"
            f"PidFile={self.root}/run/slurmdbd.pid\nLogFile={log}\nDebugLevel=info\n"
            f"StorageType=accounting_storage/mysql\nStorageHost=127.0.0.1\nStoragePort={self.ports['mysql']}\n"
            f"StorageUser={DB_USER}\nStoragePass={DB_PASSWORD}\nStorageLoc=slurm_acct_db\n"
        )
        conf.chmod(0o600)  # slurmdbd refuses a world-readable config holding a password
        self._write_slurm_conf()
        self._spawn("slurmdbd", ["slurmdbd", "-D"], log)
        self._wait(
            "slurmdbd to answer sacctmgr",
            lambda: self.run("sacctmgr", "-n", "list", "cluster", check=False, timeout=15).returncode == 0,
            60,
            ("slurmdbd", "mariadbd"),
        )

    def _register_accounts(self) -> None:
        """Cluster, account and this user's association with it (the user's default account)."""

        def listed(*what: str) -> str:
            return self.run("sacctmgr", "-n", "-P", "list", *what).stdout

        if self.cluster not in listed("cluster", "format=cluster").split():
            self.run("sacctmgr", "-i", "add", "cluster", self.cluster)
        if self.account not in listed("account", "format=account").split():
            self.run(
                "sacctmgr",
                "-i",
                "add",
                "account",
                self.account,
                f"cluster={self.cluster}",
                "description=SCEMa tests",
                "organization=scema",
            )
        user = pwd.getpwuid(os.geteuid()).pw_name
        if not listed(
            "assoc", f"user={user}", f"account={self.account}", f"cluster={self.cluster}", "format=user"
        ).strip():
            # root already exists (account root): add the association, then make it the default
            self.run("sacctmgr", "-i", "add", "user", user, f"account={self.account}", f"cluster={self.cluster}")
        self.run("sacctmgr", "-i", "modify", "user", user, "set", f"defaultaccount={self.account}", check=False)
        accounts = listed("user", user, "withassoc", "format=account").split()
        if self.account not in accounts:
            raise ClusterError(f"user {user} has no association with account {self.account}: {accounts}")

    def _node_line(self) -> str:
        """This host as slurmd sees it (CPUs, sockets, cores, RealMemory minus a margin)."""
        out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout.split("\n")[0]
        fields = dict(f.split("=", 1) for f in out.split() if "=" in f)
        mem = int(fields.get("RealMemory", "2048"))
        fields["RealMemory"] = str(max(512, mem - 1024))  # headroom: never drained for "low memory"
        fields["NodeName"] = self.hostname
        keys = ["NodeName", "CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore", "RealMemory"]
        return " ".join(f"{k}={fields[k]}" for k in keys if k in fields) + " State=UNKNOWN"

    def _write_slurm_conf(self) -> None:
        r = self.root
        self.slurm_conf.write_text(
            f"ClusterName={self.cluster}\nSlurmctldHost={self.hostname}\n"
            "SlurmUser=root\nSlurmdUser=root\n" + self._common_auth() + "CredType=cred/munge\n"
            f"SlurmctldPort={self.ports['slurmctld']}\nSlurmdPort={self.ports['slurmd']}\n"
            f"StateSaveLocation={r}/state\nSlurmdSpoolDir={r}/spool/%n\n"
            f"SlurmctldPidFile={r}/run/slurmctld.pid\nSlurmdPidFile={r}/run/slurmd.pid\n"
            f"SlurmctldLogFile={r}/log/slurmctld.log\nSlurmdLogFile={r}/log/slurmd.log\n"
            "SlurmctldDebug=info\nSlurmdDebug=info\n"
            "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nMpiDefault=pmix\n"
            "SchedulerType=sched/backfill\nSelectType=select/cons_tres\nSelectTypeParameters=CR_Core_Memory\n"
            "DefMemPerCPU=1000\nReturnToService=2\nMinJobAge=300\nKillWait=5\n"
            "SlurmctldTimeout=60\nSlurmdTimeout=120\nInactiveLimit=0\nWaitTime=0\n"
            "AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=localhost\n"
            f"AccountingStoragePort={self.ports['slurmdbd']}\nAccountingStorageEnforce=associations,limits\n"
            # connections to slurmdbd authenticate through this munge socket, not AuthInfo's
            f"AccountingStoragePass={self.munge_socket}\n"
            "AccountingStoreFlags=job_comment\nJobAcctGatherType=jobacct_gather/linux\nJobAcctGatherFrequency=30\nJobCompType=jobcomp/none\n"
            f"{self._node_line()}\n"
            f"PartitionName={self.partition} Nodes={self.hostname} Default=YES MaxTime=INFINITE State=UP\n"
        )

    def _link_run_conf(self) -> None:
        """Make /run/slurm/conf point at our config directory.

        The Snakemake SLURM jobstep plugin removes every SLURM_* variable but a few job ids
        (SLURM_CONF included) before it calls ``srun`` inside a job, so that srun finds its
        config the way clients on a configless cluster do: SLURM_CONF, else
        /etc/slurm/slurm.conf, else /run/slurm/conf/slurm.conf (the link a configless slurmd
        makes to its cache). We make that link, and nothing else outside our directory.
        """
        if Path("/etc/slurm/slurm.conf").exists():
            raise ClusterError(
                "/etc/slurm/slurm.conf exists: srun inside jobs (run without SLURM_CONF by the "
                "Snakemake jobstep plugin) would use it instead of the test cluster's config"
            )
        run_conf = Path("/run/slurm/conf")
        if run_conf.is_symlink() and not run_conf.exists():
            run_conf.unlink()  # dangling: left by a test cluster that was killed
        if run_conf.exists() or run_conf.is_symlink():
            if run_conf.resolve() != self.etc.resolve():
                raise ClusterError(f"{run_conf} exists (another SLURM on this machine?); not replacing it")
            return
        run_conf.parent.mkdir(parents=True, exist_ok=True)
        run_conf.symlink_to(self.etc)
        self._linked_run_conf = run_conf

    def _start_slurmctld_slurmd(self) -> None:
        self._link_run_conf()
        (self.root / "spool" / self.hostname).mkdir(parents=True, exist_ok=True)
        self._spawn("slurmctld", ["slurmctld", "-D", "-i"], self.root / "log" / "slurmctld.log")
        self._wait(
            "slurmctld to answer",
            lambda: self.run("scontrol", "ping", check=False, timeout=15).stdout.find("UP") >= 0,
            60,
            ("slurmctld",),
        )
        self._spawn("slurmd", ["slurmd", "-D", "-N", self.hostname], self.root / "log" / "slurmd.log")

        def idle() -> bool:
            out = self.run(
                "sinfo", "-h", "-N", "-p", self.partition, "-o", "%N %t", check=False, timeout=15
            ).stdout.split()
            return len(out) == 2 and out[1] == "idle"

        self._wait(f"node {self.hostname} to be idle in sinfo", idle, 60, ("slurmctld", "slurmd"))
        mpi = self.run("srun", "--mpi=list", check=False, timeout=30)
        if "pmix" not in mpi.stdout + mpi.stderr:
            raise ClusterError(f"srun --mpi=list shows no pmix:\n{mpi.stdout}{mpi.stderr}\n{self.diagnostics()}")
        # What the Snakemake jobstep plugin does inside a job: srun without SLURM_CONF.
        probe = self.root / "log" / "probe.out"
        self.run(
            "sbatch",
            "--wait",
            "-o",
            str(probe),
            "-t",
            "1",
            "--mem",
            "100",
            "--wrap",
            "env -u SLURM_CONF srun -n1 --mpi=pmix true && echo probe-ok",
            timeout=60,
        )
        if "probe-ok" not in _tail(probe):
            raise ClusterError(f"srun inside a job (without SLURM_CONF) failed:\n{_tail(probe)}\n{self.diagnostics()}")

    # ---- stop ----------------------------------------------------------------------------

    def cancel_all_jobs(self, timeout: float = 30) -> None:
        if "slurmctld" not in self.procs or self.procs["slurmctld"].poll() is not None:
            return
        self.run("scancel", "--full", "-u", pwd.getpwuid(os.geteuid()).pw_name, check=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.run("squeue", "-h", "-o", "%i", check=False).stdout.strip():
                return
            time.sleep(0.5)

    def stop(self) -> None:
        try:
            self.cancel_all_jobs()
        except Exception:  # noqa: BLE001 - stopping must go on
            pass
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
                except ProcessLookupError:
                    pass
        self.procs.clear()
        run_conf = getattr(self, "_linked_run_conf", None)
        if run_conf is not None and run_conf.is_symlink():
            run_conf.unlink()
            self._linked_run_conf = None
            try:
                run_conf.parent.rmdir()  # /run/slurm, if nothing else is in it
            except OSError:
                pass
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> SlurmCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture(scope="session", name="slurm_cluster")
def slurm_cluster_fixture():
    """A started cluster for the whole session; skipped where it cannot run, failed under CI=true."""
    ok, why = can_run()
    if not ok:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the SLURM tests cannot run: {why}")
        pytest.skip(why)
    cluster = SlurmCluster()
    try:
        cluster.start()
    except ClusterError as error:
        pytest.fail(f"could not start the SLURM test cluster:\n{error}")
    yield cluster
    cluster.stop()


if __name__ == "__main__":

    def _terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    with SlurmCluster() as cluster:
        print(
            f"export SLURM_CONF={cluster.slurm_conf}   # partition {cluster.partition}, account {cluster.account}",
            flush=True,
        )
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
