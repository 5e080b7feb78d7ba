//! Key files: one 256-bit key as 64 hex characters, readable by its owner only.
//!
//! The KEK and the blind-index key follow the same rules, so both go through here: loading
//! refuses a file that group or others can access (a key anyone on the host can read protects
//! nothing), and creating never replaces an existing file (a new key over an old one would make
//! everything sealed under the old one unreadable).

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::secret_key::{KEY_LEN, SecretKey};

const HEX_LEN: usize = KEY_LEN * 2;
/// A key file is 64 hex characters and maybe a newline; the cap keeps a wrong path (a log, a
/// device) from making start-up read without bound.
const MAX_FILE_LEN: usize = 1024;
const GROUP_OTHER_BITS: u32 = 0o077;

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("key file {} does not exist", path.display())]
    Missing { path: PathBuf },

    #[error(
        "key file {} can be accessed by group or others (mode {mode:03o}); restrict it with `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    TooPermissive { path: PathBuf, mode: u32 },

    #[error(
        "key file {} must hold exactly {HEX_LEN} hex characters (a 256-bit key), but holds {found}",
        path.display()
    )]
    WrongLength { path: PathBuf, found: usize },

    #[error("key file {} holds characters that are not hex digits", path.display())]
    NotHex { path: PathBuf },

    #[error("key file {} is not a regular file", path.display())]
    NotAFile { path: PathBuf },

    #[error("key file {} already exists; refusing to overwrite it with a new key", path.display())]
    AlreadyExists { path: PathBuf },

    #[error("key file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("the operating system's random number generator failed")]
    Randomness(#[source] rand::Error),
}

pub(crate) fn load(path: &Path) -> Result<SecretKey, KeyFileError> {
    let mut file = File::open(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => KeyFileError::Missing { path: path.to_owned() },
        _ => io_error(path, source),
    })?;
    // The open handle is checked rather than the path, so the file judged is the file read.
    let metadata = file.metadata().map_err(|source| io_error(path, source))?;
    if !metadata.is_file() {
        return Err(KeyFileError::NotAFile { path: path.to_owned() });
    }
    let mode = metadata.permissions().mode() & 0o777;
    if mode & GROUP_OTHER_BITS != 0 {
        return Err(KeyFileError::TooPermissive { path: path.to_owned(), mode });
    }

    // Reserved up front so reading never reallocates and leaves a stray copy of the key behind.
    let mut contents = Zeroizing::new(Vec::with_capacity(MAX_FILE_LEN + 64));
    (&mut file).take(MAX_FILE_LEN as u64 + 1).read_to_end(&mut contents).map_err(|source| io_error(path, source))?;
    let hex_text = contents.trim_ascii();
    if hex_text.len() != HEX_LEN {
        return Err(KeyFileError::WrongLength { path: path.to_owned(), found: hex_text.len() });
    }
    let mut key = SecretKey::zeroed();
    hex::decode_to_slice(hex_text, key.as_mut_bytes()).map_err(|_| KeyFileError::NotHex { path: path.to_owned() })?;
    Ok(key)
}

pub(crate) fn create(path: &Path) -> Result<SecretKey, KeyFileError> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        // Only directories created here get 0700; an existing parent is the operator's choice.
        DirBuilder::new().recursive(true).mode(0o700).create(parent).map_err(|source| io_error(parent, source))?;
    }
    let key = SecretKey::generate().map_err(KeyFileError::Randomness)?;

    let mut file =
        OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|source| {
            match source.kind() {
                io::ErrorKind::AlreadyExists => KeyFileError::AlreadyExists { path: path.to_owned() },
                _ => io_error(path, source),
            }
        })?;
    let text = encode_hex_line(key.as_bytes());
    if let Err(source) = file.write_all(&text[..]).and_then(|()| file.sync_all()) {
        // A half-written file would block the next start with a confusing length error; it is
        // ours (create_new), so removing it is safe. The write error is what matters to report.
        drop(file);
        let _ = fs::remove_file(path);
        return Err(io_error(path, source));
    }
    sync_parent(path)?;
    Ok(key)
}

fn encode_hex_line(key: &[u8; KEY_LEN]) -> Zeroizing<[u8; HEX_LEN + 1]> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = Zeroizing::new([b'\n'; HEX_LEN + 1]);
    for (pair, byte) in text.chunks_exact_mut(2).zip(key.iter()) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
    text
}

/// Without this a crash right after creation could lose the directory entry while the server
/// has already sealed data under the key.
fn sync_parent(path: &Path) -> Result<(), KeyFileError> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(parent).and_then(|dir| dir.sync_all()).map_err(|source| io_error(parent, source))
}

fn io_error(path: &Path, source: io::Error) -> KeyFileError {
    KeyFileError::Io { path: path.to_owned(), source }
}

#[cfg(test)]
mod tests {
    use std::fs::Permissions;

    use super::*;

    fn write_with_mode(path: &Path, contents: &[u8], mode: u32) {
        fs::write(path, contents).unwrap();
        fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    }

    const SAMPLE_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn loads_hex_with_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        write_with_mode(&path, format!("{SAMPLE_HEX}\n").as_bytes(), 0o600);
        let key = load(&path).unwrap();
        assert_eq!(hex::encode(key.as_bytes()), SAMPLE_HEX);
    }

    #[test]
    fn refuses_group_or_world_access_with_chmod_advice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        for mode in [0o644, 0o640, 0o604, 0o660, 0o602, 0o610] {
            write_with_mode(&path, SAMPLE_HEX.as_bytes(), mode);
            let err = load(&path).unwrap_err();
            assert!(matches!(err, KeyFileError::TooPermissive { mode: m, .. } if m == mode), "mode {mode:o}: {err}");
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
        for mode in [0o600, 0o400] {
            write_with_mode(&path, SAMPLE_HEX.as_bytes(), mode);
            assert!(load(&path).is_ok(), "mode {mode:o}");
        }
    }

    #[test]
    fn refuses_wrong_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let too_long = format!("{SAMPLE_HEX}00");
        let huge = "a".repeat(10_000);
        for contents in ["", &SAMPLE_HEX[..62], &too_long, &huge] {
            write_with_mode(&path, contents.as_bytes(), 0o600);
            assert!(matches!(load(&path), Err(KeyFileError::WrongLength { .. })), "{} chars", contents.len());
        }
        // 32 raw bytes instead of hex: the most likely mistake.
        write_with_mode(&path, &[0x41; KEY_LEN], 0o600);
        assert!(matches!(load(&path), Err(KeyFileError::WrongLength { found: 32, .. })));
    }

    #[test]
    fn refuses_non_hex_without_echoing_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let bad = format!("zz{}", &SAMPLE_HEX[2..]);
        write_with_mode(&path, bad.as_bytes(), 0o600);
        let err = load(&path).unwrap_err();
        assert!(matches!(err, KeyFileError::NotHex { .. }));
        assert!(!err.to_string().contains(&bad[2..]));
    }

    #[test]
    fn missing_file_is_its_own_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(load(&dir.path().join("absent")), Err(KeyFileError::Missing { .. })));
    }

    #[test]
    fn refuses_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        DirBuilder::new().mode(0o700).create(&sub).unwrap();
        assert!(matches!(load(&sub), Err(KeyFileError::NotAFile { .. })));
    }

    #[test]
    fn create_writes_0600_in_a_0700_directory_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("nested").join("kek");
        let created = create(&path).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        for made in [dir.path().join("keys"), dir.path().join("keys/nested")] {
            assert_eq!(fs::metadata(&made).unwrap().permissions().mode() & 0o777, 0o700);
        }
        let loaded = load(&path).unwrap();
        assert_eq!(created.as_bytes(), loaded.as_bytes());
    }

    #[test]
    fn create_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        write_with_mode(&path, SAMPLE_HEX.as_bytes(), 0o600);
        assert!(matches!(create(&path), Err(KeyFileError::AlreadyExists { .. })));
        assert_eq!(fs::read_to_string(&path).unwrap(), SAMPLE_HEX);

        let second = dir.path().join("fresh");
        let first = create(&second).unwrap();
        assert!(matches!(create(&second), Err(KeyFileError::AlreadyExists { .. })));
        assert_eq!(load(&second).unwrap().as_bytes(), first.as_bytes());
    }

    #[test]
    fn hex_line_encoding_matches_hex_crate() {
        let key = SecretKey::from_bytes(&[0x00, 0x9f, 0xa0, 0xff].repeat(8).try_into().unwrap());
        let line = encode_hex_line(key.as_bytes());
        assert_eq!(&line[..HEX_LEN], hex::encode(key.as_bytes()).as_bytes());
        assert_eq!(line[HEX_LEN], b'\n');
    }
}
