//! `moat`: the binary. Parses configuration, starts the server, reports start-up problems in one
//! line.

mod audit;
mod client;
mod config;
mod onboard;

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Parser as _;
use moat_server::node::{self, RootKeySource};
use moat_types::{Clock, SystemClock};

use config::{AuditCommand, Cli, Command, LogFormat, OnboardCommand, ServeConfig};

// Request handling allocates many small, short-lived values; mimalloc serves them several times
// faster than glibc's allocator under load (see bench/RESULTS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => config::resolve(args).and_then(run_serve),
        Command::Audit(AuditCommand::Verify(args)) => audit::verify(args),
        Command::Onboard(OnboardCommand::Admin(args)) => onboard::admin(args),
        Command::Onboard(OnboardCommand::RootMfa(args)) => onboard::root_mfa(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear line, never a backtrace: the chain of causes joined.
            let _ = writeln!(std::io::stderr(), "moat: error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line. Many of our error messages already embed their source
/// (`cannot listen on ...: {source}`), so a cause whose text is already there is left out rather
/// than repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line.replace(['\n', '\r'], " ")
}

fn init_logging(config: &ServeConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn run_serve(config: ServeConfig) -> anyhow::Result<()> {
    let started = Instant::now();
    init_logging(&config);

    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            Some(moat_server::load_tls(cert, key).map_err(anyhow::Error::msg)?)
        }
        (None, None) => None,
        _ => bail!("--tls-cert and --tls-key must be given together"),
    };
    if tls.is_none() && !config.listen.ip().is_loopback() {
        if !config.allow_insecure_http {
            bail!(
                "refusing to serve plain HTTP on non-loopback address {}: responses carry secrets \
                 (CreateAccessKey). Give --tls-cert and --tls-key, or --allow-insecure-http if a \
                 TLS-terminating proxy sits in front",
                config.listen
            );
        }
        tracing::warn!(listen = %config.listen, "serving plain HTTP on a non-loopback address; secrets cross the network unencrypted");
    }

    if config.allow_insecure_oidc_loopback {
        tracing::warn!("admitting http:// OpenID Connect issuers on loopback hosts (--allow-insecure-oidc-loopback): for tests only");
    }

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let root_key = match (&config.root_key, &config.root_key_file) {
        (Some(hex), _) => RootKeySource::Hex(hex.clone()),
        (None, Some(path)) => RootKeySource::File(path.clone()),
        (None, None) => RootKeySource::DataDir,
    };
    let node = node::open(
        &config.data_dir,
        root_key,
        config.account_id,
        config.supplied_root_key(),
        clock.as_ref(),
    )?;
    if node.root_key_created {
        tracing::info!(path = %config.data_dir.join("root.key").display(), "generated a new root key; back it up: without it the secrets in this data directory cannot be read");
    }
    let account = node.bootstrap.account;
    // Written before binding, so generated credentials survive a failed start; shown only
    // once the node is actually serving.
    let banner = match &node.bootstrap.generated_root_key {
        Some((id, secret)) => Some(write_root_credentials(
            &config,
            &account.to_string(),
            id,
            secret,
        )?),
        None => None,
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let server_config = moat_server::ServerConfig {
            region: config.region.clone(),
            limits: moat_server::Limits {
                max_body_bytes: config.max_body_bytes,
                ..moat_server::Limits::default()
            },
            tls: tls.clone(),
            allow_insecure_oidc_loopback: config.allow_insecure_oidc_loopback,
        };
        let state = Arc::new(moat_server::State::new(node.store, clock, &server_config)?);
        let listener = moat_server::bind(config.listen).await?;
        let local = listener.local_addr().context("cannot read the bound address")?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        if let Some(banner) = banner {
            eprintln!("{}", banner.as_str());
        }
        tracing::info!(
            endpoint = %format!("{scheme}://{local}"),
            data_dir = %config.data_dir.display(),
            region = %config.region,
            account = %account,
            startup_ms = started.elapsed().as_millis() as u64,
            "moat {} is ready",
            env!("CARGO_PKG_VERSION")
        );
        eprintln!(
            "moat {} listening on {scheme}://{local} (region {}, management account {account}); data in {}",
            env!("CARGO_PKG_VERSION"),
            config.region,
            config.data_dir.display()
        );
        moat_server::serve(listener, state, tls, shutdown_signal(), Duration::from_secs(30)).await?;
        Ok::<_, anyhow::Error>(())
    })
}

fn write_root_credentials(
    config: &ServeConfig,
    account: &str,
    access_key_id: &str,
    secret: &str,
) -> anyhow::Result<zeroize::Zeroizing<String>> {
    let path = config.data_dir.join("root-credentials");
    let endpoint = format!("http://{}", config.listen);
    let text = zeroize::Zeroizing::new(format!(
        "# Root credentials of account {account}, generated on first start.\n\
         # Keep them safe; create an administrator IAM user and stop using root.\n\
         [moat-root]\n\
         aws_access_key_id = {access_key_id}\n\
         aws_secret_access_key = {secret}\n\
         endpoint_url = {endpoint}\n\
         region = {}\n",
        config.region
    ));
    let mut file = moat_store::secrets::create_private(&path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    // Shown once, on the terminal of whoever started the node; never logged.
    Ok(zeroize::Zeroizing::new(format!(
        "\nCreated management account {account}. Root credentials (also in {}):\n\n  \
         export AWS_ENDPOINT_URL={endpoint} AWS_DEFAULT_REGION={}\n  \
         export AWS_ACCESS_KEY_ID={access_key_id}\n  \
         export AWS_SECRET_ACCESS_KEY={secret}\n",
        path.display(),
        config.region
    )))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
