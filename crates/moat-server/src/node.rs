//! Opening a node's state: root key, store, first-start bootstrap. Shared by the binary and
//! the test kit so both start the same way.

use std::path::{Path, PathBuf};

use moat_iam::auth::{Bootstrap, BootstrapError, SuppliedRootKey};
use moat_store::{RootKey, SecretError, Store, StoreError};
use moat_types::{AccountId, Clock};

/// Where the root key comes from.
pub enum RootKeySource {
    /// Hex text (`MOAT_ROOT_KEY`).
    Hex(zeroize::Zeroizing<String>),
    /// A file that must exist and be private.
    File(PathBuf),
    /// `<data-dir>/root.key`, created on first start.
    DataDir,
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot use data directory `{path}`: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("root key: {0}")]
    RootKey(#[from] SecretError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Bootstrap(#[from] BootstrapError),
    #[error("root key file `{0}` does not exist")]
    RootKeyFileMissing(String),
}

pub struct Node {
    pub store: Store,
    pub bootstrap: Bootstrap,
    pub root_key_created: bool,
}

/// Makes sure the data directory exists, is private and writable.
pub fn prepare_data_dir(dir: &Path) -> Result<(), NodeError> {
    let err = |source| NodeError::DataDir {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir).map_err(err)?;
        if meta.permissions().mode() & 0o077 != 0 {
            // Only tighten a directory we may own; an error here is reported by the probe below.
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    let probe = dir.join(".moat-write-probe");
    std::fs::write(&probe, b"ok").map_err(err)?;
    std::fs::remove_file(&probe).map_err(err)?;
    Ok(())
}

pub fn open(
    data_dir: &Path,
    root_key: RootKeySource,
    account: Option<AccountId>,
    supplied: Option<SuppliedRootKey>,
    clock: &dyn Clock,
) -> Result<Node, NodeError> {
    prepare_data_dir(data_dir)?;
    let (key, root_key_created) = match root_key {
        RootKeySource::Hex(text) => (RootKey::from_hex(&text)?, false),
        RootKeySource::File(path) => {
            if !path.exists() {
                return Err(NodeError::RootKeyFileMissing(path.display().to_string()));
            }
            RootKey::load_or_create(&path)?
        }
        RootKeySource::DataDir => RootKey::load_or_create(&data_dir.join("root.key"))?,
    };
    let store = Store::open_sqlite(data_dir, key)?;
    let bootstrap = moat_iam::auth::bootstrap(&store, account, supplied, clock.now())?;
    Ok(Node {
        store,
        bootstrap,
        root_key_created,
    })
}
