//! Secret files: created with owner-only permissions on first run, refused when readable by
//! anyone else, never silently replaced.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum KeyFileError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`")]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("{path} does not hold a key of {bytes} bytes in hex")]
    Malformed { path: PathBuf, bytes: usize },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io { path: path.to_owned(), source }
}

/// Creates `dir` (and parents) with mode 0700 if missing.
pub fn private_dir(dir: &Path) -> Result<(), KeyFileError> {
    if dir.exists() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io(dir))
}

/// Reads a hex key of `bytes` bytes from `path`.
pub fn read_key(path: &Path, bytes: usize) -> Result<Vec<u8>, KeyFileError> {
    let mode = std::fs::metadata(path).map_err(io(path))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::TooOpen { path: path.to_owned(), mode });
    }
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    match hex::decode(text.trim()) {
        Ok(key) if key.len() == bytes => Ok(key),
        _ => Err(KeyFileError::Malformed { path: path.to_owned(), bytes }),
    }
}

/// Reads the key at `path`, or, if no file exists there, creates one of `bytes` random bytes.
/// `create_new` makes the creation atomic, so two processes starting together cannot both write.
pub fn read_or_create_key(path: &Path, bytes: usize) -> Result<Vec<u8>, KeyFileError> {
    if path.exists() {
        return read_key(path, bytes);
    }
    if let Some(parent) = path.parent() {
        private_dir(parent)?;
    }
    let mut key = vec![0_u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io(path))?;
    file.write_all(hex::encode(&key).as_bytes()).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    tracing::info!(path = %path.display(), "generated a new key file");
    Ok(key)
}

/// Writes `contents` to a new owner-only file at `path`.
pub fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), KeyFileError> {
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io(path))?;
    file.write_all(contents).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_created_once_owner_only_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("k.key");
        let first = read_or_create_key(&path, 32).unwrap();
        assert_eq!(first.len(), 32);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(read_or_create_key(&path, 32).unwrap(), first);
    }

    #[test]
    fn readable_or_malformed_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        read_or_create_key(&path, 32).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(read_key(&path, 32), Err(KeyFileError::TooOpen { .. })));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(read_key(&path, 16), Err(KeyFileError::Malformed { .. })));
    }
}
