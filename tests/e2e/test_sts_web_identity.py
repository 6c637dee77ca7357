"""IAM OpenID Connect providers and STS AssumeRoleWithWebIdentity, as boto3 and the aws CLI
use them.

A tiny OpenID Connect issuer runs here on loopback (discovery document and key set over plain
HTTP), so the Moat server of this module starts with `--allow-insecure-oidc-loopback`; the
shared server, without the option, shows that issuers must be https. Tokens are signed with
keys made by the test (RS256 and ES256). AssumeRoleWithWebIdentity goes out unsigned, as
botocore sends it.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore
import botocore.config
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from support import ACCOUNT_ID, AwsCliError, MoatServer, raises_aws

THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_b64(n: int, length: int | None = None) -> str:
    length = length or (n.bit_length() + 7) // 8
    return b64url(n.to_bytes(length, "big"))


class Issuer:
    """An OpenID Connect issuer on 127.0.0.1: serves its discovery document and key set, and
    signs tokens. `down=True` answers every request with 503."""

    def __init__(self, down: bool = False) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.down = down
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if issuer.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/keys"}
                elif self.path == "/keys":
                    body = {"keys": issuer.jwks()}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.name = self.url.removeprefix("http://")
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def jwks(self) -> list[dict]:
        n = self.rsa.public_key().public_numbers()
        p = self.ec.public_key().public_numbers()
        return [
            {"kty": "RSA", "kid": "rsa1", "use": "sig", "alg": "RS256",
             "n": int_b64(n.n), "e": int_b64(n.e)},
            {"kty": "EC", "kid": "ec1", "use": "sig", "crv": "P-256",
             "x": int_b64(p.x, 32), "y": int_b64(p.y, 32)},
        ]

    def token(self, sub: str = "alice", aud: str | list[str] = "app", *, alg: str = "RS256",
              iss: str | None = None, exp_in: int = 600, key=None, **extra) -> str:
        now = int(time.time())
        claims = {"iss": iss or self.url, "aud": aud, "sub": sub, "iat": now, "nbf": now,
                  "exp": now + exp_in, **extra}
        header = {"alg": alg, "typ": "JWT", "kid": "rsa1" if alg == "RS256" else "ec1"}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        if alg == "RS256":
            sig = (key or self.rsa).sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        else:
            der = (key or self.ec).sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
            r, s = decode_dss_signature(der)
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signing_input}.{b64url(sig)}"


@pytest.fixture(scope="module")
def oidc_server(moat_bin, tmp_path_factory):
    srv = MoatServer(moat_bin, tmp_path_factory.mktemp("oidc") / "data",
                     args=["--allow-insecure-oidc-loopback"])
    srv.start()
    yield srv
    srv.close()


@pytest.fixture
def issuer():
    i = Issuer()
    yield i
    i.close()


@pytest.fixture
def oidc_iam(oidc_server):
    return oidc_server.client("iam")


def unsigned_sts(server: MoatServer):
    """An STS client with no credentials at all."""
    return server.client("sts", signature_version=botocore.UNSIGNED)


def trust(provider_arn: str, conditions: dict | None = None) -> str:
    statement = {"Effect": "Allow", "Principal": {"Federated": provider_arn},
                 "Action": "sts:AssumeRoleWithWebIdentity"}
    if conditions:
        statement["Condition"] = conditions
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def setup_role(iam, issuer: Issuer, names, conditions=None, client_ids=("app",)) -> tuple[str, str]:
    arn = iam.create_open_id_connect_provider(
        Url=issuer.url, ClientIDList=list(client_ids))["OpenIDConnectProviderArn"]
    role = iam.create_role(RoleName=names("role"),
                           AssumeRolePolicyDocument=trust(arn, conditions))["Role"]
    return arn, role["Arn"]


# --- IAM: providers --------------------------------------------------------------------------


def test_provider_lifecycle_with_boto3(iam, names):
    host = f"{names('idp')}.example.com"
    url = f"https://{host}/tenant"
    arn = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{host}/tenant"
    out = iam.create_open_id_connect_provider(
        Url=url, ClientIDList=["app"], ThumbprintList=[THUMBPRINT],
        Tags=[{"Key": "team", "Value": "core"}])
    assert out["OpenIDConnectProviderArn"] == arn
    assert out["Tags"] == [{"Key": "team", "Value": "core"}]

    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == f"{host}/tenant"
    assert got["ClientIDList"] == ["app"]
    assert got["ThumbprintList"] == [THUMBPRINT]
    assert got["CreateDate"]
    assert got["Tags"] == [{"Key": "team", "Value": "core"}]
    listed = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    assert arn in listed

    with raises_aws("EntityAlreadyExists", 409, f"Provider with url {url} already exists."):
        iam.create_open_id_connect_provider(Url=url)

    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="cli")
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="cli")
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="app")
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn,
                                                   ThumbprintList=["a" * 40, "b" * 40])
    iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn,
                                     Tags=[{"Key": "env", "Value": "ci"}])
    iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn, TagKeys=["team"])
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["ClientIDList"] == ["cli"]
    assert got["ThumbprintList"] == ["a" * 40, "b" * 40]
    tags = iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)
    assert tags["Tags"] == [{"Key": "env", "Value": "ci"}]
    assert tags["IsTruncated"] is False

    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)  # idempotent, as in IAM
    with raises_aws("NoSuchEntity", 404, f"OpenIDConnect Provider not found for arn {arn}"):
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with raises_aws("NoSuchEntity", 404):
        iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="x")


def test_provider_limits_and_urls(iam, names):
    url = f"https://{names('idp')}.example.com"
    with raises_aws("InvalidInput", 400, "Thumbprint list must contain fewer than 5 entries."):
        iam.create_open_id_connect_provider(Url=url, ThumbprintList=[c * 40 for c in "abcdef"])
    with raises_aws("LimitExceeded", 409, "ClientIdsPerOpenIdConnectProvider: 100"):
        iam.create_open_id_connect_provider(Url=url, ClientIDList=[f"c{i}" for i in range(101)])
    with raises_aws("InvalidInput", 400, "Invalid Open ID Connect Provider URL."):
        iam.create_open_id_connect_provider(Url="example.com")


def test_https_is_required_without_the_loopback_option(iam, oidc_iam, issuer):
    # The shared server runs without --allow-insecure-oidc-loopback.
    with raises_aws("InvalidInput", 400, "The URL must begin with https://."):
        iam.create_open_id_connect_provider(Url=issuer.url)
    # With it, only loopback hosts may be http.
    with raises_aws("InvalidInput", 400, "The URL must begin with https://."):
        oidc_iam.create_open_id_connect_provider(Url="http://idp.example.com")


def test_provider_lifecycle_with_the_aws_cli(aws, names):
    url = f"https://{names('cli')}.example.com"
    arn = aws("iam", "create-open-id-connect-provider", "--url", url,
              "--client-id-list", "app", "--thumbprint-list", THUMBPRINT)["OpenIDConnectProviderArn"]
    got = aws("iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", arn)
    assert got["Url"] == url.removeprefix("https://")
    assert got["ClientIDList"] == ["app"]
    listed = aws("iam", "list-open-id-connect-providers")["OpenIDConnectProviderList"]
    assert {"Arn": arn} in listed
    with pytest.raises(AwsCliError) as info:
        aws("iam", "create-open-id-connect-provider", "--url", url)
    assert info.value.code == "EntityAlreadyExists"
    aws("iam", "delete-open-id-connect-provider", "--open-id-connect-provider-arn", arn)
    with pytest.raises(AwsCliError) as info:
        aws("iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", arn)
    assert info.value.code == "NoSuchEntity"


# --- STS: AssumeRoleWithWebIdentity ----------------------------------------------------------


def test_an_unsigned_call_gets_a_session_that_acts_as_the_role(oidc_server, oidc_iam, issuer, names):
    provider_arn, role_arn = setup_role(oidc_iam, issuer, names)
    role_name = role_arn.rsplit("/", 1)[1]
    oidc_iam.put_role_policy(RoleName=role_name, PolicyName="list", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]}))

    out = unsigned_sts(oidc_server).assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName="build-1", WebIdentityToken=issuer.token("alice"),
        DurationSeconds=900)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert out["SubjectFromWebIdentityToken"] == "alice"
    assert out["Audience"] == "app"
    assert out["Provider"] == issuer.url
    session_arn = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/build-1"
    assert out["AssumedRoleUser"]["Arn"] == session_arn

    session = dict(aws_access_key_id=creds["AccessKeyId"],
                   aws_secret_access_key=creds["SecretAccessKey"],
                   aws_session_token=creds["SessionToken"])
    import boto3

    def client(service: str):
        return boto3.session.Session(**session).client(
            service, endpoint_url=oidc_server.endpoint, region_name="us-east-1",
            config=botocore.config.Config(retries={"total_max_attempts": 1}))

    assert client("sts").get_caller_identity()["Arn"] == session_arn
    client("iam").list_users()  # the role's policy allows it
    with raises_aws("AccessDenied", 403, session_arn):
        client("iam").create_user(UserName=names("nope"))


def test_boto3_sends_it_unsigned_even_with_credentials_configured(oidc_server, oidc_iam, issuer,
                                                                  names):
    _, role_arn = setup_role(oidc_iam, issuer, names)
    out = oidc_server.client("sts").assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName="s1", WebIdentityToken=issuer.token(alg="ES256"))
    assert out["SubjectFromWebIdentityToken"] == "alice"


def test_the_aws_cli_assumes_the_role(oidc_server, oidc_iam, issuer, names):
    _, role_arn = setup_role(oidc_iam, issuer, names)
    out = oidc_server.aws("sts", "assume-role-with-web-identity", "--role-arn", role_arn,
                          "--role-session-name", "cli", "--web-identity-token", issuer.token())
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_trust_conditions_on_sub_and_aud(oidc_server, oidc_iam, issuer, names):
    conditions = {"StringEquals": {f"{issuer.name}:sub": "alice",
                                   f"{issuer.name}:aud": "app"}}
    _, role_arn = setup_role(oidc_iam, issuer, names, conditions, client_ids=("app", "other"))
    sts = unsigned_sts(oidc_server)
    assume = lambda token: sts.assume_role_with_web_identity(  # noqa: E731
        RoleArn=role_arn, RoleSessionName="s1", WebIdentityToken=token)
    assume(issuer.token("alice", "app"))
    denied = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    with raises_aws("AccessDenied", 403, denied):
        assume(issuer.token("bob", "app"))
    with raises_aws("AccessDenied", 403, denied):
        assume(issuer.token("alice", "other"))
    # A role that does not exist is refused the same way.
    with raises_aws("AccessDenied", 403, denied):
        sts.assume_role_with_web_identity(
            RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{names('missing')}", RoleSessionName="s1",
            WebIdentityToken=issuer.token())


def test_bad_tokens_are_refused_as_sts_does(oidc_server, oidc_iam, issuer, names):
    provider_arn, role_arn = setup_role(oidc_iam, issuer, names)
    sts = unsigned_sts(oidc_server)

    def assume(token: str):
        return sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="s1",
                                                 WebIdentityToken=token)

    with raises_aws("InvalidIdentityToken", 400, "Incorrect token audience"):
        assume(issuer.token(aud="someone-else"))
    with raises_aws("InvalidIdentityToken", 400, "No OpenIDConnect provider found in your account"):
        assume(issuer.token(iss="https://unregistered.example.com"))
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with raises_aws("InvalidIdentityToken", 400):
        assume(issuer.token(key=other_key))
    with raises_aws("ExpiredTokenException", 400, "Token expired: current date/time"):
        assume(issuer.token(exp_in=-60))
    with raises_aws("InvalidIdentityToken", 400, "not a valid JWT"):
        assume("this-is-no-jwt")
    # A provider deleted since: its tokens are no longer known.
    oidc_iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=provider_arn)
    with raises_aws("InvalidIdentityToken", 400, "No OpenIDConnect provider found"):
        assume(issuer.token())


def test_an_unreachable_key_set_is_an_idp_communication_error(oidc_server, oidc_iam, names):
    down = Issuer(down=True)
    try:
        _, role_arn = setup_role(oidc_iam, down, names)
        with raises_aws("IDPCommunicationError", 400, "Couldn't retrieve verification key"):
            unsigned_sts(oidc_server).assume_role_with_web_identity(
                RoleArn=role_arn, RoleSessionName="s1", WebIdentityToken=down.token())
    finally:
        down.close()


def test_other_operations_still_need_a_signature(oidc_server):
    with raises_aws("MissingAuthenticationToken", 403):
        unsigned_sts(oidc_server).get_caller_identity()
    with raises_aws("MissingAuthenticationToken", 403):
        oidc_server.client("iam", signature_version=botocore.UNSIGNED).list_users()


def test_duration_is_bounded_by_the_role(oidc_server, oidc_iam, issuer, names):
    _, role_arn = setup_role(oidc_iam, issuer, names)
    with raises_aws("ValidationError", 400, "MaxSessionDuration"):
        unsigned_sts(oidc_server).assume_role_with_web_identity(
            RoleArn=role_arn, RoleSessionName="s1", WebIdentityToken=issuer.token(),
            DurationSeconds=7200)
