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
