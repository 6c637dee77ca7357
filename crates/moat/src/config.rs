//! Configuration: a TOML file, then environment variables, then flags; each later source wins.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand, ValueEnum};
use moat_iam::auth::SuppliedRootKey;
use moat_types::AccountId;
use serde::Deserialize;
use zeroize::Zeroizing;

/// Moat: a self-hosted cloud security control plane that speaks the AWS APIs (IAM first) and
/// enforces them. Point the aws CLI or any AWS SDK at it with AWS_ENDPOINT_URL.
#[derive(Debug, Parser)]
#[command(name = "moat", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server. The first start in an empty data directory creates the management
    /// account and its root user, and prints the root credentials once (also written to
    /// <data-dir>/root-credentials, mode 0600).
    Serve(ServeArgs),
    /// Work with the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// AWS's recommended first steps for a new account, against a running server: protect
    /// the root user with MFA, create an administrator, stop using root.
    #[command(subcommand)]
    Onboard(OnboardCommand),
}

#[derive(Debug, Subcommand)]
pub enum OnboardCommand {
    /// Enroll a virtual MFA device for the account's root user: shows a QR code to scan (and
    /// the key for manual entry), then asks for two consecutive codes. Run with the root
    /// credentials.
    RootMfa(OnboardRootMfaArgs),
    /// Create the first administrator: an IAM user in an administrators group with
    /// AdministratorAccess and a console password (generated and shown once unless
    /// --password-file), optionally an access key with a ready aws CLI profile.
    Admin(OnboardAdminArgs),
}

/// How the onboarding commands reach the server and who they are.
#[derive(Debug, Args)]
pub struct OnboardConnection {
    /// The server's endpoint.
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        default_value = "http://127.0.0.1:4747"
    )]
    pub endpoint: String,
    /// The region to sign for.
    #[arg(long, env = "AWS_DEFAULT_REGION", default_value = "us-east-1")]
    pub region: String,
    /// Where to find root-credentials when AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are
    /// not set.
    #[arg(
        long,
        env = "MOAT_DATA_DIR",
        default_value = "moat-data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct OnboardRootMfaArgs {
    /// Name of the virtual MFA device.
    #[arg(long, default_value = "root-account-mfa-device")]
    pub device_name: String,
    #[command(flatten)]
    pub connection: OnboardConnection,
}

#[derive(Debug, Args)]
pub struct OnboardAdminArgs {
    /// The administrator's IAM user name.
    #[arg(long, default_value = "admin")]
    pub user_name: String,
    /// The administrators group (created if missing).
    #[arg(long, default_value = "Administrators")]
    pub group: String,
    /// Read the console password from this file instead of generating one.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Also create an access key and print an aws CLI profile for it.
    #[arg(long)]
    pub access_key: bool,
    /// The name of the printed aws CLI profile.
    #[arg(long, default_value = "moat-admin")]
    pub profile: String,
    #[command(flatten)]
    pub connection: OnboardConnection,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole audit trail of a data directory: every event's hash and its link to the
    /// one before, the indexed copies of its fields, every signed digest and the signed head.
    /// Exits non-zero, naming the event, if any event was altered, removed, inserted or
    /// reordered, or a signature is wrong. Safe to run while the server runs.
    Verify(AuditVerifyArgs),
}

#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// The data directory to check [default: ./moat-data].
    #[arg(long, env = "MOAT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The root key file the data was sealed under [default: <data-dir>/root.key].
    /// MOAT_ROOT_KEY may hold the key itself instead.
    #[arg(long, env = "MOAT_ROOT_KEY_FILE", value_name = "FILE")]
    pub root_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file; its keys are the long flag names with underscores
    /// (listen, data_dir, region, tls_cert, ...). Environment and flags override it.
    #[arg(long, env = "MOAT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address and port to listen on [default: 127.0.0.1:4747].
    #[arg(long, env = "MOAT_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
    /// Directory holding the database, the root key and the root credentials
    /// [default: ./moat-data].
    #[arg(long, env = "MOAT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The region this node serves; clients must sign for it [default: us-east-1].
    #[arg(long, env = "MOAT_REGION")]
    pub region: Option<String>,
    /// PEM certificate chain; with --tls-key, serve HTTPS.
    #[arg(long, env = "MOAT_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "MOAT_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address (for a TLS-terminating proxy in front).
    #[arg(long, env = "MOAT_ALLOW_INSECURE_HTTP")]
    pub allow_insecure_http: bool,
    /// FOR TESTS ONLY: admit `http://` OpenID Connect issuers on loopback hosts (127.0.0.1,
    /// localhost, [::1]) for AssumeRoleWithWebIdentity and CreateOpenIDConnectProvider.
    /// Otherwise issuers must be `https://`.
    #[arg(long, env = "MOAT_ALLOW_INSECURE_OIDC_LOOPBACK")]
    pub allow_insecure_oidc_loopback: bool,
    /// The root key file (64 hex characters, mode 0600) that seals every stored secret
    /// [default: <data-dir>/root.key, generated on first start]. MOAT_ROOT_KEY may hold the
    /// key itself instead.
    #[arg(long, env = "MOAT_ROOT_KEY_FILE", value_name = "FILE")]
    pub root_key_file: Option<PathBuf>,
    /// Log format [default: text].
    #[arg(long, env = "MOAT_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log level or tracing filter, e.g. `info` or `moat_server=debug` [default: info].
    /// RUST_LOG, when set, wins.
    #[arg(long, env = "MOAT_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Largest request body accepted, in bytes [default: 1048576].
    #[arg(long, env = "MOAT_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
}

/// The config file's keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    region: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    allow_insecure_http: Option<bool>,
    allow_insecure_oidc_loopback: Option<bool>,
    root_key_file: Option<PathBuf>,
    log_format: Option<LogFormat>,
    log_level: Option<String>,
    max_body_bytes: Option<usize>,
}

/// The resolved configuration of `moat serve`.
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub region: String,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub allow_insecure_http: bool,
    pub allow_insecure_oidc_loopback: bool,
    pub root_key_file: Option<PathBuf>,
    pub root_key: Option<Zeroizing<String>>,
    pub log_format: LogFormat,
    pub log_level: String,
    pub max_body_bytes: usize,
    pub account_id: Option<AccountId>,
    root_access_key_id: Option<String>,
    root_secret_access_key: Option<Zeroizing<String>>,
}

impl ServeConfig {
    pub fn supplied_root_key(&self) -> Option<SuppliedRootKey> {
        match (&self.root_access_key_id, &self.root_secret_access_key) {
            (Some(id), Some(secret)) => Some(SuppliedRootKey {
                access_key_id: id.clone(),
                secret_access_key: secret.clone(),
            }),
            _ => None,
        }
    }
}

/// A secret from `NAME`, or from the file named by `NAME_FILE` (which must be private).
pub fn secret_env(name: &str) -> anyhow::Result<Option<Zeroizing<String>>> {
    if let Ok(v) = std::env::var(name) {
        return Ok(Some(Zeroizing::new(v)));
    }
    let file_var = format!("{name}_FILE");
    if let Ok(path) = std::env::var(&file_var) {
        let path = PathBuf::from(path);
        moat_store::secrets::refuse_world_readable(&path).with_context(|| file_var.clone())?;
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{file_var}: cannot read `{}`", path.display()))?;
        return Ok(Some(Zeroizing::new(text.trim().to_owned())));
    }
    Ok(None)
}

pub fn resolve(args: ServeArgs) -> anyhow::Result<ServeConfig> {
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file `{}`", path.display()))?;
            toml::from_str::<FileConfig>(&text)
                .with_context(|| format!("config file `{}` is invalid", path.display()))?
        }
        None => FileConfig::default(),
    };
    let account_id = match std::env::var("MOAT_ACCOUNT_ID") {
        Ok(v) => Some(
            v.parse::<AccountId>()
                .map_err(|e| anyhow::anyhow!("MOAT_ACCOUNT_ID: {e}"))?,
        ),
        Err(_) => None,
    };
    let root_access_key_id = std::env::var("MOAT_ROOT_ACCESS_KEY_ID").ok();
    let root_secret_access_key = secret_env("MOAT_ROOT_SECRET_ACCESS_KEY")?;
    if root_access_key_id.is_some() != root_secret_access_key.is_some() {
        bail!("MOAT_ROOT_ACCESS_KEY_ID and MOAT_ROOT_SECRET_ACCESS_KEY must be set together");
    }
    let region = args
        .region
        .or(file.region)
        .unwrap_or_else(|| "us-east-1".to_owned());
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        bail!("region `{region}` is not a region name like us-east-1");
    }
    Ok(ServeConfig {
        listen: args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 4747))),
        data_dir: args
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("moat-data")),
        region,
        tls_cert: args.tls_cert.or(file.tls_cert),
        tls_key: args.tls_key.or(file.tls_key),
        allow_insecure_http: args.allow_insecure_http || file.allow_insecure_http.unwrap_or(false),
        allow_insecure_oidc_loopback: args.allow_insecure_oidc_loopback
            || file.allow_insecure_oidc_loopback.unwrap_or(false),
        root_key_file: args.root_key_file.or(file.root_key_file),
        root_key: secret_env("MOAT_ROOT_KEY")?,
        log_format: args.log_format.or(file.log_format).unwrap_or_default(),
        log_level: args
            .log_level
            .or(file.log_level)
            .unwrap_or_else(|| "info".to_owned()),
        max_body_bytes: args
            .max_body_bytes
            .or(file.max_body_bytes)
            .unwrap_or(1024 * 1024),
        account_id,
        root_access_key_id,
        root_secret_access_key,
    })
}
