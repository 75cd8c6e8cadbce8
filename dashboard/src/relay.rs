//! The targets the relay watches: the sockets it was given, and every socket in its
//! directory as they come and go.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::config::MAX_TARGETS;
use crate::lock;
use crate::target::{Target, TargetSettings};

/// How often the directory is looked at again.
const SCAN_EVERY: Duration = Duration::from_secs(1);

/// Every watched target, by its socket's path.
pub struct Relay {
    targets: Arc<Mutex<BTreeMap<String, Arc<Target>>>>,
    scanner: Option<JoinHandle<()>>,
}

impl Relay {
    /// Watches `targets`, and every socket in `dir` (looked at once a second: new sockets
    /// are added, a removed one is dropped once it is no longer connected).
    pub fn start(targets: &[PathBuf], dir: Option<&Path>, settings: TargetSettings) -> Self {
        let mut watched = BTreeMap::new();
        for path in targets.iter().take(MAX_TARGETS) {
            watched.insert(
                path.display().to_string(),
                Arc::new(Target::watch(path, settings)),
            );
        }
        if targets.len() > MAX_TARGETS {
            tracing::warn!(
                given = targets.len(),
                max = MAX_TARGETS,
                "dashboard: too many targets; the rest are not watched"
            );
        }
        let targets = Arc::new(Mutex::new(watched));
        let scanner =
            dir.map(|dir| tokio::spawn(scan_loop(dir.to_owned(), Arc::clone(&targets), settings)));
        Relay { targets, scanner }
    }

    /// The targets now, by id (the socket's path), in order.
    pub fn targets(&self) -> Vec<(String, Arc<Target>)> {
        lock(&self.targets)
            .iter()
            .map(|(id, target)| (id.clone(), Arc::clone(target)))
            .collect()
    }

    /// The target with this id.
    pub fn target(&self, id: &str) -> Option<Arc<Target>> {
        lock(&self.targets).get(id).cloned()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(scanner) = &self.scanner {
            scanner.abort();
        }
    }
}

async fn scan_loop(
    dir: PathBuf,
    targets: Arc<Mutex<BTreeMap<String, Arc<Target>>>>,
    settings: TargetSettings,
) {
    let mut warned = false;
    loop {
        let found = sockets_in(&dir).await;
        {
            let mut targets = lock(&targets);
            for path in &found {
                let id = path.display().to_string();
                if targets.contains_key(&id) {
                    continue;
                }
                if targets.len() >= MAX_TARGETS {
                    if !warned {
                        tracing::warn!(dir = %dir.display(), max = MAX_TARGETS, "dashboard: too many sockets; the rest are not watched");
                        warned = true;
                    }
                    break;
                }
                tracing::info!(target = %id, "dashboard: watching a new socket");
                targets.insert(id, Arc::new(Target::watch(path, settings)));
            }
            // A socket that is gone stays listed while its connection lasts, and after it if
            // its tree ended with a report (shown until the directory gets a new socket at
            // that path); otherwise it goes.
            targets.retain(|id, target| {
                !Path::new(id).starts_with(&dir)
                    || found.iter().any(|path| path.as_os_str() == id.as_str())
                    || target.with_status(|status| status.connected || status.report.is_some())
            });
        }
        tokio::time::sleep(SCAN_EVERY).await;
    }
}

/// The sockets directly in `dir` (none if it cannot be read).
async fn sockets_in(dir: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    let mut found = Vec::new();
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return found;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        if entry.file_type().await.is_ok_and(|kind| kind.is_socket()) {
            found.push(entry.path());
        }
    }
    found.sort();
    found
}
