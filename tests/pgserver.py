"""A throwaway PostgreSQL server for tests.

``PgServer`` runs ``initdb`` into a fresh temporary folder, starts the server on
a free local TCP port with ``pg_ctl -w start``, creates a database and, on
``stop()``, shuts the server down and removes the folder.  PostgreSQL refuses
to run as root, so when the tests run as root every server command runs as the
``postgres`` user (through ``runuser``, else ``su``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

#: Name of the database created for the tests.
DATABASE = "optimizer_test"


def find_bindir() -> Path | None:
    """The folder of the PostgreSQL server binaries (``initdb``, ``pg_ctl``), or ``None``."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        if bindir and (Path(bindir) / "initdb").exists():
            return Path(bindir)
    return None


def unavailable_reason() -> str | None:
    """Why no server can be started here, or ``None`` when one can."""
    if find_bindir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found; install the 'postgresql' package"
    if os.geteuid() == 0 and _run_as_prefix() is None:
        return "running as root, but there is no 'postgres' user to run the server as"
    return None


def _run_as_prefix() -> list[str] | None:
    """Command prefix running a command as ``postgres`` when we are root ([] when not root)."""
    if os.geteuid() != 0:
        return []
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        return None
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--"]
    return ["su", "postgres", "-s", "/bin/sh", "-c"]


def _free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """A private PostgreSQL server (see the module docstring)."""

    def __init__(self) -> None:
        bindir = find_bindir()
        prefix = _run_as_prefix()
        if bindir is None or prefix is None:
            raise RuntimeError(unavailable_reason() or "PostgreSQL unavailable")
        self.bindir = bindir
        self.prefix = prefix
        self.root = Path(tempfile.mkdtemp(prefix="optimizer-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
        self.started = False

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the test database."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str) -> None:
        """Run a server command (as ``postgres`` when root); raise with its output on failure."""
        command = [str(a) for a in args]
        if self.prefix and self.prefix[0] == "su":
            command = [*self.prefix, " ".join(f"'{c}'" for c in command)]
        else:
            command = [*self.prefix, *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def start(self) -> str:
        """Initialise, start the server and create the database.

        Returns:
            The database URL.
        """
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres", group="postgres")
        self._run(self.bindir / "initdb", "-D", self.data, "-U", self.user, "--auth=trust",
                  "--encoding=UTF8", "--no-sync")
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} -c fsync=off"
        self._run(self.bindir / "pg_ctl", "-D", self.data, "-l", self.root / "server.log", "-w",
                  "-t", "60", "-o", options, "start")
        self.started = True
        self._run(self.bindir / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, DATABASE)
        return self.url

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        try:
            if self.started:
                self._run(self.bindir / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
                self.started = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
