//! The Moat server: listener, TLS, limits, `/health`, `/metrics`, and the AWS request pipeline.

pub mod audit;
pub mod authz;
mod cloudtrail_service;
pub mod iam_service;
mod kms_service;
mod metrics;
pub mod node;
pub mod pipeline;
pub mod service;
mod sts_service;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use moat_iam::Iam;
use moat_sigv4::SigningKeyCache;
use moat_store::Store;
use moat_types::Clock;
use tokio::net::TcpListener;

pub use service::{PreparedCall, Service};

/// Request limits: a request past them is refused before any work is done.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_header_bytes: usize,
    /// How long a client may take to send its request headers.
    pub header_read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_header_bytes: 64 * 1024,
            header_read_timeout: Duration::from_secs(30),
        }
    }
}

/// What the server needs to run; built by the binary (or the test kit).
pub struct ServerConfig {
    pub region: String,
    pub limits: Limits,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Admit `http://` OpenID Connect issuers on loopback hosts (for tests that run their own
    /// issuer); `https://` is required otherwise.
    pub allow_insecure_oidc_loopback: bool,
}

/// Shared by every request.
pub struct State {
    pub(crate) services: HashMap<&'static str, Arc<dyn Service>>,
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) region: String,
    pub(crate) key_cache: SigningKeyCache,
    pub(crate) metrics: metrics::Metrics,
    /// Events of calls that change nothing, on their way to the trail.
    pub(crate) audit: audit::AuditQueue,
    limits: Limits,
    key_use: Mutex<HashMap<String, Instant>>,
    ready: std::sync::atomic::AtomicBool,
    credentials: std::sync::RwLock<HashMap<String, Arc<CachedCredential>>>,
    /// Opened session tokens by temporary access key id.
    sessions: std::sync::RwLock<HashMap<String, CachedSession>>,
    /// Bumped after every write; a cached credential or compiled identity from an older
    /// generation is reloaded.
    pub(crate) generation: Arc<std::sync::atomic::AtomicU64>,
    /// IAM users' and roles' policies, compiled.
    pub(crate) identities: authz::IdentityCache,
    /// Opens the session tokens of temporary credentials.
    pub(crate) sts: moat_sts::Sts,
}

/// An access key as authentication needs it, kept in memory so a request costs no storage
/// read and no unsealing; valid for one generation of writes.
pub(crate) struct CachedCredential {
    generation: u64,
    pub(crate) principal: moat_types::Principal,
    pub(crate) secret: zeroize::Zeroizing<Vec<u8>>,
    pub(crate) active: bool,
}

const CREDENTIAL_CACHE_CAPACITY: usize = 10_000;

/// Temporary credentials already opened from their token.
pub(crate) struct CachedSession {
    /// The token the entry was opened from; only that token is served from it.
    token: Box<str>,
    expires_at: time::OffsetDateTime,
    credential: Arc<CachedCredential>,
}

/// How often an access key's last use is written; AWS itself reports it with delay, and
/// writing on every request would cost a disk sync per call.
const KEY_USE_INTERVAL: Duration = Duration::from_secs(60);

impl State {
    /// Builds the shared state and starts the audit writer; call it inside the tokio runtime
    /// that will serve.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        config: &ServerConfig,
    ) -> Result<State, ServerError> {
        let mut services: HashMap<&'static str, Arc<dyn Service>> = HashMap::new();
        let iam: Arc<dyn Service> = Arc::new(iam_service::IamService {
            iam: Iam::new(store.clone())
                .with_insecure_oidc_loopback(config.allow_insecure_oidc_loopback),
        });
        services.insert(iam.signing_name(), iam);
        let cloudtrail: Arc<dyn Service> = Arc::new(cloudtrail_service::CloudTrailService {
            cloudtrail: moat_cloudtrail::CloudTrail::new(store.clone()),
        });
        services.insert(cloudtrail.signing_name(), cloudtrail);
        let sts = moat_sts::Sts::new(store.clone(), clock.clone())
            .with_insecure_oidc_loopback(config.allow_insecure_oidc_loopback);
        let token_keys = sts.clone();
        let sts_service: Arc<dyn Service> = Arc::new(sts_service::StsService { sts: sts.clone() });
        services.insert(sts_service.signing_name(), sts_service);
        let generation = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let kms = moat_kms::Kms::new(store.clone(), config.region.clone(), clock.clone())
            .with_generation(generation.clone());
        let kms_service: Arc<dyn Service> = Arc::new(kms_service::KmsService { kms: kms.clone() });
        services.insert(kms_service.signing_name(), kms_service);
        spawn_kms_housekeeping(kms, clock.clone(), generation.clone());
        let audit = audit::AuditQueue::start(
            store.clone(),
            clock.clone(),
            audit::AuditQueueConfig::default(),
        )?;
        Ok(State {
            services,
            store,
            clock,
            region: config.region.clone(),
            key_cache: SigningKeyCache::new(),
            metrics: metrics::Metrics::new().map_err(|e| ServerError::Metrics(e.to_string()))?,
            audit,
            limits: config.limits.clone(),
            key_use: Mutex::new(HashMap::new()),
            ready: std::sync::atomic::AtomicBool::new(true),
            credentials: std::sync::RwLock::new(HashMap::new()),
            sessions: std::sync::RwLock::new(HashMap::new()),
            generation,
            identities: authz::IdentityCache::default(),
            sts: token_keys,
        })
    }

    /// The credential for an access key id, from the cache when it is current.
    pub(crate) fn credential(
        &self,
        access_key_id: &str,
    ) -> Result<Option<Arc<CachedCredential>>, moat_iam::IamError> {
        use std::sync::atomic::Ordering;
        let generation = self.generation.load(Ordering::SeqCst);
        if let Some(c) = self
            .credentials
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(access_key_id)
        {
            if c.generation == generation {
                return Ok(Some(c.clone()));
            }
        }
        let Some(found) = moat_iam::auth::lookup_access_key(&self.store, access_key_id)? else {
            return Ok(None);
        };
        let cached = Arc::new(CachedCredential {
            generation,
            principal: found.principal,
            secret: found.secret,
            active: found.active,
        });
        let mut map = self.credentials.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CREDENTIAL_CACHE_CAPACITY {
            map.clear();
        }
        map.insert(access_key_id.to_owned(), cached.clone());
        Ok(Some(cached))
    }

    /// The credential of temporary credentials, read from their session token alone; kept in
    /// memory by key id so that a session's later requests skip opening the token again. The
    /// cached entry serves only the very token it was opened from, and expiry is checked on
    /// every request.
    pub(crate) fn session_credential(
        &self,
        access_key_id: &str,
        token: &str,
        now: time::OffsetDateTime,
    ) -> Result<Arc<CachedCredential>, moat_wire::CommonError> {
        use moat_wire::CommonError;
        use subtle::ConstantTimeEq as _;
        if !access_key_id.starts_with("ASIA") {
            return Err(CommonError::InvalidClientTokenId);
        }
        let cached = self
            .sessions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(access_key_id)
            .filter(|s| bool::from(s.token.as_bytes().ct_eq(token.as_bytes())))
            .map(|s| (s.expires_at, s.credential.clone()));
        if let Some((expires_at, credential)) = cached {
            if expires_at <= now {
                return Err(CommonError::ExpiredToken);
            }
            return Ok(credential);
        }
        let claims = self
            .sts
            .token_keys()
            .open(access_key_id, token)
            .map_err(|e| {
                if !matches!(e, moat_sts::token::TokenError::Invalid) {
                    tracing::error!(error = %e, "cannot open a session token");
                }
                CommonError::InvalidClientTokenId
            })?;
        if claims.expires_at() <= now {
            return Err(CommonError::ExpiredToken);
        }
        let principal = claims
            .principal(access_key_id)
            .map_err(|_| CommonError::InvalidClientTokenId)?;
        let credential = Arc::new(CachedCredential {
            generation: 0,
            principal,
            secret: zeroize::Zeroizing::new(claims.secret_access_key.as_bytes().to_vec()),
            active: true,
        });
        let mut sessions = self.sessions.write().unwrap_or_else(|p| p.into_inner());
        if sessions.len() >= CREDENTIAL_CACHE_CAPACITY {
            sessions.clear();
        }
        sessions.insert(
            access_key_id.to_owned(),
            CachedSession {
                token: token.into(),
                expires_at: claims.expires_at(),
                credential: credential.clone(),
            },
        );
        Ok(credential)
    }

    /// Remembers that a key was used, writing it at most once per interval per key.
    pub(crate) fn note_key_use(&self, access_key_id: &str, service: &str) {
        let due = {
            let mut seen = self.key_use.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            match seen.get(access_key_id) {
                Some(t) if now.duration_since(*t) < KEY_USE_INTERVAL => false,
                _ => {
                    seen.insert(access_key_id.to_owned(), now);
                    true
                }
            }
        };
        if due {
            let store = self.store.clone();
            let (key, service, region) = (
                access_key_id.to_owned(),
                service.to_owned(),
                self.region.clone(),
            );
            let now = self.clock.now();
            // A disk sync: never on the request's path.
            tokio::task::spawn_blocking(move || {
                if let Err(e) = moat_iam::auth::record_key_use(&store, &key, &service, &region, now)
                {
                    tracing::warn!(error = %e, "cannot record access key use");
                }
            });
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot set up metrics: {0}")]
    Metrics(String),
    #[error("listener failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server state must be built inside a tokio runtime (it starts the audit writer)")]
    NoRuntime,
}

/// How often KMS's housekeeping runs: keys due for deletion are deleted, rotations due are
/// made, expired imported material is removed. A key past its deletion date is already
/// refused by every request before the sweep removes it.
const KMS_HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(60);

fn spawn_kms_housekeeping(
    kms: moat_kms::Kms,
    clock: Arc<dyn Clock>,
    generation: Arc<std::sync::atomic::AtomicU64>,
) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(KMS_HOUSEKEEPING_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let kms = kms.clone();
            let now = clock.now();
            let done = tokio::task::spawn_blocking(move || kms.maintain(now)).await;
            match done {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => {
                    generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tracing::info!(keys = n, "KMS housekeeping changed keys");
                }
                Ok(Err(e)) => tracing::error!(error = %e, "KMS housekeeping failed"),
                Err(e) => tracing::error!(error = %e, "KMS housekeeping panicked"),
            }
        }
    });
}

/// Binds the listener; separate from `serve` so start-up errors surface before the banner.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

/// Serves until `shutdown` resolves, then stops accepting and waits (up to `drain`) for
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl std::future::Future<Output = ()>,
    drain: Duration,
) -> Result<(), ServerError> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .max_buf_size(state.limits.max_header_bytes.max(8192))
        .header_read_timeout(state.limits.header_read_timeout)
        .timer(hyper_util::rt::TokioTimer::new());
    builder
        .http2()
        .max_header_list_size(u32::try_from(state.limits.max_header_bytes).unwrap_or(u32::MAX));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: keep serving the others.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let secure = acceptor.is_some();
                let svc = hyper::service::service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, std::convert::Infallible>(route(state, req, peer, secure).await) }
                });
                match &acceptor {
                    None => {
                        let conn = builder.serve_connection(TokioIo::new(stream), svc).into_owned();
                        let conn = graceful.watch(conn);
                        tokio::spawn(async move {
                            if let Err(e) = conn.await {
                                tracing::debug!(error = %e, "connection ended with an error");
                            }
                        });
                    }
                    Some(acceptor) => {
                        let acceptor = acceptor.clone();
                        let builder = builder.clone();
                        let watcher = graceful.watcher();
                        tokio::spawn(async move {
                            let tls = match acceptor.accept(stream).await {
                                Ok(s) => s,
                                Err(e) => {
                                    tracing::debug!(error = %e, %peer, "TLS handshake failed");
                                    return;
                                }
                            };
                            let conn = builder.serve_connection(TokioIo::new(tls), svc).into_owned();
                            if let Err(e) = watcher.watch(conn).await {
                                tracing::debug!(error = %e, "connection ended with an error");
                            }
                        });
                    }
                }
            }
            () = &mut shutdown => {
                state.ready.store(false, std::sync::atomic::Ordering::SeqCst);
                tracing::info!("shutting down: no new connections, finishing requests in flight");
                break;
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all requests finished"),
        () = tokio::time::sleep(drain) => tracing::warn!("gave up waiting for requests in flight"),
    }
    // Queued audit events are committed, and the trail's head is signed into a digest.
    state.audit.shutdown().await;
    Ok(())
}

fn simple(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    resp
}

async fn route(
    state: Arc<State>,
    req: Request<Incoming>,
    peer: SocketAddr,
    secure: bool,
) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    if req.method() == http::Method::GET && !has_auth(&req) {
        match path {
            "/health" => {
                return if state.ready.load(std::sync::atomic::Ordering::SeqCst) {
                    simple(StatusCode::OK, "application/json", r#"{"status":"ok"}"#)
                } else {
                    simple(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "application/json",
                        r#"{"status":"shutting down"}"#,
                    )
                };
            }
            "/metrics" => {
                return simple(
                    StatusCode::OK,
                    "text/plain; version=0.0.4",
                    state.metrics.render(),
                );
            }
            _ => {}
        }
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    let request_id_for_limits = pipeline::new_request_id();
    if header_bytes > state.limits.max_header_bytes {
        return limit_error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request headers are too large.",
            &request_id_for_limits,
        );
    }
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, state.limits.max_body_bytes)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                let msg = format!(
                    "Request body is larger than the limit of {} bytes.",
                    state.limits.max_body_bytes
                );
                return limit_error(StatusCode::PAYLOAD_TOO_LARGE, &msg, &request_id_for_limits);
            }
            return simple(
                StatusCode::BAD_REQUEST,
                "text/plain",
                "could not read request body",
            );
        }
    };
    let mut headers = parts.headers;
    if !headers.contains_key(http::header::HOST) {
        // HTTP/2 carries the host in :authority; SDKs sign it as `host`.
        if let Some(authority) = parts.uri.authority() {
            if let Ok(v) = http::HeaderValue::from_str(authority.as_str()) {
                headers.insert(http::header::HOST, v);
            }
        }
    }
    let incoming = pipeline::Incoming {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        body,
        source_ip: peer.ip(),
        secure_transport: secure,
    };
    let reply = pipeline::handle(state.clone(), incoming).await;
    let mut resp = simple(reply.status, reply.content_type, reply.body);
    resp.headers_mut().insert(
        "x-amzn-requestid",
        pipeline::header_value(&reply.request_id),
    );
    resp
}

fn has_auth<B>(req: &Request<B>) -> bool {
    req.headers().contains_key(http::header::AUTHORIZATION)
        || req
            .uri()
            .query()
            .is_some_and(|q| q.contains("X-Amz-Algorithm"))
}

fn limit_error(status: StatusCode, message: &str, request_id: &str) -> Response<Full<Bytes>> {
    let body =
        moat_wire::query::encode_error(None, true, "RequestEntityTooLarge", message, request_id);
    let mut resp = simple(status, "text/xml", body);
    resp.headers_mut()
        .insert("x-amzn-requestid", pipeline::header_value(request_id));
    resp
}

/// Loads a PEM certificate chain and private key into a rustls server config.
pub fn load_tls(
    cert_path: &std::path::Path,
    key_path: &std::path::Path,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| format!("cannot read `{}`: {e}", p.display()))
    };
    let cert_pem = read(cert_path)?;
    let key_pem = read(key_path)?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| {
            format!(
                "`{}` is not a PEM certificate chain: {e}",
                cert_path.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!("`{}` holds no certificate", cert_path.display()));
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| format!("`{}` is not a PEM private key: {e}", key_path.display()))?
        .ok_or_else(|| format!("`{}` holds no private key", key_path.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key do not form a usable pair: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
