//! Starts a real Moat server on port 0 in a temporary data directory, for integration tests
//! and benchmarks. Nothing is mocked: the same start-up path as `moat serve`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use moat_iam::auth::SuppliedRootKey;
use moat_server::node::{self, RootKeySource};
use moat_types::{AccountId, Clock, SystemClock};

/// The account every test server manages.
pub const ACCOUNT_ID: &str = "123456789012";
/// The root credentials every test server accepts.
pub const ROOT_ACCESS_KEY_ID: &str = "AKIAMOATTESTROOT0001";
pub const ROOT_SECRET_ACCESS_KEY: &str = "moat/test/root/secret/key/0000000000000A";
pub const REGION: &str = "us-east-1";

pub struct TestServer {
    pub addr: SocketAddr,
    pub endpoint: String,
    data_dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

impl TestServer {
    pub async fn start() -> Result<TestServer, StartError> {
        Self::start_with_clock(Arc::new(SystemClock)).await
    }

    /// Starts with an injected clock (to test skew and expiry without sleeping).
    pub async fn start_with_clock(clock: Arc<dyn Clock>) -> Result<TestServer, StartError> {
        Self::start_with(clock, false).await
    }

    /// Starts admitting `http://` OpenID Connect issuers on loopback hosts, for tests that
    /// serve their own issuer.
    pub async fn start_with_insecure_oidc_loopback() -> Result<TestServer, StartError> {
        Self::start_with(Arc::new(SystemClock), true).await
    }

    async fn start_with(
        clock: Arc<dyn Clock>,
        allow_insecure_oidc_loopback: bool,
    ) -> Result<TestServer, StartError> {
        let err = |e: &dyn std::fmt::Display| StartError(e.to_string());
        let data_dir = tempfile::tempdir().map_err(|e| err(&e))?;
        let account: AccountId = ACCOUNT_ID.parse().map_err(|e| err(&e))?;
        let node = node::open(
            data_dir.path(),
            RootKeySource::DataDir,
            Some(account),
            Some(SuppliedRootKey {
                access_key_id: ROOT_ACCESS_KEY_ID.to_owned(),
                secret_access_key: zeroize::Zeroizing::new(ROOT_SECRET_ACCESS_KEY.to_owned()),
            }),
            clock.as_ref(),
        )
        .map_err(|e| err(&e))?;
        let config = moat_server::ServerConfig {
            region: REGION.to_owned(),
            limits: moat_server::Limits::default(),
            tls: None,
            allow_insecure_oidc_loopback,
        };
        let state =
            Arc::new(moat_server::State::new(node.store, clock, &config).map_err(|e| err(&e))?);
        let listener = moat_server::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| err(&e))?;
        let addr = listener.local_addr().map_err(|e| err(&e))?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.await;
            };
            if let Err(e) =
                moat_server::serve(listener, state, None, shutdown, Duration::from_secs(5)).await
            {
                eprintln!("test server failed: {e}");
            }
        });
        Ok(TestServer {
            addr,
            endpoint: format!("http://{addr}"),
            data_dir,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// Stops accepting, waits for requests in flight.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// A raw SigV4-signed query-protocol call, for tests that need exact control of the request
/// (bad parameters, skewed clocks, unknown actions). Returns status and body.
pub fn signed_query(
    addr: SocketAddr,
    params: &[(&str, &str)],
    access_key_id: &str,
    secret: &str,
    signing_time: time::OffsetDateTime,
) -> std::io::Result<(u16, String)> {
    signed_query_to(addr, "iam", params, access_key_id, secret, signing_time)
}

/// [`signed_query`] to another query-protocol service (`sts`).
pub fn signed_query_to(
    addr: SocketAddr,
    service: &str,
    params: &[(&str, &str)],
    access_key_id: &str,
    secret: &str,
    signing_time: time::OffsetDateTime,
) -> std::io::Result<(u16, String)> {
    signed_query_with_token(
        addr,
        service,
        params,
        access_key_id,
        secret,
        None,
        signing_time,
    )
}

/// [`signed_query_to`] with temporary credentials' session token.
pub fn signed_query_with_token(
    addr: SocketAddr,
    service: &str,
    params: &[(&str, &str)],
    access_key_id: &str,
    secret: &str,
    session_token: Option<&str>,
    signing_time: time::OffsetDateTime,
) -> std::io::Result<(u16, String)> {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let mut headers = http::HeaderMap::new();
    let host = addr.to_string();
    headers.insert(
        http::header::HOST,
        http::HeaderValue::from_str(&host).map_err(std::io::Error::other)?,
    );
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
    );
    let signing = moat_sigv4::SigningParams {
        access_key_id,
        secret_access_key: secret,
        session_token,
        region: REGION,
        service,
        time: signing_time,
        payload: moat_sigv4::PayloadSigning::Hash,
    };
    moat_sigv4::sign_request("POST", "/", "", &mut headers, body.as_bytes(), &signing)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    raw_http(addr, "POST", "/", &headers, body.as_bytes())
}

/// A raw SigV4-signed JSON 1.1 call (`X-Amz-Target: {target}`) to `service`, e.g. CloudTrail's
/// `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`. Returns status and
/// body.
pub fn signed_json(
    addr: SocketAddr,
    service: &str,
    target: &str,
    body: &str,
    access_key_id: &str,
    secret: &str,
) -> std::io::Result<(u16, String)> {
    signed_json_at(
        addr,
        service,
        target,
        body,
        access_key_id,
        secret,
        time::OffsetDateTime::now_utc(),
    )
}

/// [`signed_json`] signed as of `time`: for servers on an injected clock.
pub fn signed_json_at(
    addr: SocketAddr,
    service: &str,
    target: &str,
    body: &str,
    access_key_id: &str,
    secret: &str,
    time: time::OffsetDateTime,
) -> std::io::Result<(u16, String)> {
    let mut headers = http::HeaderMap::new();
    let host = addr.to_string();
    headers.insert(
        http::header::HOST,
        http::HeaderValue::from_str(&host).map_err(std::io::Error::other)?,
    );
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    headers.insert(
        "x-amz-target",
        http::HeaderValue::from_str(target).map_err(std::io::Error::other)?,
    );
    let signing = moat_sigv4::SigningParams {
        access_key_id,
        secret_access_key: secret,
        session_token: None,
        region: REGION,
        service,
        time,
        payload: moat_sigv4::PayloadSigning::Hash,
    };
    moat_sigv4::sign_request("POST", "/", "", &mut headers, body.as_bytes(), &signing)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    raw_http(addr, "POST", "/", &headers, body.as_bytes())
}

/// Sends one HTTP/1.1 request on a fresh connection and reads the whole response.
pub fn raw_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\n").into_bytes();
    for (k, v) in headers {
        req.extend_from_slice(k.as_str().as_bytes());
        req.extend_from_slice(b": ");
        req.extend_from_slice(v.as_bytes());
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    req.extend_from_slice(body);
    stream.write_all(&req)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}
