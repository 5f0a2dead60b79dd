//! The key that signs RSVP links: `SECRET_KEY`, or with SQLite a key generated on first
//! start and kept under the data folder. PostgreSQL serves several instances, which
//! must all verify each other's links, so there it has to be given.

use std::io::Write;
use std::path::PathBuf;

use rand::RngCore;

use crate::config::{Config, DatabaseUrl};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("SECRET_KEY: must be set when DATABASE_URL is PostgreSQL (every instance needs the same key)")]
    Required,
    #[error("SECRET_KEY: cannot use {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

pub fn signing_key(config: &Config) -> Result<Vec<u8>, SecretError> {
    if let Some(key) = &config.secret_key {
        return Ok(key.as_bytes().to_vec());
    }
    if matches!(config.database, DatabaseUrl::Postgres(_)) {
        return Err(SecretError::Required);
    }
    let path = config.data_dir.join("secret_key");
    let fail = |source| SecretError::File {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 64 => return Ok(text.trim().as_bytes().to_vec()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let key = hex::encode(bytes);
    write_private(&path, &key).map_err(fail)?;
    Ok(key.into_bytes())
}

fn write_private(path: &PathBuf, key: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(key.as_bytes())?;
    file.sync_all()
}
