//! The first admin.
//!
//! On first start (no users yet) grimOS creates the user `admin` with an admin token. The
//! token's value is `GRIMOS_ADMIN_TOKEN` when the operator set it, otherwise a new random
//! token written to `<data-dir>/admin.token` with mode 0600. The value is never logged.
//! The admin role (`platform:grimos#admin@user:<id>`) and the token's owner are written as
//! relationships too.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use kernel::{Error, Role};
use storage::Database;

use crate::relationships;
use crate::tokens::{self, NewToken, TokenValue};
use crate::users::{self, NewUser};

/// The file the generated admin token is written to, inside the data directory.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// What the bootstrap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// Users already existed; nothing was done.
    AlreadyDone,
    /// The admin was created with the operator-supplied token.
    CreatedWithSuppliedToken,
    /// The admin was created and its token written to this file.
    CreatedWithTokenFile(PathBuf),
}

/// Create the first admin if there are no users yet.
pub async fn bootstrap_admin(
    db: &Database,
    data_dir: &Path,
    supplied_token: Option<&str>,
) -> Result<BootstrapOutcome, Error> {
    if users::any_exist(db).await? {
        return Ok(BootstrapOutcome::AlreadyDone);
    }
    let (value, token_file) = match supplied_token {
        Some(supplied) => (TokenValue::from_supplied(supplied.to_owned()), None),
        None => (
            TokenValue::generate(),
            Some(data_dir.join(ADMIN_TOKEN_FILE)),
        ),
    };
    if let Some(path) = &token_file {
        write_secret_file(path, value.expose()).map_err(|error| {
            Error::internal(std::io::Error::new(
                error.kind(),
                format!(
                    "cannot write the admin token to {}: {error}",
                    path.display()
                ),
            ))
        })?;
    }
    let admin = users::create(
        db,
        NewUser {
            name: "admin".to_owned(),
            email: None,
            role: Role::Admin,
        },
    )
    .await?;
    let token = tokens::create(
        db,
        NewToken {
            user_id: admin.id.clone(),
            name: "bootstrap".to_owned(),
            role: Role::Admin,
            expires_at: None,
            created_by: None,
        },
        &value,
    )
    .await?;
    // The admin role and the token's owner, as relationships. The decision point opens
    // after the bootstrap, so they go straight into the store.
    let (mut writes, deletes) = relationships::role_changes(&admin.id, admin.role);
    writes.push(relationships::token_owner_tuple(&token.id, &admin.id));
    relationships::write_to_store(db, writes, deletes, Some("bootstrap")).await?;
    Ok(match token_file {
        Some(path) => BootstrapOutcome::CreatedWithTokenFile(path),
        None => BootstrapOutcome::CreatedWithSuppliedToken,
    })
}

/// Write `contents` to a new file readable only by its owner.
fn write_secret_file(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}
