//! `moat audit ...`: checks on the audit trail, run against a data directory.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use moat_store::RootKey;

use crate::config::{secret_env, AuditVerifyArgs};

/// `moat audit verify`: walks the whole chain, the digests and the signed head; prints one
/// line either way and fails on the first problem.
pub fn verify(args: AuditVerifyArgs) -> anyhow::Result<()> {
    let data_dir = args.data_dir.unwrap_or_else(|| PathBuf::from("moat-data"));
    if !data_dir.join("moat.db").is_file() {
        anyhow::bail!(
            "`{}` holds no moat database (moat.db); give the server's --data-dir",
            data_dir.display()
        );
    }
    let root_key = load_root_key(&data_dir, args.root_key_file.as_deref())?;
    let report = moat_store::verify_audit_sqlite(&data_dir, &root_key)
        .map_err(|e| anyhow::anyhow!("audit trail check failed: {e}"))?;
    println!("{report}");
    Ok(())
}

/// The root key as `moat serve` finds it (MOAT_ROOT_KEY, then the file, then
/// `<data-dir>/root.key`), without ever creating one.
fn load_root_key(data_dir: &Path, file: Option<&Path>) -> anyhow::Result<RootKey> {
    if let Some(hex) = secret_env("MOAT_ROOT_KEY")? {
        return RootKey::from_hex(&hex).context("MOAT_ROOT_KEY");
    }
    let path = file.map_or_else(|| data_dir.join("root.key"), Path::to_path_buf);
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read root key file `{}`", path.display()))?,
    );
    moat_store::secrets::refuse_world_readable(&path)?;
    RootKey::from_hex(&text).with_context(|| format!("root key file `{}`", path.display()))
}
