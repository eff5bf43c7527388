//! Where the publication API reads and writes files: straight into the data repository's
//! working tree (a real run, undone from Git on failure) or into an in-memory overlay on
//! top of it (a dry run, which must write nothing).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::git::change::file_mode;
use crate::git::plumbing::blob_spill::{BlobSpill, SpillWriter};

/// File access by repository-relative path (`v2/entity/person/foo.json`).
pub trait Backend: Send {
    /// The file's bytes, `None` when it does not exist.
    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>>;
    /// Creates or replaces a file (parent directories included).
    fn write(&mut self, path: &str, bytes: &[u8]) -> io::Result<()>;
    /// Removes a file; removing a missing file is not an error.
    fn delete(&mut self, path: &str) -> io::Result<()>;
    /// Whether a file exists.
    fn exists(&self, path: &str) -> io::Result<bool>;
    /// Paths of the `*.json` files below `dir`, recursively, sorted.
    fn list_json(&self, dir: &str) -> io::Result<Vec<String>>;
    /// Waits until every write is on disk; the first write that failed, if any, is the error.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads and writes the working tree. Writes happen behind the caller, on writer threads
/// ([`WriteBehind`]); reads see them at once.
#[derive(Debug)]
pub struct WorkTree {
    writes: WriteBehind,
}

impl WorkTree {
    /// A backend rooted at the data repository's working tree.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self::with_spill(root, None)
    }

    /// A backend whose writer threads also put each file's pack entry in `spill`, for the
    /// batch commits that follow.
    pub fn with_spill(root: impl Into<PathBuf>, spill: Option<Arc<BlobSpill>>) -> Self {
        Self {
            writes: WriteBehind::new(root.into(), spill),
        }
    }
}

fn read_opt(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn list_json_on_disk(root: &Path, dir: &str) -> io::Result<Vec<String>> {
    let base = root.join(dir);
    if !base.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(&base).follow_links(false) {
        let entry = entry.map_err(io::Error::other)?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "json") {
            let rel = entry.path().strip_prefix(root).expect("walk stays below root");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    out.sort();
    Ok(out)
}

impl Backend for WorkTree {
    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        match self.writes.pending(path) {
            Some(bytes) => Ok(Some(bytes.to_vec())),
            None => read_opt(&self.writes.root.join(path)),
        }
    }

    fn write(&mut self, path: &str, bytes: &[u8]) -> io::Result<()> {
        self.writes.write(path, bytes)
    }

    fn delete(&mut self, path: &str) -> io::Result<()> {
        self.writes.flush()?;
        if let Some(spill) = &self.writes.spill {
            spill.forget(path);
        }
        match std::fs::remove_file(self.writes.root.join(path)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn exists(&self, path: &str) -> io::Result<bool> {
        if self.writes.pending(path).is_some() {
            return Ok(true);
        }
        self.writes.root.join(path).try_exists()
    }

    fn list_json(&self, dir: &str) -> io::Result<Vec<String>> {
        self.writes.flush()?;
        list_json_on_disk(&self.writes.root, dir)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writes.flush()
    }
}

/// Files written by background threads while the caller goes on. Creating a file and its
/// directory is mostly kernel time (inode allocation), which overlaps with the caller's
/// JSON work: a 10k-entity migration spent 85% of its time creating files. All files of
/// one directory go to the same thread ([`dir_key`]), so writes of one path land in order;
/// the bytes stay readable in memory until they are on disk.
#[derive(Debug)]
struct WriteBehind {
    root: PathBuf,
    queues: Vec<std::sync::mpsc::SyncSender<Job>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    state: Arc<Shared>,
    /// Writes not yet handed to their thread, one list per thread. They go over `BATCH` at a
    /// time: a hand-over per file cost a thread wake-up per file, a tenth of a run's CPU.
    staged: Mutex<Vec<Vec<Write>>>,
    /// The thread of each directory a file was created in (see [`dir_key`]), dealt round the
    /// threads in the order they first appear.
    threads_by_dir: HashMap<String, usize>,
    spill: Option<Arc<BlobSpill>>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Bytes written but maybe not on disk yet, by path.
    pending: Mutex<HashMap<String, Arc<[u8]>>>,
    /// The first failed write.
    failed: Mutex<Option<io::Error>>,
}

type Write = (String, Arc<[u8]>);

enum Job {
    Write(Vec<Write>),
    /// Answered once every job queued before it is done.
    Barrier(std::sync::mpsc::Sender<()>),
}

/// Writes handed to a writer thread at once.
const BATCH: usize = 64;
/// Batches queued per thread before `write` waits: bounds the bytes held in memory.
const QUEUE: usize = 8;

impl WriteBehind {
    fn new(root: PathBuf, spill: Option<Arc<BlobSpill>>) -> Self {
        // One core stays with the caller, whose JSON work runs beside the writers.
        let n = std::thread::available_parallelism().map_or(1, |n| (n.get() - 1).clamp(1, 4));
        Self::with_threads(root, n, spill)
    }

    fn with_threads(root: PathBuf, n: usize, spill: Option<Arc<BlobSpill>>) -> Self {
        let state = Arc::new(Shared::default());
        let (mut queues, mut threads) = (Vec::new(), Vec::new());
        for i in 0..n {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(QUEUE);
            let (dir, state) = (root.clone(), Arc::clone(&state));
            // Without a spill writer the commit reads this thread's files back instead.
            let spiller = spill.as_ref().and_then(|s| s.writer().ok());
            let spawned = std::thread::Builder::new()
                .name(format!("nes-write-{i}"))
                .spawn(move || writer(&dir, &state, spiller, rx));
            // Without threads, writes fall back to the caller's thread (`write_now`).
            if let Ok(handle) = spawned {
                queues.push(tx);
                threads.push(handle);
            }
        }
        let staged = Mutex::new(vec![Vec::new(); queues.len()]);
        Self {
            root,
            queues,
            threads,
            state,
            staged,
            threads_by_dir: HashMap::new(),
            spill,
        }
    }

    fn pending(&self, path: &str) -> Option<Arc<[u8]>> {
        lock(&self.state.pending).get(path).cloned()
    }

    fn write(&mut self, path: &str, bytes: &[u8]) -> io::Result<()> {
        if let Some(e) = lock(&self.state.failed).take() {
            return Err(e);
        }
        if self.queues.is_empty() {
            if let Some(spill) = &self.spill {
                spill.forget(path);
            }
            return write_now(&self.root.join(path), bytes).map(drop);
        }
        let bytes: Arc<[u8]> = Arc::from(bytes);
        lock(&self.state.pending).insert(path.to_string(), Arc::clone(&bytes));
        let full = {
            let mut staged = lock(&self.staged);
            // With one writer there is nothing to deal out (and no map to look up per file).
            let thread = if self.queues.len() == 1 {
                0
            } else if let Some(&thread) = self.threads_by_dir.get(dir_key(path)) {
                thread
            } else {
                let thread = self.threads_by_dir.len() % self.queues.len();
                self.threads_by_dir.insert(dir_key(path).to_string(), thread);
                thread
            };
            staged[thread].push((path.to_string(), bytes));
            (staged[thread].len() >= BATCH).then(|| (thread, std::mem::take(&mut staged[thread])))
        };
        match full {
            Some((thread, batch)) => self.hand_over(thread, batch),
            None => Ok(()),
        }
    }

    fn hand_over(&self, thread: usize, batch: Vec<Write>) -> io::Result<()> {
        self.queues[thread]
            .send(Job::Write(batch))
            .map_err(|_| io::Error::other("the file writer thread stopped"))
    }

    /// Hands every staged write to its thread.
    fn hand_over_all(&self) -> io::Result<()> {
        let staged: Vec<Vec<Write>> = lock(&self.staged).iter_mut().map(std::mem::take).collect();
        let mut result = Ok(());
        for (thread, batch) in staged.into_iter().enumerate() {
            if !batch.is_empty() {
                result = result.and(self.hand_over(thread, batch));
            }
        }
        result
    }

    fn flush(&self) -> io::Result<()> {
        self.hand_over_all()?;
        let mut answers = Vec::new();
        for queue in &self.queues {
            let (tx, rx) = std::sync::mpsc::channel();
            if queue.send(Job::Barrier(tx)).is_ok() {
                answers.push(rx);
            }
        }
        for rx in answers {
            let _ = rx.recv();
        }
        match lock(&self.state.failed).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for WriteBehind {
    /// Every queued write is finished before the backend is gone: callers restore or commit
    /// the working tree next.
    fn drop(&mut self) {
        let _ = self.hand_over_all();
        self.queues.clear();
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}

fn writer(root: &Path, state: &Shared, mut spill: Option<SpillWriter>, jobs: std::sync::mpsc::Receiver<Job>) {
    let mut dirs = KnownDirs::default();
    for job in jobs {
        match job {
            Job::Write(batch) => {
                for (path, bytes) in &batch {
                    match dirs.write(&root.join(path), bytes) {
                        Ok(file) => {
                            if let Some(spill) = &mut spill {
                                let mode = file.metadata().map_or(git2::FileMode::Blob, |m| file_mode(&m));
                                spill.add(path, bytes, mode);
                            }
                        }
                        Err(e) => {
                            let e = io::Error::new(e.kind(), format!("cannot write {path}: {e}"));
                            lock(&state.failed).get_or_insert(e);
                        }
                    }
                }
                // Before the bytes leave memory, so that the commit finds every entry.
                if let Some(spill) = &mut spill {
                    spill.publish();
                }
                let mut pending = lock(&state.pending);
                for (path, bytes) in &batch {
                    // A newer write of the same path may be queued behind this one.
                    if pending.get(path).is_some_and(|p| Arc::ptr_eq(p, bytes)) {
                        pending.remove(path);
                    }
                }
            }
            Job::Barrier(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Directories a writer thread has made or seen, so that writing the next file into one
/// costs no `mkdir` and `stat` of its parent (two path walks per file otherwise).
#[derive(Default)]
struct KnownDirs(std::collections::HashSet<PathBuf>);

impl KnownDirs {
    /// Writes the file, returning it still open.
    fn write(&mut self, full: &Path, bytes: &[u8]) -> io::Result<std::fs::File> {
        let Some(parent) = full.parent() else {
            return write_now(full, bytes);
        };
        if self.0.contains(parent) {
            match write_file(full, bytes) {
                // Removed behind our back: make it again.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                done => return done,
            }
        }
        let file = write_now(full, bytes)?;
        self.0.insert(parent.to_path_buf());
        Ok(file)
    }
}

fn write_now(full: &Path, bytes: &[u8]) -> io::Result<std::fs::File> {
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent)?;
    }
    write_file(full, bytes)
}

/// `std::fs::write`, returning the file still open.
fn write_file(full: &Path, bytes: &[u8]) -> io::Result<std::fs::File> {
    use std::io::Write as _;
    let mut file = std::fs::File::create(full)?;
    file.write_all(bytes)?;
    Ok(file)
}

/// The directory whose entries writing `path` adds to: its parent, or for a version file
/// the directory its version directory is made in. ext4 changes a directory under an
/// exclusive lock, so two threads creating files in one directory mostly wait for each
/// other (measured: one writer made a 10k-entity migration's files faster than two); each
/// such directory gets one thread, which also keeps every path's writes in order.
fn dir_key(path: &str) -> &str {
    let parent = path.rsplit_once('/').map_or("", |(d, _)| d);
    if path.starts_with("v2/version/") {
        parent.rsplit_once('/').map_or(parent, |(d, _)| d)
    } else {
        parent
    }
}

/// A poisoned lock only means a writer panicked mid-update of a map; its data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps every write in memory over a read-only working tree.
#[derive(Debug, Clone)]
pub struct Overlay {
    root: PathBuf,
    /// `Some(bytes)` written, `None` deleted.
    changes: BTreeMap<String, Option<Vec<u8>>>,
}

impl Overlay {
    /// An empty overlay over the working tree at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            changes: BTreeMap::new(),
        }
    }
}

impl Backend for Overlay {
    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        match self.changes.get(path) {
            Some(change) => Ok(change.clone()),
            None => read_opt(&self.root.join(path)),
        }
    }

    fn write(&mut self, path: &str, bytes: &[u8]) -> io::Result<()> {
        self.changes.insert(path.to_string(), Some(bytes.to_vec()));
        Ok(())
    }

    fn delete(&mut self, path: &str) -> io::Result<()> {
        self.changes.insert(path.to_string(), None);
        Ok(())
    }

    fn exists(&self, path: &str) -> io::Result<bool> {
        match self.changes.get(path) {
            Some(change) => Ok(change.is_some()),
            None => self.root.join(path).try_exists(),
        }
    }

    fn list_json(&self, dir: &str) -> io::Result<Vec<String>> {
        let mut files = list_json_on_disk(&self.root, dir)?;
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        files.retain(|p| !self.changes.contains_key(p));
        files.extend(
            self.changes
                .range(prefix.clone()..)
                .take_while(|(p, _)| p.starts_with(&prefix))
                .filter(|(p, c)| c.is_some() && p.ends_with(".json"))
                .map(|(p, _)| p.clone()),
        );
        files.sort();
        Ok(files)
    }
}

/// Each path's content before a dry run first wrote or deleted it (`None`: it did not
/// exist), shared with whoever diffs the run afterwards.
pub type BeforeImages = Arc<Mutex<HashMap<String, Option<Vec<u8>>>>>;

/// A backend that records [`BeforeImages`] of the paths written through it, so a preview
/// can compare each migration's result with the state it started from.
pub struct Recording {
    inner: Box<dyn Backend>,
    before: BeforeImages,
}

impl Recording {
    /// Wraps `inner`, recording into `before`.
    pub fn new(inner: Box<dyn Backend>, before: BeforeImages) -> Self {
        Self { inner, before }
    }

    fn remember(&mut self, path: &str) -> io::Result<()> {
        let mut before = self.before.lock().expect("before images poisoned");
        if !before.contains_key(path) {
            before.insert(path.to_string(), self.inner.read(path)?);
        }
        Ok(())
    }
}

impl Backend for Recording {
    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        self.inner.read(path)
    }

    fn write(&mut self, path: &str, bytes: &[u8]) -> io::Result<()> {
        self.remember(path)?;
        self.inner.write(path, bytes)
    }

    fn delete(&mut self, path: &str) -> io::Result<()> {
        self.remember(path)?;
        self.inner.delete(path)
    }

    fn exists(&self, path: &str) -> io::Result<bool> {
        self.inner.exists(path)
    }

    fn list_json(&self, dir: &str) -> io::Result<Vec<String>> {
        self.inner.list_json(dir)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_readable_at_once_and_land_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut tree = WorkTree::new(dir.path());
        for i in 0..200 {
            let bytes = format!("{{\"n\": {i}}}");
            tree.write("v2/entity/person/a.json", bytes.as_bytes()).unwrap();
            tree.write(&format!("v2/version/entity/person/p{i}/1.json"), b"{}")
                .unwrap();
            assert_eq!(
                tree.read("v2/entity/person/a.json").unwrap().unwrap(),
                bytes.as_bytes()
            );
        }
        assert!(tree.exists("v2/version/entity/person/p199/1.json").unwrap());
        tree.flush().unwrap();
        let on_disk = std::fs::read(dir.path().join("v2/entity/person/a.json")).unwrap();
        assert_eq!(on_disk, b"{\"n\": 199}");
        assert_eq!(tree.list_json("v2/version").unwrap().len(), 200);
    }

    #[test]
    fn several_writers_keep_each_paths_writes_in_order() {
        // The machines here have two cores, so one writer: test the dealing out directly.
        let dir = tempfile::tempdir().unwrap();
        let mut writes = WriteBehind::with_threads(dir.path().to_path_buf(), 3, None);
        for i in 0..300 {
            let n = format!("{i}");
            writes.write("v2/entity/person/a.json", n.as_bytes()).unwrap();
            writes
                .write(&format!("v2/version/entity/person/p{i}/1.json"), n.as_bytes())
                .unwrap();
            writes
                .write(&format!("v2/entity/d{}/f{i}.json", i % 7), n.as_bytes())
                .unwrap();
        }
        writes.flush().unwrap();
        // Each directory went to one thread, dealt round all three.
        let used: std::collections::HashSet<usize> = writes.threads_by_dir.values().copied().collect();
        assert_eq!(used.len(), 3);
        assert_eq!(writes.threads_by_dir.len(), 9);
        let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
        assert_eq!(read("v2/entity/person/a.json"), "299");
        assert_eq!(read("v2/version/entity/person/p123/1.json"), "123");
        assert_eq!(read("v2/entity/d3/f297.json"), "297");
        assert!(writes.pending("v2/entity/person/a.json").is_none());
    }

    #[test]
    fn a_failed_write_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        // A file where a directory must go.
        std::fs::write(dir.path().join("v2"), b"not a directory").unwrap();
        let mut tree = WorkTree::new(dir.path());
        tree.write("v2/entity/person/a.json", b"{}").unwrap();
        let err = tree.flush().unwrap_err();
        assert!(err.to_string().contains("v2/entity/person/a.json"), "{err}");
        tree.flush().unwrap();
    }

    #[test]
    fn a_directory_removed_behind_the_writers_back_is_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut tree = WorkTree::new(dir.path());
        tree.write("v2/x/a.json", b"{}").unwrap();
        tree.flush().unwrap();
        std::fs::remove_dir_all(dir.path().join("v2/x")).unwrap();
        tree.write("v2/x/b.json", b"{}").unwrap();
        tree.flush().unwrap();
        assert!(dir.path().join("v2/x/b.json").is_file());
    }

    #[test]
    fn dropping_the_backend_finishes_its_writes() {
        let dir = tempfile::tempdir().unwrap();
        let mut tree = WorkTree::new(dir.path());
        for i in 0..500 {
            tree.write(&format!("f/{i}.json"), b"{}").unwrap();
        }
        drop(tree);
        assert_eq!(std::fs::read_dir(dir.path().join("f")).unwrap().count(), 500);
    }
}
