"""Helpers shared by the conformance suite: a `moat serve` process, boto3 clients, the aws CLI,
hand-signed raw HTTP requests and assertions on AWS error shapes.

The tests describe AWS's behaviour; nothing here adapts to what the server happens to do.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator
from unittest import mock

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import pytest
import requests
from botocore.exceptions import ClientError

REPO_ROOT = Path(__file__).resolve().parents[2]

ACCOUNT_ID = "123456789012"
ROOT_ACCESS_KEY_ID = "AKIAMOATEXAMPLEROOTK"
ROOT_SECRET_ACCESS_KEY = "moatE2eRootSecret/0123456789+abcdefghijk"
REGION = "us-east-1"
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"

# Environment variables of the calling shell that would change how moat, boto3 or the aws CLI
# behave; every process the suite starts gets an environment without them.
_SCRUBBED_PREFIXES = ("MOAT_", "AWS_")

STARTUP_TIMEOUT = 60.0


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
    env.pop("RUST_LOG", None)
    env["RUST_BACKTRACE"] = "0"
    env["NO_COLOR"] = "1"
    if extra:
        env.update(extra)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_binary() -> Path:
    """`MOAT_BIN` if set; otherwise `cargo build -p moat` in the repository root."""
    override = os.environ.get("MOAT_BIN")
    if override:
        path = Path(override)
        candidates = [path] if path.is_absolute() else [Path.cwd() / path, REPO_ROOT / path]
        for candidate in candidates:
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate.resolve()
        raise RuntimeError(f"MOAT_BIN={override} is not an executable file")
    build = subprocess.run(
        ["cargo", "build", "-p", "moat"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        raise RuntimeError(f"cargo build -p moat failed:\n{build.stderr[-4000:]}")
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))
    if not target.is_absolute():
        target = REPO_ROOT / target
    binary = target / "debug" / "moat"
    if not binary.is_file():
        raise RuntimeError(f"cargo build succeeded but {binary} does not exist")
    return binary


class MoatServer:
    """One `moat serve` process on a free loopback port with its own data directory."""

    def __init__(
        self,
        binary: Path,
        data_dir: Path,
        *,
        account_id: str | None = ACCOUNT_ID,
        access_key: str | None = ROOT_ACCESS_KEY_ID,
        secret: str | None = ROOT_SECRET_ACCESS_KEY,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        tls: bool = False,
        listen_host: str = "127.0.0.1",
    ) -> None:
        self.binary = binary
        self.data_dir = Path(data_dir)
        self.account_id = account_id or ACCOUNT_ID
        self.access_key = access_key
        self.secret = secret
        self.env_credentials = access_key is not None
        self.account_env = account_id
        self.extra_env = dict(env or {})
        self.extra_args = list(args or [])
        self.tls = tls
        self.listen_host = listen_host
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        self._log_file = None

    # --- lifecycle -------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        extra: dict[str, str] = {}
        if self.account_env:
            extra["MOAT_ACCOUNT_ID"] = self.account_env
        if self.env_credentials and self.access_key and self.secret:
            extra["MOAT_ROOT_ACCESS_KEY_ID"] = self.access_key
            extra["MOAT_ROOT_SECRET_ACCESS_KEY"] = self.secret
        extra.update(self.extra_env)
        return clean_env(extra)

    def start(self) -> "MoatServer":
        assert self.proc is None, "already running"
        last_error = ""
        for _ in range(5):
            self.port = free_port()
            cmd = [
                str(self.binary),
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--listen",
                f"{self.listen_host}:{self.port}",
                *self.extra_args,
            ]
            self._log_file = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                env=self._env(),
                start_new_session=True,
            )
            ok, last_error = self._wait_ready()
            if ok:
                if self.access_key is None:
                    self.load_root_credentials()
                return self
            # Lost a race for the port? Try another one; any other failure is final.
            self._reap()
            if "cannot listen" not in last_error:
                break
        raise RuntimeError(f"moat did not start: {last_error}")

    def _wait_ready(self) -> tuple[bool, str]:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False, f"exited with {self.proc.returncode}: {self.log_tail()}"
            try:
                if self.health() == 200:
                    return True, ""
            except OSError:
                pass
            time.sleep(0.05)
        return False, f"no /health after {STARTUP_TIMEOUT}s: {self.log_tail()}"

    def _reap(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(timeout=30)
        self.proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait; returns the exit status."""
        assert self.proc is not None, "not running"
        proc = self.proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
                raise AssertionError(f"moat ignored SIGTERM for {timeout}s")
        code = proc.returncode
        self._reap()
        return code

    def kill(self) -> None:
        """SIGKILL: no chance to flush anything."""
        assert self.proc is not None, "not running"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._reap()

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.stop(timeout=15)
            except AssertionError:
                pass

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def load_root_credentials(self) -> tuple[str, str]:
        """Reads `<data-dir>/root-credentials` (written on a first start without env credentials)."""
        text = (self.data_dir / "root-credentials").read_text()
        key = re.search(r"aws_access_key_id\s*=\s*(\S+)", text)
        secret = re.search(r"aws_secret_access_key\s*=\s*(\S+)", text)
        assert key and secret, f"root-credentials has no key pair:\n{text}"
        self.access_key, self.secret = key.group(1), secret.group(1)
        return self.access_key, self.secret

    # --- endpoints -------------------------------------------------------------------------

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def _urlopen(self, path: str, timeout: float = 2.0):
        ctx = None
        if self.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return urllib.request.urlopen(self.endpoint + path, timeout=timeout, context=ctx)

    def health(self) -> int:
        try:
            with self._urlopen("/health") as resp:
                return resp.status
        except urllib.error.HTTPError as e:
            return e.code

    def metrics(self) -> str:
        with self._urlopen("/metrics", timeout=10) as resp:
            return resp.read().decode()

    # --- clients ---------------------------------------------------------------------------

    def client(
        self,
        service: str = "iam",
        access_key: str | None = None,
        secret: str | None = None,
        region: str = REGION,
        **config_options: Any,
    ):
        """A boto3 client for this server, signed with the root credentials unless others are
        given; no retries, so every response is seen as it is. `config_options` go to
        botocore's Config (e.g. `parameter_validation=False`)."""
        config = botocore.config.Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            **config_options,
        )
        session = boto3.session.Session()
        return session.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret or self.secret,
            config=config,
            verify=False if self.tls else None,
        )

    def aws(
        self,
        *args: str,
        access_key: str | None = None,
        secret: str | None = None,
        session_token: str | None = None,
    ) -> Any:
        """Runs the aws CLI against this server; parsed JSON output (None when empty).
        `session_token` (with the temporary key pair) goes in `AWS_SESSION_TOKEN`."""
        env = clean_env(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ACCESS_KEY_ID": access_key or self.access_key,
                "AWS_SECRET_ACCESS_KEY": secret or self.secret,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_MAX_ATTEMPTS": "1",
                "AWS_RETRY_MODE": "standard",
                "AWS_PAGER": "",
            }
        )
        if session_token is not None:
            env["AWS_SESSION_TOKEN"] = session_token
        cmd = ["aws", *args, "--output", "json"]
        if self.tls:
            cmd.append("--no-verify-ssl")
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise AwsCliError(cmd, proc.returncode, proc.stderr)
        out = proc.stdout.strip()
        return json.loads(out) if out else None

    # --- raw HTTP --------------------------------------------------------------------------

    def raw(
        self,
        params: dict[str, str] | None = None,
        *,
        body: bytes | str | None = None,
        method: str = "POST",
        query: str = "",
        headers: dict[str, str] | None = None,
        sign: bool = True,
        access_key: str | None = None,
        secret: str | None = None,
        region: str = REGION,
        service: str = "iam",
        when: _dt.datetime | None = None,
        tamper: bool = False,
        timeout: float = 30.0,
    ) -> requests.Response:
        """A hand-made request, SigV4-signed by botocore unless `sign=False`.

        `params` become a form body (POST) or the query string (GET); `body` is sent verbatim.
        `when` signs as of another time; `tamper` flips a character of the signature.
        """
        url = self.endpoint + "/"
        hdrs = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        hdrs.update(headers or {})
        if params is not None:
            encoded = requests.models.RequestEncodingMixin._encode_params(params)
            if method == "GET":
                query = encoded
            else:
                body = encoded
        if query:
            url += "?" + query
        if isinstance(body, str):
            body = body.encode()
        if method == "GET":
            hdrs.pop("Content-Type", None)
        if sign:
            req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body or b"", headers=hdrs)
            creds = botocore.credentials.Credentials(
                access_key or self.access_key, secret or self.secret
            )
            with _signing_time(when):
                botocore.auth.SigV4Auth(creds, service, region).add_auth(req)
            hdrs = dict(req.headers.items())
            if tamper:
                auth = hdrs["Authorization"]
                last = auth[-1]
                hdrs["Authorization"] = auth[:-1] + ("0" if last != "0" else "1")
        return requests.request(
            method, url, data=body, headers=hdrs, timeout=timeout, verify=not self.tls
        )

    def presigned_url(
        self,
        params: dict[str, str],
        *,
        expires: int = 300,
        when: _dt.datetime | None = None,
        region: str = REGION,
        service: str = "iam",
    ) -> str:
        query = requests.models.RequestEncodingMixin._encode_params(params)
        url = f"{self.endpoint}/?{query}"
        req = botocore.awsrequest.AWSRequest(method="GET", url=url, headers={})
        creds = botocore.credentials.Credentials(self.access_key, self.secret)
        with _signing_time(when):
            botocore.auth.SigV4QueryAuth(creds, service, region, expires=expires).add_auth(req)
        return req.url


def session_client(server: MoatServer, creds: dict, service: str = "iam", **config_options: Any):
    """A boto3 client for `server` signed with temporary credentials: `creds` is the
    `Credentials` of an STS answer (AccessKeyId, SecretAccessKey, SessionToken; a missing
    SessionToken sends none). No retries; `config_options` go to botocore's Config."""
    config = botocore.config.Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        **config_options,
    )
    session = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
    )
    return session.client(
        service,
        endpoint_url=server.endpoint,
        region_name=REGION,
        config=config,
        verify=False if server.tls else None,
    )


@contextlib.contextmanager
def _signing_time(when: _dt.datetime | None) -> Iterator[None]:
    if when is None:
        yield
        return
    naive = when.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=naive):
        yield


class AwsCliError(Exception):
    def __init__(self, cmd: list[str], returncode: int, stderr: str) -> None:
        self.cmd = cmd
        self.returncode = returncode
        self.stderr = stderr
        m = re.search(r"An error occurred \(([^)]+)\)", stderr)
        self.code = m.group(1) if m else None
        super().__init__(f"{' '.join(cmd)} exited {returncode}: {stderr.strip()}")


# --- assertions ------------------------------------------------------------------------------


def error_of(exc: ClientError) -> tuple[str, int, str]:
    """(code, HTTP status, message) of a boto3 ClientError."""
    err = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return err.get("Code"), status, err.get("Message", "")


@contextlib.contextmanager
def raises_aws(code: str, status: int | None = None, message: str | None = None):
    """Expects a boto3 call to fail with AWS's `code` (and HTTP `status`, and a message
    containing `message`)."""
    with pytest.raises(ClientError) as info:
        yield info
    got_code, got_status, got_message = error_of(info.value)
    assert got_code == code, f"expected {code}, got {got_code} ({got_status}): {got_message}"
    if status is not None:
        assert got_status == status, f"{code}: expected HTTP {status}, got {got_status}"
    if message is not None:
        assert message in got_message, f"{code}: message {got_message!r} lacks {message!r}"


def parse_error_xml(resp: requests.Response) -> dict[str, str]:
    """The Type/Code/Message/RequestId of a query-protocol ErrorResponse."""
    assert resp.text, f"HTTP {resp.status_code} with an empty body"
    try:
        root = ET.fromstring(resp.content)
    except ET.ParseError as e:
        raise AssertionError(f"HTTP {resp.status_code}: body is not XML ({e}): {resp.text[:300]!r}")
    strip = lambda tag: tag.split("}", 1)[-1]  # noqa: E731
    assert strip(root.tag) == "ErrorResponse", f"root element is {root.tag}: {resp.text[:300]}"
    out: dict[str, str] = {}
    for el in root.iter():
        name = strip(el.tag)
        if name in ("Type", "Code", "Message", "RequestId") and el.text is not None:
            out.setdefault(name, el.text)
    assert "Code" in out, f"ErrorResponse without Code: {resp.text[:300]}"
    return out


def assert_xml_error(resp: requests.Response, status: int | None = None, code: str | set | None = None) -> dict:
    """A 4xx with an XML ErrorResponse (never a 5xx); optionally the exact status and code."""
    assert resp.status_code < 500, f"server error {resp.status_code}: {resp.text[:500]}"
    assert 400 <= resp.status_code < 500, f"expected a 4xx, got {resp.status_code}: {resp.text[:300]}"
    err = parse_error_xml(resp)
    if status is not None:
        assert resp.status_code == status, f"expected HTTP {status}, got {resp.status_code}: {err}"
    if code is not None:
        codes = {code} if isinstance(code, str) else set(code)
        assert err["Code"] in codes, f"expected {codes}, got {err}"
    return err


class Caller:
    """An IAM user with an access key, and clients signed as that user (`iam`, `client()`,
    `aws()`). Made by `make_caller`."""

    def __init__(self, server: MoatServer, user: dict, key: dict) -> None:
        self.server = server
        self.name: str = user["UserName"]
        self.path: str = user["Path"]
        self.arn: str = user["Arn"]
        self.user_id: str = user["UserId"]
        self.access_key: str = key["AccessKeyId"]
        self.secret: str = key["SecretAccessKey"]
        self.iam = self.client("iam")

    def client(self, service: str = "iam", **kwargs: Any):
        return self.server.client(service, access_key=self.access_key, secret=self.secret, **kwargs)

    def aws(self, *args: str) -> Any:
        return self.server.aws(*args, access_key=self.access_key, secret=self.secret)


def make_caller(server: MoatServer, iam, name: str, path: str = "/", **create_user: Any) -> Caller:
    """Creates (as `iam`, normally root) the user `name` with an access key; a fresh key works at
    once. `create_user` goes to CreateUser (Tags, PermissionsBoundary)."""
    user = iam.create_user(UserName=name, Path=path, **create_user)["User"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Caller(server, user, key)


def policy_doc(*statements: dict, version: str = "2012-10-17") -> str:
    return json.dumps({"Version": version, "Statement": list(statements)})


def allow(action: str | list[str] = "s3:GetObject", resource: str | list[str] = "*") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


TRUST_EC2 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
