//! The socket file: made private before anyone can connect, a stale one replaced, a live or
//! foreign one never touched, and removed when the server ends (if it is still ours).

use std::fmt;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::net::UnixListener;

/// Why the socket could not be opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum IpcError {
    /// Another process serves a socket at this path.
    InUse(PathBuf),
    /// Something that is not a socket is at this path; it is left alone.
    NotASocket(PathBuf),
    /// The path could not be bound, made private or put in place.
    Io(PathBuf, io::Error),
    /// Called outside a Tokio runtime.
    NoRuntime,
}

impl fmt::Display for IpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpcError::InUse(path) => write!(
                f,
                "{}: another process is serving this socket; stop it or choose another ipc path",
                path.display()
            ),
            IpcError::NotASocket(path) => write!(
                f,
                "{}: exists and is not a socket; it is left alone (remove it or choose another ipc path)",
                path.display()
            ),
            IpcError::Io(path, error) => write!(f, "{}: {error}", path.display()),
            IpcError::NoRuntime => f.write_str("no Tokio runtime: start the IPC server within one"),
        }
    }
}

impl std::error::Error for IpcError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IpcError::Io(_, error) => Some(error),
            _ => None,
        }
    }
}

/// A bound, private socket at its path.
pub(crate) struct Bound {
    pub(crate) listener: UnixListener,
    pub(crate) file: SocketFile,
}

/// The socket file this server made: removed by [`SocketFile::remove`] only while it is still
/// the same file (a successor may have replaced it).
pub(crate) struct SocketFile {
    path: PathBuf,
    identity: (u64, u64),
}

impl SocketFile {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn remove(&self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|meta| (meta.dev(), meta.ino()) == self.identity);
        if ours {
            // Gone already is what was wanted.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Binds `path` with mode 0600. The socket is bound under a private temporary name first,
/// made 0600, then renamed into place, so that nobody can connect before it is private.
pub(crate) fn bind(path: &Path) -> Result<Bound, IpcError> {
    let io = |error| IpcError::Io(path.to_owned(), error);
    clear_stale(path)?;
    let temporary = temporary_name(path);
    let listener = UnixListener::bind(&temporary).map_err(io)?;
    let made = std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&temporary, path))
        .and_then(|()| std::fs::symlink_metadata(path));
    match made {
        Ok(meta) => Ok(Bound {
            listener,
            file: SocketFile {
                path: path.to_owned(),
                identity: (meta.dev(), meta.ino()),
            },
        }),
        Err(error) => {
            let _ = std::fs::remove_file(&temporary);
            Err(io(error))
        }
    }
}

/// A socket left by a process that is gone is removed; a live one, or anything that is not a
/// socket, is an error.
fn clear_stale(path: &Path) -> Result<(), IpcError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(IpcError::Io(path.to_owned(), error)),
    };
    if !meta.file_type().is_socket() {
        return Err(IpcError::NotASocket(path.to_owned()));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(IpcError::InUse(path.to_owned())),
        Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
            std::fs::remove_file(path)
                .or_else(|error| match error.kind() {
                    io::ErrorKind::NotFound => Ok(()),
                    _ => Err(error),
                })
                .map_err(|error| IpcError::Io(path.to_owned(), error))
        }
        Err(error) => Err(IpcError::Io(path.to_owned(), error)),
    }
}

/// A name beside `path` that no other server picks at the same time.
fn temporary_name(path: &Path) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let nonce = (u64::from(nanos) << 20) ^ count;
    let name = path
        .file_name()
        .map_or_else(|| "socket".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{}.{nonce:016x}", std::process::id()))
}
