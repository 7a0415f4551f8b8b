//! The RPC port's handlers ([`crate::proto`]): the leader serves, followers name the leader.
//! Writes go through Raft and are answered once applied; reads are served from the leader's
//! memory while its lease holds (else after confirming leadership with a quorum).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json};
use serde::Deserialize;

use std::collections::BTreeMap;

use super::Master;
use super::namespace::{Command, Inode, Kind, Reply, normal};
use crate::auth::{Caller, Role};
use crate::proto::path::{MAX_PATH, check_path, is_secret_key, mount_policy, redact_uri};
use crate::proto::{
    Answer, FileBlocks, FileInfo, Heartbeat, HeartbeatReply, LIST_PAGE, ListPage, Lookup, MasterInfo, MountEntry,
    Refusal, Registration, Rejoin, Report, UfsMount, WorkerReport, Write, paths,
};

/// How long a write may take to commit before the client is told to retry.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The RPC port's routes.
pub fn routes(master: Arc<Master>) -> axum::Router {
    axum::Router::new()
        .route(paths::INFO, get(info))
        .route(paths::WRITE, post(write))
        .route(paths::WRITES, post(writes))
        .route(paths::MOUNTS, get(mounts))
        .route(paths::STAT, get(stat))
        .route(paths::LIST, get(list))
        .route(paths::REPORT, get(report))
        .route(paths::BACKUP, get(backup))
        .route(paths::REJOIN, post(rejoin))
        .route(paths::BLOCKS, get(blocks))
        .route(paths::LOOKUP, get(lookup))
        .route(paths::WORKERS, get(workers))
        .route(paths::REGISTER, post(register))
        .route(paths::HEARTBEAT, post(heartbeat))
        .route(paths::GRANT_KEY, get(grant_key))
        .route(paths::MOUNT_UFS, get(mount_ufs))
        .route(paths::SYNC, post(sync))
        .route(paths::FREE_BLOCKS, post(free_blocks))
        .with_state(master)
}

async fn info(State(master): State<Arc<Master>>) -> Json<Answer<MasterInfo>> {
    let term = master.raft.metrics().borrow().current_term;
    Json(Answer::Ok(MasterInfo {
        leader: master.leader_id().and_then(|id| master.rpc_address_of(id)),
        masters: master.rpc_addresses(),
        term,
    }))
}

fn not_leader<T>(master: &Master) -> Answer<T> {
    Answer::NotLeader {
        leader: master
            .leader_id()
            .filter(|id| *id != master.cfg.id)
            .and_then(|id| master.rpc_address_of(id)),
    }
}

/// Mount and unmount need the admin role (the CLI in the masters' pods, the mount Job); other
/// writes any role [`crate::auth::authorize`] lets through to this handler.
fn may_write(caller: Caller, write: &Write) -> Result<(), (StatusCode, String)> {
    let what = match write {
        Write::Mount { .. } => "mount",
        Write::Unmount { .. } => "unmount",
        Write::Mkdir { .. } => return Ok(()),
    };
    match caller {
        Caller::Role(role) if role != Role::Admin => {
            Err(crate::auth::answer(&crate::auth::forbidden(role, what, &[Role::Admin])))
        }
        _ => Ok(()),
    }
}

async fn write(
    State(master): State<Arc<Master>>,
    Extension(caller): Extension<Caller>,
    Json(write): Json<Write>,
) -> Result<Json<Answer<()>>, (StatusCode, String)> {
    may_write(caller, &write)?;
    Ok(Json(journal_write(&master, write, false).await))
}

/// Many `fs mkdir` paths in one request, applied in order (`fs mkdir` of a thousand paths is one
/// round trip and, with the writes of other clients, a few journal entries, not a thousand).
/// Only directories: a mount is checked against its UFS first and goes alone.
async fn writes(
    State(master): State<Arc<Master>>,
    Json(batch): Json<Vec<Write>>,
) -> Result<Json<Answer<Vec<Answer<()>>>>, (StatusCode, String)> {
    if batch.len() > crate::proto::MAX_BATCHED_WRITES || batch.iter().any(|w| !matches!(w, Write::Mkdir { .. })) {
        return Err(crate::auth::answer(&Refusal::invalid(format!(
            "invalid: a batch holds at most {} directories to make, and nothing else",
            crate::proto::MAX_BATCHED_WRITES
        ))));
    }
    if master.stepping_down.load(Ordering::SeqCst) || !leads(&master) {
        return Ok(Json(not_leader(&master)));
    }
    master.in_flight.fetch_add(1, Ordering::SeqCst);
    // Queued in order (the queue is FIFO and entries commit in order), then awaited.
    let now = crate::proto::now_ms();
    let mut waiting = Vec::with_capacity(batch.len());
    for write in batch {
        if let Err(refusal) = check_write(&master, &write) {
            waiting.push(Err(Answer::Refused(refusal)));
            continue;
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        match master
            .writes
            .send((Command::from_write(write, now, false), reply))
            .await
        {
            Ok(()) => waiting.push(Ok(answer)),
            Err(_) => waiting.push(Err(Answer::NotLeader { leader: None })),
        }
    }
    let mut answers = Vec::with_capacity(waiting.len());
    for w in waiting {
        answers.push(match w {
            Ok(answer) => answer.await.unwrap_or(Answer::NotLeader { leader: None }),
            Err(answer) => answer,
        });
    }
    master.in_flight.fetch_sub(1, Ordering::SeqCst);
    // Nothing applied because this master stopped leading: the client follows the new leader
    // and sends the batch again, as for one write.
    if answers.iter().all(|a| matches!(a, Answer::NotLeader { .. })) {
        return Ok(Json(not_leader(&master)));
    }
    Ok(Json(Answer::Ok(answers)))
}

/// Checks a client's write against the bounds and the mount policy: nothing out of them is
/// journaled.
fn check_write(master: &Master, write: &Write) -> Result<(), Refusal> {
    check_path(write.path())?;
    if let Write::Mount { ufs, options, .. } = write {
        if options.len() > 256 || options.iter().any(|(k, v)| k.len() + v.len() > MAX_PATH) {
            return Err(Refusal::invalid(
                "invalid: more than 256 options, or one over 4096 bytes",
            ));
        }
        mount_policy(ufs, &master.cfg.root_ufs)?;
    }
    Ok(())
}

/// Checks `write`, and journals it once applied: a client's (`declared` false) or one the leader
/// makes from the declared mounts.
pub(super) async fn journal_write(master: &Arc<Master>, write: Write, declared: bool) -> Answer<()> {
    if master.stepping_down.load(Ordering::SeqCst) {
        return Answer::NotLeader { leader: None };
    }
    if let Err(refusal) = check_write(master, &write) {
        return Answer::Refused(refusal);
    }
    // A mount is checked against its UFS first (wrong keys, no such bucket), by the leader only.
    if let Write::Mount { path, ufs, options, .. } = &write {
        if !leads(master) {
            return not_leader(master);
        }
        let checked = match master.data.ufs(path, ufs, options) {
            Ok(u) => tokio::time::timeout(WRITE_TIMEOUT, u.check())
                .await
                .map_err(|_| format!("no answer within {WRITE_TIMEOUT:?}"))
                .and_then(|r| r.map(drop).map_err(|e| e.to_string())),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = checked {
            master.data.forget_mount(path);
            return Answer::Refused(Refusal::failed(format!(
                "cannot mount {} at {path}: {e}",
                redact_uri(ufs)
            )));
        }
    }
    let unmounted = match &write {
        Write::Unmount { path } => Some(path.clone()),
        _ => None,
    };
    // The leader fixes times, so every master journals the same value.
    let command = Command::from_write(write, crate::proto::now_ms(), declared);
    master.in_flight.fetch_add(1, Ordering::SeqCst);
    let (reply, answer) = tokio::sync::oneshot::channel();
    let answer = match master.writes.send((command, reply)).await {
        Ok(()) => answer.await.unwrap_or(Answer::NotLeader { leader: None }),
        Err(_) => Answer::NotLeader { leader: None },
    };
    master.in_flight.fetch_sub(1, Ordering::SeqCst);
    if let (Some(path), Answer::Ok(())) = (unmounted, &answer) {
        master.data.forget_mount(&path);
    }
    answer
}

/// A client write waiting for its batch, and where its answer goes.
pub type QueuedWrite = (Command, tokio::sync::oneshot::Sender<Answer<()>>);

/// Journals queued client writes: everything queued while the previous entry commits becomes
/// the next entry (one Raft entry, one flush on each master, for many writes).
///
/// One entry at a time, and each waits briefly for the writers just answered: under steady load
/// the clients answered by one round send their next write a fraction of a millisecond later,
/// and starting the next round without them splits the clients into two cohorts that alternate,
/// each waiting a whole extra round (measured: 8 writes per entry and twice the latency with 16
/// clients). So a round starts once as many writes are queued as were answered or waiting when
/// the previous round ended, or after [`LINGER`]; a lone client (one answered, none waiting)
/// never waits.
pub async fn batch_writes(master: Arc<Master>, mut queue: tokio::sync::mpsc::Receiver<QueuedWrite>) {
    let expected = Arc::new(std::sync::atomic::AtomicUsize::new(1));
    let round = Arc::new(tokio::sync::Semaphore::new(1));
    // A write that did not fit the last entry starts the next one.
    let mut carried: Option<QueuedWrite> = None;
    loop {
        let first = match carried.take() {
            Some(write) => write,
            None => match queue.recv().await {
                Some(write) => write,
                None => return,
            },
        };
        // Wait for the previous round first: writes keep queueing meanwhile and join this one.
        let Ok(slot) = round.clone().acquire_owned().await else {
            return;
        };
        let mut bytes = first.0.weight();
        let mut batch = vec![first];
        carried = drain(&mut queue, &mut batch, &mut bytes);
        let want = expected.load(Ordering::Acquire).min(MAX_BATCH);
        let deadline = tokio::time::Instant::now() + LINGER;
        while carried.is_none() && batch.len() < want {
            match tokio::time::timeout_at(deadline, queue.recv()).await {
                Ok(Some(write)) => {
                    carried = add(&mut batch, &mut bytes, write);
                    if carried.is_none() {
                        carried = drain(&mut queue, &mut batch, &mut bytes);
                    }
                }
                _ => break,
            }
        }
        let (master, expected) = (master.clone(), expected.clone());
        tokio::spawn(async move {
            let (mut commands, replies): (Vec<Command>, Vec<_>) = batch.into_iter().unzip();
            let entry = if commands.len() == 1 {
                commands.remove(0)
            } else {
                Command::Batch(commands)
            };
            let answered = replies.len();
            let answers = commit(&master, entry, answered).await;
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
            let waiting = master.writes.max_capacity() - master.writes.capacity();
            expected.store(answered + waiting, Ordering::Release);
            drop(slot);
        });
    }
}

/// The most client writes in one journal entry.
const MAX_BATCH: usize = 1024;

/// Adds `write` to the entry being packed, unless it would pass [`MAX_BATCH`] writes or
/// [`super::raft::MAX_ENTRY`] bytes (a lone write always fits): then it is handed back.
fn add(batch: &mut Vec<QueuedWrite>, bytes: &mut usize, write: QueuedWrite) -> Option<QueuedWrite> {
    let weight = write.0.weight();
    if batch.len() >= MAX_BATCH || (!batch.is_empty() && *bytes + weight > super::raft::MAX_ENTRY) {
        return Some(write);
    }
    *bytes += weight;
    batch.push(write);
    None
}

/// Adds what is queued now, up to the entry's bounds; the write that did not fit, if any.
fn drain(
    queue: &mut tokio::sync::mpsc::Receiver<QueuedWrite>,
    batch: &mut Vec<QueuedWrite>,
    bytes: &mut usize,
) -> Option<QueuedWrite> {
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(write) => {
                if let Some(back) = add(batch, bytes, write) {
                    return Some(back);
                }
            }
            Err(_) => break,
        }
    }
    None
}

/// How long a round waits for the writers of the previous one (tokio's timer resolution).
const LINGER: Duration = Duration::from_millis(1);

/// Journals one entry and gives each of its `count` commands its answer.
async fn commit(master: &Master, entry: Command, count: usize) -> Vec<Answer<()>> {
    let to_answer = |reply: Reply| match reply {
        Reply::Done => Answer::Ok(()),
        Reply::Refused(reason) => Answer::Refused(reason),
        Reply::Batch(_) => Answer::Refused(Refusal::failed("unexpected nested reply")),
    };
    let failed = |answer: Answer<()>| (0..count).map(|_| answer.clone()).collect();
    match tokio::time::timeout(WRITE_TIMEOUT, master.raft.client_write(entry)).await {
        Ok(Ok(response)) => match response.data {
            Reply::Batch(replies) => replies.into_iter().map(to_answer).collect(),
            single => vec![to_answer(single)],
        },
        Ok(Err(e)) => match e.forward_to_leader::<openraft::BasicNode>() {
            Some(forward) => failed(Answer::NotLeader {
                leader: forward.leader_id.and_then(|id| master.rpc_address_of(id)),
            }),
            None => {
                tracing::warn!(error = %e, "write failed");
                failed(Answer::NotLeader { leader: None })
            }
        },
        // No quorum within the limit (a cut-off leader): the clients try the others. The entry
        // may still commit later; commands are checked on apply, so a retry is refused, not doubled.
        Err(_) => {
            tracing::warn!("write not committed within {WRITE_TIMEOUT:?}: no quorum?");
            failed(Answer::NotLeader { leader: None })
        }
    }
}

/// Runs `read` on the applied state if this master may serve reads.
async fn read<T>(master: &Master, read: impl FnOnce(&super::namespace::Namespace) -> Answer<T>) -> Answer<T> {
    if let Err(leader) = master.ensure_leader_for_read().await {
        return Answer::NotLeader { leader };
    }
    let applied = master
        .journal
        .applied
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    read(&applied.namespace)
}

async fn mounts(State(master): State<Arc<Master>>) -> Json<Answer<Vec<MountEntry>>> {
    let root = master.cfg.root_ufs.clone();
    Json(
        read(&master, |ns| {
            let mut out = vec![MountEntry {
                path: "/".to_owned(),
                ufs: root,
                read_only: false,
                shared: false,
                options: Default::default(),
            }];
            out.extend(ns.mounts.iter().map(|(path, m)| {
                MountEntry {
                    path: path.clone(),
                    ufs: m.ufs.clone(),
                    read_only: m.read_only,
                    shared: m.shared,
                    // Secret values stay in the journal; the table shows that they are set.
                    options: m
                        .options
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                if is_secret_key(k) {
                                    "******".to_owned()
                                } else {
                                    v.clone()
                                },
                            )
                        })
                        .collect(),
                }
            }));
            Answer::Ok(out)
        })
        .await,
    )
}

#[derive(Deserialize)]
struct PathQuery {
    path: String,
}

/// Where a path is, from the journaled state: its own entry if journaled (mount points and
/// directories made in GooseFS), and the mount whose UFS holds it.
struct Place {
    journaled: Option<FileInfo>,
    mount: String,
    ufs: String,
    options: BTreeMap<String, String>,
    read_only: bool,
    /// The path inside the mount's UFS (no leading slash; empty for the mount's root).
    rel: String,
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn ufs_uri(ufs: &str, rel: &str) -> String {
    if rel.is_empty() {
        ufs.to_owned()
    } else {
        format!("{}/{rel}", ufs.trim_end_matches('/'))
    }
}

/// A journaled entry (the root, a mount point, a directory made in GooseFS) as GooseFS shows it.
fn journaled_info(ns: &super::namespace::Namespace, root_ufs: &str, path: &str, inode: Option<&Inode>) -> FileInfo {
    let (m, r) = match ns.mount_of(path) {
        Some(m) => (ns.mounts[m].ufs.as_str(), path[m.len()..].trim_start_matches('/')),
        None => (root_ufs, path.trim_start_matches('/')),
    };
    FileInfo {
        id: inode.map_or(0, |i| i.id),
        path: path.to_owned(),
        folder: inode.is_none_or(|i| i.kind == Kind::Directory),
        length: inode.map_or(0, |i| i.length),
        mtime_ms: inode.map_or(0, |i| i.mtime_ms),
        mount_point: path == "/" || ns.mounts.contains_key(path),
        ufs_path: ufs_uri(m, r),
    }
}

fn place(ns: &super::namespace::Namespace, root_ufs: &str, path: &str) -> Place {
    let (mount, ufs, options, read_only) = match ns.mount_of(path) {
        Some(m) => (
            m.to_owned(),
            ns.mounts[m].ufs.clone(),
            ns.mounts[m].options.clone(),
            ns.mounts[m].read_only,
        ),
        None => ("/".to_owned(), root_ufs.to_owned(), Default::default(), false),
    };
    let rel = path[mount.len().min(path.len())..].trim_start_matches('/').to_owned();
    let journaled = if path == "/" {
        Some(journaled_info(ns, root_ufs, "/", None))
    } else {
        ns.inodes.get(path).map(|i| journaled_info(ns, root_ufs, path, Some(i)))
    };
    Place {
        journaled,
        mount,
        ufs,
        options,
        read_only,
        rel,
    }
}

/// A UFS entry as GooseFS shows it.
fn ufs_info(place: &Place, dir_path: &str, dir_rel: &str, e: &crate::ufs::Entry) -> FileInfo {
    let rel = if dir_rel.is_empty() {
        e.name.clone()
    } else {
        format!("{dir_rel}/{}", e.name)
    };
    FileInfo {
        id: if e.dir {
            crate::proto::block::fnv64(&[&place.ufs, &rel]) >> 1
        } else {
            super::data::file_id(&place.ufs, &rel, &e.fingerprint)
        },
        path: join(dir_path, &e.name),
        folder: e.dir,
        length: e.length,
        mtime_ms: e.mtime_ms,
        mount_point: false,
        ufs_path: ufs_uri(&place.ufs, &rel),
    }
}

/// The place of `path`, if this master leads.
async fn locate(master: &Master, path: &str) -> Result<(String, Place), Answer<()>> {
    let path = normal(path).map_err(Answer::Refused)?.to_owned();
    if let Err(leader) = master.ensure_leader_for_read().await {
        return Err(Answer::NotLeader { leader });
    }
    let applied = master
        .journal
        .applied
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let place = place(&applied.namespace, &master.cfg.root_ufs, &path);
    Ok((path, place))
}

/// A failure answer passed on as another type's (never called with `Ok`).
fn relay<A, T>(answer: Answer<A>) -> Answer<T> {
    match answer {
        Answer::Ok(_) => Answer::Refused(Refusal::failed("unexpected answer")),
        Answer::NotLeader { leader } => Answer::NotLeader { leader },
        Answer::Refused(r) => Answer::Refused(r),
    }
}

fn missing<T>(path: &str) -> Answer<T> {
    Answer::Refused(Refusal::not_found(format!("Path \"{path}\" does not exist.")))
}

/// A UFS failure as the client sees it (the worker of a read logs the cause too).
fn ufs_failed<T>(path: &str, e: &crate::ufs::UfsError) -> Answer<T> {
    match e {
        crate::ufs::UfsError::NotFound { .. } => missing(path),
        e => Answer::Refused(Refusal::failed(format!(
            "Failed to load metadata of \"{path}\" from the UFS: {e}"
        ))),
    }
}

/// A path's metadata: journaled, else loaded from its parent's UFS listing.
async fn resolve(master: &Master, path: &str) -> Answer<(FileInfo, Place)> {
    let (path, place) = match locate(master, path).await {
        Ok(p) => p,
        Err(a) => return relay(a),
    };
    if let Some(info) = place.journaled.clone() {
        return Answer::Ok((info, place));
    }
    let ufs = match master.data.ufs(&place.mount, &place.ufs, &place.options) {
        Ok(u) => u,
        Err(e) => return ufs_failed(&path, &e),
    };
    let (parent_rel, name) = place.rel.rsplit_once('/').unwrap_or(("", place.rel.as_str()));
    let listing = match master.data.list(&place.mount, &ufs, parent_rel).await {
        Ok(l) => l,
        Err(e) => return ufs_failed(&path, &e),
    };
    // Listings are kept in name order: a stat in a directory of 100,000 files is a search.
    match listing
        .binary_search_by(|e| e.name.as_str().cmp(name))
        .ok()
        .and_then(|i| listing.get(i))
    {
        Some(entry) => {
            let info = ufs_info(&place, crate::proto::path::parent(&path), parent_rel, entry);
            Answer::Ok((info, place))
        }
        None => missing(&path),
    }
}

async fn stat(State(master): State<Arc<Master>>, Query(q): Query<PathQuery>) -> Json<Answer<FileInfo>> {
    Json(match resolve(&master, &q.path).await {
        Answer::Ok((info, _)) => Answer::Ok(info),
        other => relay(other),
    })
}

/// `?path=&after=&limit=` of [`paths::LIST`].
#[derive(Deserialize)]
struct ListQuery {
    path: String,
    after: Option<String>,
    limit: Option<usize>,
}

async fn list(State(master): State<Arc<Master>>, Query(q): Query<ListQuery>) -> Json<Answer<ListPage>> {
    let (info, place) = match resolve(&master, &q.path).await {
        Answer::Ok(found) => found,
        other => return Json(relay(other)),
    };
    if !info.folder {
        return Json(Answer::Ok(ListPage {
            entries: vec![info],
            next: None,
        }));
    }
    let limit = q.limit.unwrap_or(LIST_PAGE).clamp(1, LIST_PAGE);
    let after = q.after.as_deref();
    let listed = match master.data.ufs(&place.mount, &place.ufs, &place.options) {
        Ok(ufs) => master.data.list(&place.mount, &ufs, &place.rel).await,
        Err(e) => Err(e),
    };
    // The UFS's page: its listing is in name order, so the page starts with a search.
    let ufs_page: Vec<FileInfo> = match &listed {
        Ok(entries) => {
            let from = after.map_or(0, |a| entries.partition_point(|e| e.name.as_str() <= a));
            entries
                .get(from..)
                .unwrap_or_default()
                .iter()
                .take(limit + 1)
                .map(|e| ufs_info(&place, &info.path, &place.rel, e))
                .collect()
        }
        // A directory made in GooseFS, or a root UFS that is not there: nothing more to list.
        Err(crate::ufs::UfsError::NotFound { .. }) if place.journaled.is_some() => Vec::new(),
        Err(e) => return Json(ufs_failed(&info.path, e)),
    };
    // The journaled children's page (taken after the await: the state's lock is not held across it).
    let journaled_page: Vec<FileInfo> = if place.journaled.is_some() {
        let applied = master
            .journal
            .applied
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let ns = &applied.namespace;
        ns.children_after(&info.path, after, limit + 1)
            .into_iter()
            .map(|(p, i)| journaled_info(ns, &master.cfg.root_ufs, p, Some(i)))
            .collect()
    } else {
        Vec::new()
    };
    Json(Answer::Ok(merge_page(journaled_page, ufs_page, limit)))
}

/// The first `limit` entries of two name-ordered pages (each holding up to `limit + 1`), the
/// journaled entry winning over the UFS's of the same name (mount points, directories made here).
fn merge_page(journaled: Vec<FileInfo>, ufs: Vec<FileInfo>, limit: usize) -> ListPage {
    let mut out: Vec<FileInfo> = Vec::with_capacity((journaled.len() + ufs.len()).min(limit + 1));
    let (mut j, mut u) = (journaled.into_iter().peekable(), ufs.into_iter().peekable());
    while out.len() <= limit {
        let next = match (j.peek(), u.peek()) {
            (Some(a), Some(b)) if a.path == b.path => {
                u.next();
                j.next()
            }
            (Some(a), Some(b)) if a.path < b.path => j.next(),
            (Some(_), None) => j.next(),
            (_, Some(_)) => u.next(),
            (None, None) => None,
        };
        match next {
            Some(e) => out.push(e),
            None => break,
        }
    }
    let next = (out.len() > limit).then(|| {
        out.truncate(limit);
        out.last()
            .map(|e| e.path.rsplit('/').next().unwrap_or_default().to_owned())
    });
    ListPage {
        entries: out,
        next: next.flatten(),
    }
}

async fn blocks(State(master): State<Arc<Master>>, Query(q): Query<PathQuery>) -> Json<Answer<FileBlocks>> {
    let (info, place) = match resolve(&master, &q.path).await {
        Answer::Ok(found) => found,
        other => return Json(relay(other)),
    };
    if info.folder {
        return Json(Answer::Refused(Refusal::invalid(format!(
            "Path \"{}\" is a directory.",
            info.path
        ))));
    }
    Json(file_blocks(&master, info, place))
}

/// A file's blocks, located.
fn file_blocks(master: &Master, info: FileInfo, place: Place) -> Answer<FileBlocks> {
    let mut blocks = match super::data::blocks_of(info.id, info.length, master.cfg.block_size) {
        Ok(b) => b,
        Err(e) => return Answer::Refused(Refusal::invalid(e)),
    };
    master.data.locate(&mut blocks);
    // Granted while this master leads (workers hold the leader's key): a worker fetches such a
    // block without asking the leader again.
    let mut granted_until = 0;
    if let Some(grants) = master.grants.as_ref().filter(|_| leads(master)) {
        granted_until = crate::grant::now() + crate::grant::TTL.as_secs();
        for b in &mut blocks {
            b.grant = grants.sign(&crate::grant::Binding {
                id: b.id,
                file: &info.path,
                mount: &place.mount,
                ufs: &place.ufs,
                path: &place.rel,
                offset: b.offset,
                length: b.length,
                until: granted_until,
            });
        }
    }
    Answer::Ok(FileBlocks {
        block_size: master.cfg.block_size,
        workers: master.data.worker_addresses(),
        mount: place.mount,
        ufs: place.ufs,
        ufs_path: place.rel,
        blocks,
        info,
        granted_until,
    })
}

/// A path's metadata and, for a file, its blocks: what FUSE's lookup keeps, so that the open
/// that follows asks nobody.
async fn lookup(State(master): State<Arc<Master>>, Query(q): Query<PathQuery>) -> Json<Answer<Lookup>> {
    let (info, place) = match resolve(&master, &q.path).await {
        Answer::Ok(found) => found,
        other => return Json(relay(other)),
    };
    if info.folder {
        return Json(Answer::Ok(Lookup::Directory(info)));
    }
    Json(match file_blocks(&master, info, place) {
        Answer::Ok(blocks) => Answer::Ok(Lookup::File(blocks)),
        other => relay(other),
    })
}

async fn mount_ufs(State(master): State<Arc<Master>>, Query(q): Query<PathQuery>) -> Json<Answer<UfsMount>> {
    Json(match locate(&master, &q.path).await {
        Ok((_, place)) => Answer::Ok(UfsMount {
            ufs: place.ufs,
            options: place.options,
            rel: place.rel,
            read_only: place.read_only,
        }),
        Err(a) => relay(a),
    })
}

/// `?path=[&recursive=true]` of [`paths::SYNC`].
#[derive(Deserialize)]
struct SyncQuery {
    path: String,
    #[serde(default)]
    recursive: bool,
}

async fn sync(State(master): State<Arc<Master>>, Query(q): Query<SyncQuery>) -> Json<Answer<()>> {
    Json(match locate(&master, &q.path).await {
        Ok((_, place)) => {
            master.data.forget_listing(&place.mount, &place.rel, q.recursive);
            Answer::Ok(())
        }
        Err(a) => a,
    })
}

/// Only the leader keeps worker state.
fn leads(master: &Master) -> bool {
    master.raft.metrics().borrow().state == openraft::ServerState::Leader
}

/// The most block ids one `fs free` request may name (a JSON body of about 2 MiB).
const MAX_FREE: usize = 100_000;

/// `fs free`: the leader has every live worker drop the blocks (only masters may free on a
/// worker, and only the leader asks).
async fn free_blocks(State(master): State<Arc<Master>>, Json(ids): Json<Vec<u64>>) -> Json<Answer<usize>> {
    if !leads(&master) {
        return Json(not_leader(&master));
    }
    if ids.len() > MAX_FREE {
        return Json(Answer::Refused(Refusal::invalid(format!(
            "invalid: {} block ids in one request (at most {MAX_FREE})",
            ids.len()
        ))));
    }
    // Every live worker: the leader hears of blocks cached in the last heartbeat interval only
    // at the next heartbeat.
    let mut freed = 0;
    for worker in master.data.reports() {
        let address = worker.address.rpc();
        let answer = master
            .http
            .call::<_, Answer<usize>>(&address, paths::FREE, Some(&ids), Duration::from_secs(30))
            .await;
        match answer {
            Ok(Answer::Ok(n)) => freed += n,
            Ok(Answer::Refused(r)) => return Json(Answer::Refused(r)),
            Ok(Answer::NotLeader { .. }) => {}
            Err(e) => {
                return Json(Answer::Refused(Refusal::failed(format!(
                    "cannot free on {address}: {e}"
                ))));
            }
        }
    }
    Json(Answer::Ok(freed))
}

async fn register(State(master): State<Arc<Master>>, Json(r): Json<Registration>) -> Json<Answer<u64>> {
    Json(if leads(&master) {
        Answer::Ok(master.data.register(&r))
    } else {
        not_leader(&master)
    })
}

/// The key of this leader's block grants, for a worker (the worker role only: see
/// [`crate::auth`]); refused by a follower, and with authentication off (no grants then).
async fn grant_key(State(master): State<Arc<Master>>) -> Json<Answer<String>> {
    Json(match (&master.grants, leads(&master)) {
        (Some(grants), true) => Answer::Ok(grants.to_hex()),
        (None, _) => Answer::Refused(Refusal::invalid("no block grants: authentication is off")),
        (Some(_), false) => not_leader(&master),
    })
}

async fn heartbeat(State(master): State<Arc<Master>>, Json(h): Json<Heartbeat>) -> Json<Answer<HeartbeatReply>> {
    Json(if leads(&master) {
        Answer::Ok(master.data.heartbeat(&h))
    } else {
        not_leader(&master)
    })
}

async fn workers(State(master): State<Arc<Master>>) -> Json<Answer<Vec<WorkerReport>>> {
    Json(if let Err(leader) = master.ensure_leader_for_read().await {
        Answer::NotLeader { leader }
    } else {
        Answer::Ok(master.data.reports())
    })
}

/// The leader's metadata backup: its namespace copied under the lock, encoded outside it.
async fn backup(State(master): State<Arc<Master>>) -> Json<Answer<crate::proto::BackupReply>> {
    let copied = read(&master, |ns| Answer::Ok(ns.clone())).await;
    let namespace = match copied {
        Answer::Ok(ns) => ns,
        Answer::NotLeader { leader } => return Json(Answer::NotLeader { leader }),
        Answer::Refused(r) => return Json(Answer::Refused(r)),
    };
    let host = master.cfg.hostname.clone();
    let encoded = tokio::task::spawn_blocking(move || {
        let backup = super::backup::Backup::of(&namespace, &host, crate::proto::now_ms());
        backup.encode().map(|bytes| (backup, bytes))
    })
    .await;
    Json(match encoded {
        Ok(Ok((backup, bytes))) => {
            use base64::Engine as _;
            Answer::Ok(crate::proto::BackupReply {
                host: backup.host.clone(),
                created_ms: backup.created_ms,
                entries: backup.entries() as u64,
                data: base64::engine::general_purpose::STANDARD.encode(bytes),
            })
        }
        Ok(Err(e)) => Answer::Refused(Refusal::failed(format!("cannot encode the backup: {e}"))),
        Err(e) => Answer::Refused(Refusal::failed(format!("cannot encode the backup: {e}"))),
    })
}

async fn report(State(master): State<Arc<Master>>) -> Json<Answer<Report>> {
    let term = master.raft.metrics().borrow().current_term;
    let leader = master.rpc_address_of(master.cfg.id).unwrap_or_default();
    let embedded = master.cfg.journal_type == crate::config::JournalType::Embedded;
    let journal_addresses = if embedded {
        master.cfg.members.iter().map(ToString::to_string).collect()
    } else {
        Vec::new()
    };
    let started_ms = master
        .started
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let (web_port, rpc_port) = (master.cfg.web_port, master.cfg.rpc_port);
    Json(
        read(&master, |ns| {
            Answer::Ok(Report {
                leader,
                web_port,
                rpc_port,
                started_ms,
                journal_addresses,
                term,
                mounts: ns.mounts.len() + 1,
            })
        })
        .await,
    )
}

async fn rejoin(State(master): State<Arc<Master>>, Json(request): Json<Rejoin>) -> Json<Answer<()>> {
    if master.raft.metrics().borrow().state != openraft::ServerState::Leader {
        return Json(not_leader(&master));
    }
    Json(super::membership::handle_rejoin(&master, &request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_merges_journaled_and_ufs_entries_in_name_order_the_journaled_winning() {
        let entry = |name: &str, id: u64| FileInfo {
            id,
            path: format!("/d/{name}"),
            folder: false,
            length: 0,
            mtime_ms: 0,
            mount_point: false,
            ufs_path: String::new(),
        };
        let names = |page: &ListPage| page.entries.iter().map(|e| (e.path.clone(), e.id)).collect::<Vec<_>>();
        // Journaled "b" shadows the UFS's "b"; each side brings up to limit + 1.
        let page = merge_page(
            vec![entry("b", 1), entry("d", 1)],
            vec![entry("a", 2), entry("b", 2), entry("c", 2)],
            3,
        );
        assert_eq!(
            names(&page),
            [("/d/a".into(), 2), ("/d/b".into(), 1), ("/d/c".into(), 2)]
        );
        assert_eq!(
            page.next.as_deref(),
            Some("c"),
            "more follow: the next page starts after c"
        );
        let last = merge_page(vec![entry("d", 1)], Vec::new(), 3);
        assert_eq!((last.entries.len(), last.next), (1, None), "the end");
        let exact = merge_page(vec![entry("a", 1)], vec![entry("b", 2)], 2);
        assert_eq!(exact.next, None, "exactly a page: nothing follows");
    }

    fn queued(path: String) -> QueuedWrite {
        let (reply, _) = tokio::sync::oneshot::channel();
        let command = Command::Mkdir {
            path,
            recursive: false,
            exist_ok: false,
            mtime_ms: 0,
        };
        (command, reply)
    }

    #[test]
    fn an_entry_is_bounded_by_writes_and_by_bytes_and_a_lone_write_always_fits() {
        let (mut batch, mut bytes) = (Vec::new(), 0);
        for i in 0..MAX_BATCH {
            assert!(add(&mut batch, &mut bytes, queued(format!("/d{i}"))).is_none());
        }
        assert!(add(&mut batch, &mut bytes, queued("/one-more".into())).is_some());
        let (mut batch, mut bytes) = (Vec::new(), 0);
        let long = "x".repeat(4000);
        let mut taken = 0;
        while add(&mut batch, &mut bytes, queued(format!("/{long}{taken}"))).is_none() {
            taken += 1;
        }
        assert!(
            bytes <= super::super::raft::MAX_ENTRY && taken > 200 && taken < MAX_BATCH,
            "{taken} {bytes}"
        );
        let (mut batch, mut bytes) = (Vec::new(), 0);
        let huge = "y".repeat(2 * super::super::raft::MAX_ENTRY);
        assert!(
            add(&mut batch, &mut bytes, queued(huge)).is_none(),
            "a lone write always fits"
        );
    }
}
